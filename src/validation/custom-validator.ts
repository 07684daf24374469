import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock, type Clock } from '../core/clock.js';
import type { CanonicalRequest, CanonicalResponse } from '../core/types.js';
import { clip, errorMessage, type Validator, type Verdict } from './validator.js';

/** What a custom validator may return: a verdict, or a plain pass/fail. */
export type CustomValidatorResult = Verdict | boolean;

/**
 * The default export of a custom validator module. `signal` aborts when the time box runs out, so
 * a validator calling out (a classifier, a database) can stop.
 */
export type CustomValidatorFn = (
  response: CanonicalResponse,
  request: CanonicalRequest,
  context: { signal: AbortSignal },
) => CustomValidatorResult | Promise<CustomValidatorResult>;

/** Loads a custom validator module's default export. */
export type CustomValidatorLoader = (module: string) => Promise<CustomValidatorFn>;

// Validators are created per request; this keeps that from resolving the module every time.
const imported = new Map<string, Promise<CustomValidatorFn>>();

async function importDefault(path: string): Promise<CustomValidatorFn> {
  const loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
  if (typeof loaded.default !== 'function') throw new Error('the module has no default export function');
  return loaded.default as CustomValidatorFn;
}

/**
 * Imports a custom validator from a path resolved against the process working directory.
 * SEC-2: the path comes only from the config file (a trusted, operator-written source), never from
 * a request; it runs in process with the gateway's privileges, like any other code of the operator.
 */
export const importCustomValidator: CustomValidatorLoader = (module) => {
  const path = isAbsolute(module) ? module : resolve(process.cwd(), module);
  let loading = imported.get(path);
  if (!loading) {
    loading = importDefault(path);
    imported.set(path, loading);
    // A failed load is retried on the next request (the file may be deployed later).
    loading.catch(() => imported.delete(path));
  }
  return loading;
};

/** Options of {@link createCustomValidator}. */
export interface CustomValidatorOptions {
  module: string;
  timeoutMs: number;
  load?: CustomValidatorLoader;
  clock?: Clock;
}

const TIMED_OUT: unique symbol = Symbol('timed out');

function toVerdict(result: unknown, prefix: string): Verdict {
  if (result === true) return { ok: true, reasons: [] };
  if (result === false) return { ok: false, reasons: [`${prefix}: rejected the answer`] };
  if (typeof result === 'object' && result !== null && typeof (result as Verdict).ok === 'boolean') {
    const verdict = result as Verdict;
    if (verdict.ok) return { ok: true, reasons: [] };
    const reasons = Array.isArray(verdict.reasons) ? verdict.reasons.map((reason) => `${prefix}: ${clip(String(reason))}`) : [];
    return { ok: false, reasons: reasons.length > 0 ? reasons : [`${prefix}: rejected the answer`] };
  }
  return { ok: false, reasons: [`${prefix}: returned neither a boolean nor a verdict`] };
}

/**
 * `custom`: runs an operator-written module's default export, time-boxed by `timeoutMs` on the
 * injected clock (loading included, since a module that never loads is as stuck as one that never
 * answers). A timeout, a throw or a failed load is a failed verdict with the reason, never a crash.
 * The module is loaded on first use and kept.
 */
export function createCustomValidator(options: CustomValidatorOptions): Validator {
  const load = options.load ?? importCustomValidator;
  const clock = options.clock ?? systemClock;
  const prefix = `custom ${clip(options.module, 80)}`;
  let loading: Promise<CustomValidatorFn> | undefined;

  async function run(response: CanonicalResponse, request: CanonicalRequest, signal: AbortSignal): Promise<Verdict> {
    let fn: CustomValidatorFn;
    try {
      fn = await (loading ??= load(options.module));
    } catch (error) {
      loading = undefined;
      return { ok: false, reasons: [`${prefix}: cannot load: ${errorMessage(error)}`] };
    }
    try {
      return toVerdict(await fn(response, request, { signal }), prefix);
    } catch (error) {
      return { ok: false, reasons: [`${prefix}: threw: ${errorMessage(error)}`] };
    }
  }

  return {
    name: 'custom',
    async validate(response, request): Promise<Verdict> {
      const controller = new AbortController();
      // The sleep rejects only when aborted below, after the race is decided.
      const timedOut = (): typeof TIMED_OUT => TIMED_OUT;
      const timeout = clock.sleep(options.timeoutMs, controller.signal).then(timedOut, timedOut);
      try {
        const winner = await Promise.race([run(response, request, controller.signal), timeout]);
        return winner === TIMED_OUT ? { ok: false, reasons: [`${prefix}: timed out after ${options.timeoutMs} ms`] } : winner;
      } finally {
        controller.abort();
      }
    },
  };
}
