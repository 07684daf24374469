import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { CanonicalRequest, JsonObject } from '../core/types.js';
import type { ValidatorConfig } from '../config/schema.js';
import { createCustomValidator, type CustomValidatorLoader } from './custom-validator.js';
import { sharedJsonSchemaCache } from './json-schema-cache.js';
import { createJsonSchemaValidator, createJsonValidator, createToolArgsValidator } from './json-validators.js';
import {
  compileValidatorPattern,
  createDenyRegexValidator,
  createFinishReasonValidator,
  createMaxCharsValidator,
  createNonEmptyValidator,
  createRefusalValidator,
  createRegexValidator,
  FINISH_REASONS,
} from './text-validators.js';
import { errorMessage, type Validator } from './validator.js';

/** Options of {@link createValidators}. */
export interface CreateValidatorsOptions {
  /** Add the validators the request implies (`non_empty`, `json`, `json_schema`, `tool_args`). */
  autoValidators: boolean;
  request: CanonicalRequest;
  /** Loads `custom` modules; defaults to a dynamic import of a path relative to the working directory. */
  loadCustom?: CustomValidatorLoader;
  /** The clock `custom` time boxes run on; defaults to the system clock. */
  clock?: Clock;
}

function createConfigured(config: ValidatorConfig, options: CreateValidatorsOptions): Validator {
  switch (config.type) {
    case 'non_empty':
      return createNonEmptyValidator();
    case 'json':
      return createJsonValidator();
    case 'json_schema':
      return createJsonSchemaValidator(config.schema ? { schema: config.schema as JsonObject } : {});
    case 'finish_reason':
      return createFinishReasonValidator(config.allow);
    case 'refusal':
      return createRefusalValidator();
    case 'regex':
      return createRegexValidator(config.pattern, config.flags);
    case 'deny_regex':
      return createDenyRegexValidator(config.pattern, config.flags);
    case 'max_chars':
      return createMaxCharsValidator(config.max);
    case 'tool_args':
      return createToolArgsValidator();
    case 'custom':
      return createCustomValidator({ module: config.module, timeoutMs: config.timeoutMs, load: options.loadCustom, clock: options.clock });
  }
}

/**
 * The validators for one request (SPEC UP-1, UP-16): the configured ones, then, with
 * `autoValidators`, those the request implies and the config does not already cover: `non_empty`
 * always; `json` (an object) for `response_format: json_object`; `json_schema` with the request's
 * schema; `tool_args` when tools are offered. `finish_reason` and `refusal` are never implied: a
 * client may ask for a short answer, and a refusal may be the right one. Throws `internal_error`
 * for a pattern that does not compile; {@link checkValidatorConfig} catches that at config load.
 */
export function createValidators(configs: readonly ValidatorConfig[], options: CreateValidatorsOptions): Validator[] {
  const validators: Validator[] = [];
  for (const config of configs) {
    try {
      validators.push(createConfigured(config, options));
    } catch (error) {
      throw new BreakwaterError('internal_error', `validator ${config.type} is misconfigured: ${errorMessage(error)}`, { cause: error });
    }
  }
  if (!options.autoValidators) return validators;
  const configured = (type: ValidatorConfig['type']) => configs.some((config) => config.type === type);
  const request = options.request;
  if (!configured('non_empty')) validators.push(createNonEmptyValidator());
  const format = request.responseFormat?.type;
  if (format === 'json_object' && !configured('json')) validators.push(createJsonValidator({ requireObject: true }));
  // A configured json_schema without a schema already checks against the request's schema.
  const coversRequestSchema = configs.some((config) => config.type === 'json_schema' && config.schema === undefined);
  if (format === 'json_schema' && !coversRequestSchema) validators.push(createJsonSchemaValidator());
  if ((request.tools?.length ?? 0) > 0 && !configured('tool_args')) validators.push(createToolArgsValidator());
  return validators;
}

/** The distinct validator names, in order, for the `x-breakwater-validators` header and the ledger. */
export function validatorNames(validators: readonly Validator[]): string[] {
  return [...new Set(validators.map((validator) => validator.name))];
}

/**
 * Why a configured validator cannot work, or undefined when it can; for config loading, so a bad
 * pattern or schema is a config error and not a failure on every request.
 */
export function checkValidatorConfig(config: ValidatorConfig): string | undefined {
  switch (config.type) {
    case 'regex':
    case 'deny_regex':
      try {
        compileValidatorPattern(config.pattern, config.flags);
        return undefined;
      } catch (error) {
        return `invalid regular expression: ${errorMessage(error)}`;
      }
    case 'json_schema': {
      if (config.schema === undefined) return undefined;
      const compiled = sharedJsonSchemaCache.get(config.schema as JsonObject);
      return compiled.ok ? undefined : `the JSON schema does not compile: ${compiled.error}`;
    }
    case 'finish_reason': {
      const unknown = config.allow.filter((reason) => !(FINISH_REASONS as readonly string[]).includes(reason));
      return unknown.length === 0 ? undefined : `unknown finish reason ${unknown.join(', ')}; known: ${FINISH_REASONS.join(', ')}`;
    }
    default:
      return undefined;
  }
}
