import type { CanonicalRequest, CanonicalResponse } from '../core/types.js';
import { errorMessage, PASSED, type Validator, type Verdict } from './validator.js';

// One settled promise shared by every passing synchronous run: the hot path allocates nothing.
const PASSED_PROMISE: Promise<Verdict> = Promise.resolve(PASSED);

function crashed(validator: Validator, error: unknown): Verdict {
  return { ok: false, reasons: [`${validator.name}: validator failed: ${errorMessage(error)}`] };
}

function isPromise(value: Verdict | Promise<Verdict>): value is Promise<Verdict> {
  return typeof (value as Promise<Verdict>).then === 'function';
}

function merge(verdicts: readonly Verdict[]): Verdict {
  const reasons: string[] = [];
  for (const verdict of verdicts) if (!verdict.ok) reasons.push(...verdict.reasons);
  return reasons.length === 0 ? PASSED : { ok: false, reasons };
}

/**
 * Runs every validator (not stopping at the first failure, so the ledger sees all reasons) and
 * concatenates their reasons. A validator that throws or rejects fails with the error as its
 * reason. When all are synchronous and pass, the same settled promise of the frozen `PASSED`
 * verdict is returned, so callers must not mutate the verdict.
 */
export function runValidators(validators: readonly Validator[], response: CanonicalResponse, request: CanonicalRequest): Promise<Verdict> {
  let verdicts: Array<Verdict | Promise<Verdict>> | undefined;
  let pending = false;
  for (const validator of validators) {
    let result: Verdict | Promise<Verdict>;
    try {
      result = validator.validate(response, request);
    } catch (error) {
      result = crashed(validator, error);
    }
    if (isPromise(result)) {
      pending = true;
      result = result.then(undefined, (error: unknown) => crashed(validator, error));
    } else if (result.ok) {
      continue;
    }
    (verdicts ??= []).push(result);
  }
  if (!verdicts) return PASSED_PROMISE;
  if (!pending) return Promise.resolve(merge(verdicts as Verdict[]));
  return Promise.all(verdicts).then(merge);
}
