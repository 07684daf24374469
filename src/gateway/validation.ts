import type { Verdict } from '../core/pipeline.js';
import type { CanonicalRequest, CanonicalResponse } from '../core/types.js';
import { ConfigError, type ConfigIssue } from '../config/config-error.js';
import type { Config, ValidatorConfig } from '../config/schema.js';
import { checkValidatorConfig, createDegenerationGuard, createValidators, runValidators, type Validator } from '../validation/validators.js';
import type { AnswerValidation, ValidationFactory } from './gateway.js';
import type { ResolvedRoute } from './route-resolver.js';

/**
 * Validation per request: the route's validators plus those the request implies (JSON mode,
 * schema, tool arguments). Undefined when nothing would be checked, so the pipeline skips the
 * step entirely.
 */
export function createValidation(): ValidationFactory {
  // Most requests imply no validator of their own (no JSON mode, no tools): their list depends
  // only on the route, so it is built once per route instead of once per request.
  const plain = new WeakMap<ResolvedRoute, Validator[]>();
  const build = (route: ResolvedRoute, request: CanonicalRequest): Validator[] => {
    const validators = createValidators([...route.validators], { autoValidators: route.autoValidators, request });
    if (route.degeneration) validators.push(degenerationValidator(route.degeneration));
    return validators;
  };
  return (route: ResolvedRoute, request: CanonicalRequest) => {
    let validators: Validator[] | undefined;
    if (request.responseFormat === undefined && !request.tools?.length) {
      validators = plain.get(route);
      if (!validators) plain.set(route, (validators = build(route, request)));
    } else {
      validators = build(route, request);
    }
    if (validators.length === 0) return undefined;
    const list = validators;
    const validate: AnswerValidation = (response: CanonicalResponse): Promise<Verdict> => runValidators(list, response, request);
    validate.contentOnly = list.every((validator) => validator.name === 'non_empty');
    return validate;
  };
}

/** The degeneration guard over a whole answer, for non-streamed requests. */
function degenerationValidator(options: NonNullable<ResolvedRoute['degeneration']>): Validator {
  return {
    name: 'degeneration',
    validate(response) {
      const guard = createDegenerationGuard(options);
      let verdict: Verdict | undefined;
      for (const part of response.content) if (part.type === 'text') verdict = guard.push(part.text) ?? verdict;
      return verdict ?? { ok: true, reasons: [] };
    },
  };
}

/**
 * Checks every configured validator once at start (bad regexes, schemas that do not compile), so a
 * mistake is a config error naming its path instead of a failure on every request.
 */
export function checkConfiguredValidators(config: Config): void {
  const issues: ConfigIssue[] = [];
  const check = (validators: readonly ValidatorConfig[] | undefined, path: Array<string | number>) => {
    validators?.forEach((validator, index) => {
      const problem = checkValidatorConfig(validator);
      if (problem) issues.push({ path: [...path, index], message: problem, hint: 'fix or remove this validator' });
    });
  };
  check(config.routes.defaults.validators, ['routes', 'defaults', 'validators']);
  for (const [name, model] of Object.entries(config.models)) if (typeof model === 'object') check(model.validators, ['models', name, 'validators']);
  if (issues.length > 0) throw new ConfigError(issues);
}
