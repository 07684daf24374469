import { BreakwaterError } from '../core/errors.js';
import type { Denial, RateState } from './limit-store.js';

/** Dollars with cents, or with as many decimals as a sub-cent amount needs. */
const usd = (micros: number) => `$${micros >= 10_000 || micros === 0 ? (micros / 1_000_000).toFixed(2) : String(micros / 1_000_000)}`;
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

const UNITS: Record<string, string> = {
  requests: 'requests per minute',
  input_tokens: 'input tokens per minute',
  output_tokens: 'output tokens per minute',
  concurrency: 'requests in flight',
};

/** `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` of the tightest level (SPEC API-8). */
function rateHeaders(rate: RateState | undefined, headers: Record<string, string>): void {
  if (!rate) return;
  const { limits } = rate.level;
  const requests = rate.requests ?? (limits.rpm === undefined ? undefined : { limit: limits.rpm, remaining: undefined, resetMs: undefined });
  const tokenLimit = limits.inputTpm ?? limits.outputTpm;
  const tokens = rate.tokens ?? (tokenLimit === undefined ? undefined : { limit: tokenLimit, remaining: undefined, resetMs: undefined });
  for (const [name, window] of [['requests', requests], ['tokens', tokens]] as const) {
    if (!window) continue;
    headers[`x-ratelimit-limit-${name}`] = String(window.limit);
    if (window.remaining !== undefined) headers[`x-ratelimit-remaining-${name}`] = String(window.remaining);
    if (window.resetMs !== undefined) headers[`x-ratelimit-reset-${name}`] = `${Math.ceil(window.resetMs / 1000)}s`;
  }
}

/**
 * The client's error for a denial: 402 `budget_exceeded` naming the level in `param` with its
 * cap and period, else 429 `rate_limited` with Retry-After and `x-ratelimit-*` headers.
 */
export function denialError(denial: Denial): BreakwaterError {
  const { level, dimension } = denial;
  const who = `${level.kind} '${level.name}'`;
  const headers: Record<string, string> = { 'x-breakwater-limit': `${level.kind}=${level.id.slice(level.kind.length + 1)}; dimension=${dimension}` };
  if (denial.retryAfterMs !== undefined) headers['retry-after'] = String(seconds(denial.retryAfterMs));
  if (dimension === 'daily_spend' || dimension === 'monthly_spend') {
    const period = dimension === 'daily_spend' ? 'daily' : 'monthly';
    const resets = denial.retryAfterMs === undefined ? '' : `; it resets in ${seconds(denial.retryAfterMs)} s`;
    return new BreakwaterError(
      'budget_exceeded',
      `the ${period} budget of ${who} (cap ${usd(denial.limit)} per ${period === 'daily' ? 'day' : 'month'}) has ${usd(Math.max(0, denial.limit - (denial.spentMicros ?? 0)))} left, less than this request's estimated cost${resets}; raise the cap or lower max_tokens`,
      { param: `${level.kind}.${period}_budget`, headers, retryAfterMs: denial.retryAfterMs },
    );
  }
  rateHeaders(denial.rate ?? { level }, headers);
  const wait = denial.retryAfterMs === undefined ? '' : `; retry after ${seconds(denial.retryAfterMs)} s`;
  return new BreakwaterError('rate_limited', `rate limit of ${denial.limit} ${UNITS[dimension]} reached for ${who}${wait}`, {
    param: level.kind,
    headers,
    retryAfterMs: denial.retryAfterMs,
  });
}

/** 429 `queue_timeout`: the request waited its lane's queue time without finding capacity. */
export function queueTimeoutError(deployment: string, lane: string, waitedMs: number, full: boolean): BreakwaterError {
  const why = full ? 'its queue is full' : `no capacity freed up within ${Math.round(waitedMs)} ms`;
  return new BreakwaterError('queue_timeout', `deployment '${deployment}' has no room for ${lane} requests: ${why}; retry later or send fewer at once`, {
    param: 'x-breakwater-priority',
    headers: { 'retry-after': '1' },
    retryAfterMs: 1_000,
  });
}
