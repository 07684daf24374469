import type { Clock } from '../core/clock.js';
import type { BreakwaterError } from '../core/errors.js';
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

  /** Errors the decoder raised know nothing of the provider; name it. */
  protected failure(err: unknown): BreakwaterError {
    return withProvider(err, this.id);
  }
}
