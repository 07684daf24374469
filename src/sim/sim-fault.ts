import { BreakwaterError } from '../core/errors.js';

/** What a fault does (SPEC SIM-10). */
export type SimFaultKind =
  | 'http'
  | 'reset'
  | 'hang'
  | 'slow-first-token'
  | 'cut'
  | 'stall'
  | 'malformed'
  | 'no-terminator'
  | 'context-length'
  | 'content-policy'
  | 'empty'
  | 'truncated'
  | 'invalid-json'
  | 'refusal'
  | 'bad-tool-args';

/** One parsed fault. Only the fields of its kind are set. */
export interface SimFault {
  kind: SimFaultKind;
  /** The fault as written (trimmed): with the model, the key of its `times` counter and dice. */
  spec: string;
  /** `http`: the status to answer with. */
  status?: number;
  /** `http`: the Retry-After to send, in ms; `retryAfterUnit` says which header carries it. */
  retryAfterMs?: number;
  retryAfterUnit?: 's' | 'ms';
  /** `slow-first-token`: absolute delay (not time-scaled) before the first content chunk. */
  ms?: number;
  /** `cut`, `stall`: content chunks delivered before the connection dies or goes silent. */
  after?: number;
  /** `malformed`: the 1-based content chunk replaced by broken JSON. */
  at?: number;
  /** `bad-tool-args`: `json` (unparseable, default) or `schema` (parses, violates the schema). */
  mode?: 'json' | 'schema';
  /** Fire with this probability per matching request (seeded dice). */
  p?: number;
  /** Fire on the first N matching requests only, then stay healthy. */
  times?: number;
}

const NAMED_KINDS: Readonly<Record<string, SimFaultKind>> = Object.freeze({
  reset: 'reset',
  hang: 'hang',
  'slow-first-token': 'slow-first-token',
  cut: 'cut',
  stall: 'stall',
  malformed: 'malformed',
  'no-terminator': 'no-terminator',
  'context-length': 'context-length',
  'content-policy': 'content-policy',
  empty: 'empty',
  truncated: 'truncated',
  'invalid-json': 'invalid-json',
  refusal: 'refusal',
  'bad-tool-args': 'bad-tool-args',
});

/** Parameters each kind accepts besides `p` and `times`. */
const KIND_PARAMS: Readonly<Partial<Record<SimFaultKind, readonly string[]>>> = Object.freeze({
  http: ['retry-after', 'retry-after-ms'],
  'slow-first-token': ['ms'],
  cut: ['after'],
  stall: ['after'],
  malformed: ['at'],
  'bad-tool-args': ['mode'],
});

const KNOWN_FAULTS = ['429', '500', '502', '503', '529', '<any 4xx/5xx>', ...Object.keys(NAMED_KINDS)].join(', ');

/**
 * Parses a fault spec from `x-sim-fault` or a model suffix (`sim-fast@<spec>`).
 *
 * Grammar: `spec := fault (',' fault)*`, `fault := name (':' param ((';' | ':') param)*)?`,
 * `param := key '=' value`. Names: an HTTP status (`429`, `500`, `502`, `503`, `529`, any 400-599),
 * `reset`, `hang`, `slow-first-token` (ms, default 5000), `cut` (after, default 3), `stall`
 * (after, default 3), `malformed` (at, default 3), `no-terminator`, `context-length`,
 * `content-policy`, `empty`, `truncated`, `invalid-json`, `refusal`, `bad-tool-args` (mode=json|schema).
 * Status faults take `retry-after` (seconds) or `retry-after-ms`. Every fault takes `p` (0..1,
 * seeded per request) and `times` (fire on the first N matching requests, then healthy).
 * Examples: `429:retry-after=2`, `503:p=0.3`, `500:times=1`, `cut:after=10,slow-first-token:ms=800`.
 */
export function parseSimFault(spec: string): SimFault[] {
  return spec
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
    .map((item) => parseOne(item, spec));
}

function invalid(spec: string, why: string): BreakwaterError {
  return new BreakwaterError('invalid_request', `invalid sim fault '${spec}': ${why}; known faults: ${KNOWN_FAULTS}`, {
    param: 'x-sim-fault',
  });
}

function parseOne(item: string, whole: string): SimFault {
  const [name = '', ...rawParams] = item.split(/[:;]/).map((piece) => piece.trim());
  const fault = faultForName(name, whole);
  fault.spec = item;
  const allowed = KIND_PARAMS[fault.kind] ?? [];
  for (const raw of rawParams.filter((piece) => piece.length > 0)) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw invalid(whole, `parameter '${raw}' of '${name}' is not key=value`);
    const key = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1).trim();
    if (key !== 'p' && key !== 'times' && !allowed.includes(key)) {
      const accepted = [...allowed, 'p', 'times'].join(', ');
      throw invalid(whole, `unknown parameter '${key}' for '${name}' (accepted: ${accepted})`);
    }
    applyParam(fault, key, value, whole);
  }
  return fault;
}

function faultForName(name: string, whole: string): SimFault {
  if (/^\d{3}$/.test(name)) {
    const status = Number(name);
    if (status < 400 || status > 599) throw invalid(whole, `status ${status} is not an error status (400-599)`);
    return { kind: 'http', spec: name, status };
  }
  const kind = NAMED_KINDS[name];
  if (kind === undefined) throw invalid(whole, `unknown fault '${name}'`);
  const fault: SimFault = { kind, spec: name };
  if (kind === 'slow-first-token') fault.ms = 5_000;
  if (kind === 'cut' || kind === 'stall') fault.after = 3;
  if (kind === 'malformed') fault.at = 3;
  if (kind === 'bad-tool-args') fault.mode = 'json';
  return fault;
}

function number(whole: string, key: string, value: string, check: (n: number) => boolean, expected: string): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n) || !check(n)) throw invalid(whole, `${key}=${value} must be ${expected}`);
  return n;
}

function applyParam(fault: SimFault, key: string, value: string, whole: string): void {
  const nonNegative = (n: number) => n >= 0;
  const count = (n: number) => Number.isInteger(n) && n >= 0;
  switch (key) {
    case 'p':
      fault.p = number(whole, key, value, (n) => n >= 0 && n <= 1, 'a probability between 0 and 1');
      return;
    case 'times':
      fault.times = number(whole, key, value, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
      return;
    case 'retry-after':
      fault.retryAfterMs = Math.round(number(whole, key, value, nonNegative, 'seconds ≥ 0') * 1000);
      fault.retryAfterUnit = 's';
      return;
    case 'retry-after-ms':
      fault.retryAfterMs = Math.round(number(whole, key, value, nonNegative, 'milliseconds ≥ 0'));
      fault.retryAfterUnit = 'ms';
      return;
    case 'ms':
      fault.ms = number(whole, key, value, nonNegative, 'milliseconds ≥ 0');
      return;
    case 'after':
      fault.after = number(whole, key, value, count, 'a chunk count ≥ 0');
      return;
    case 'at':
      fault.at = number(whole, key, value, (n) => Number.isInteger(n) && n >= 1, 'a chunk number ≥ 1');
      return;
    case 'mode':
      if (value !== 'json' && value !== 'schema') throw invalid(whole, `mode=${value} must be json or schema`);
      fault.mode = value;
      return;
  }
}
