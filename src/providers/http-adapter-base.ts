import type { Clock } from '../core/clock.js';
import type { BreakwaterError } from '../core/errors.js';
import { withTimeouts, type CallContext } from '../core/provider.js';
import type { CanonicalResponse } from '../core/types.js';
import { parseRateLimitHeaders, type HeaderBag } from '../protocols/rate-limit-headers.js';
import { withProvider, type UpstreamHttp } from './upstream-http.js';

/**
 * What every HTTP adapter shares: its upstream connection, model discovery, closing, and naming
 * the provider on errors raised below it. Adapters add `generate` and `stream`.
 */
export abstract class HttpAdapterBase {
  constructor(
    readonly id: string,
    protected readonly http: UpstreamHttp,
    protected readonly clock: Clock,
    private readonly modelsPath: string,
  ) {}

  async listModels(ctx: { signal: AbortSignal }): Promise<string[]> {
    try {
      return await this.http.listModelIds(this.modelsPath, ctx.signal, this.clock);
    } catch (err) {
      throw this.failure(err);
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /**
   * The call context for a non-streamed call: such upstreams send headers only once the whole
   * answer is generated, so the header timeout stretches to the total one.
   */
  protected untilDone(ctx: CallContext): CallContext {
    return withTimeouts(ctx, { ...ctx.timeouts, headersMs: Math.max(ctx.timeouts.headersMs, ctx.timeouts.totalMs) });
  }

  /** Attaches the upstream's rate-limit facts (SPEC PV-8) to a parsed answer. */
  protected withRateLimit(response: CanonicalResponse, headers: HeaderBag, ctx: CallContext): CanonicalResponse {
    const rateLimit = parseRateLimitHeaders(headers, ctx.clock.now());
    if (rateLimit) response.rateLimit = rateLimit;
    return response;
  }

  /** Errors the decoder raised know nothing of the provider; name it. */
  protected failure(err: unknown): BreakwaterError {
    return withProvider(err, this.id);
  }
}
