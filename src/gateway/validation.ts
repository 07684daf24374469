import type { Verdict } from '../core/pipeline.js';
import type { CanonicalRequest, CanonicalResponse } from '../core/types.js';
import { createValidators, runValidators } from '../validation/validators.js';
import type { ValidationFactory } from './gateway.js';
import type { ResolvedRoute } from './route-resolver.js';

/**
 * Validation per request: the route's validators plus those the request implies (JSON mode,
 * schema, tool arguments). Undefined when nothing would be checked, so the pipeline skips the
 * step entirely.
 */
export function createValidation(): ValidationFactory {
  return (route: ResolvedRoute, request: CanonicalRequest) => {
    const validators = createValidators([...route.validators], { autoValidators: route.autoValidators, request });
    if (validators.length === 0) return undefined;
    return (response: CanonicalResponse): Promise<Verdict> => runValidators(validators, response, request);
  };
}
