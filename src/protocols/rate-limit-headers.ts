import type { RateLimitInfo } from '../core/types.js';

/** Response headers as undici and node:http give them: lower-case names, repeated ones as arrays. */
export type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

function nonNegative(value: number): number | undefined {
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

function integerHeader(headers: HeaderBag, name: string): number | undefined {
  const text = header(headers, name);
  return text === undefined || !/^\d+$/.test(text) ? undefined : nonNegative(Number(text));
}

const DURATION_UNITS: Readonly<Record<string, number>> = Object.freeze({ h: 3_600_000, m: 60_000, s: 1000, ms: 1 });

/** OpenAI's reset durations: `6m0s`, `1s`, `20ms`, `1h2m3.5s`; a bare number is seconds. */
export function parseResetDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const pattern = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    total += Number(match[1]) * DURATION_UNITS[match[2]];
    consumed += match[0].length;
  }
  return consumed === text.length && consumed > 0 ? Math.round(total) : undefined;
}

/** `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(headers: HeaderBag, now: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const text = header(headers, 'retry-after');
  if (text === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Anthropic resets are RFC 3339 instants; OpenAI-style durations are accepted there too. */
function resetMs(headers: HeaderBag, name: string, now: number): number | undefined {
  const text = header(headers, name);
  if (text === undefined) return undefined;
  const duration = parseResetDuration(text);
  if (duration !== undefined) return duration;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function assign(info: RateLimitInfo, key: keyof RateLimitInfo, value: number | undefined): void {
  if (value !== undefined) info[key] = value;
}

/** Header names per limit kind (OpenAI style first), built once: the parser runs on every upstream answer. */
const LIMIT_HEADERS = (['requests', 'tokens'] as const).map((kind) => {
  const suffix = kind === 'requests' ? 'Requests' : 'Tokens';
  return {
    limitKey: `limit${suffix}` as const,
    remainingKey: `remaining${suffix}` as const,
    resetKey: `reset${suffix}Ms` as const,
    limit: [`x-ratelimit-limit-${kind}`, `anthropic-ratelimit-${kind}-limit`] as const,
    remaining: [`x-ratelimit-remaining-${kind}`, `anthropic-ratelimit-${kind}-remaining`] as const,
    reset: [`x-ratelimit-reset-${kind}`, `anthropic-ratelimit-${kind}-reset`] as const,
  };
});

/**
 * Reads an upstream's rate-limit facts (SPEC PV-8): `retry-after-ms` / `retry-after`,
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (OpenAI and most compatible servers)
 * and `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`. Resets become ms from
 * `now`. `undefined` when the response says nothing about limits.
 */
export function parseRateLimitHeaders(headers: HeaderBag, now: number = Date.now()): RateLimitInfo | undefined {
  const info: RateLimitInfo = {};
  assign(info, 'retryAfterMs', retryAfterMs(headers, now));
  for (const names of LIMIT_HEADERS) {
    assign(info, names.limitKey, integerHeader(headers, names.limit[0]) ?? integerHeader(headers, names.limit[1]));
    assign(info, names.remainingKey, integerHeader(headers, names.remaining[0]) ?? integerHeader(headers, names.remaining[1]));
    assign(info, names.resetKey, resetMs(headers, names.reset[0], now) ?? resetMs(headers, names.reset[1], now));
  }
  return Object.keys(info).length === 0 ? undefined : info;
}
