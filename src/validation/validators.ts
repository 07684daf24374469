// The public face of semantic validation (SPEC UP-1, UP-16, SA-7); the gateway imports from here.
export type { Validator, Verdict } from './validator.js';
export { PASSED, responseText } from './validator.js';
export { checkValidatorConfig, createValidators, validatorNames, type CreateValidatorsOptions } from './create-validators.js';
export { runValidators } from './run-validators.js';
export {
  createCustomValidator,
  importCustomValidator,
  type CustomValidatorFn,
  type CustomValidatorLoader,
  type CustomValidatorResult,
} from './custom-validator.js';
export { createDegenerationGuard, type DegenerationGuard, type DegenerationGuardOptions } from './degeneration-guard.js';
export { createJsonSchemaCache, sharedJsonSchemaCache, type JsonSchemaCache } from './json-schema-cache.js';
export { looksLikeRefusal, REFUSAL_OPENINGS } from './text-validators.js';
