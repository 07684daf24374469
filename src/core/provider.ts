import type { Cancellable, Cancellation } from './cancellation.js';
import type { Clock } from './clock.js';
import type {
  CanonicalRequest,
  CanonicalResponse,
  EmbeddingRequest,
  EmbeddingResponse,
  StreamPart,
} from './types.js';

/** Per-attempt timeouts in milliseconds (SPEC UP-4). */
export interface AttemptTimeouts {
  connectMs: number;
  headersMs: number;
  firstTokenMs: number;
  idleMs: number;
  totalMs: number;
}

/** What an adapter gets for one attempt. */
export interface CallContext {
  /** The model name the upstream knows. */
  upstreamModel: string;
  /** Aborted when the client leaves, a timeout fires or another attempt wins; must reach the socket. */
  signal: AbortSignal;
  /** The same cancellation without an AbortSignal, when the caller has one (cheaper to listen to). */
  cancel?: Cancellation | undefined;
  clock: Clock;
  requestId: string;
  timeouts: AttemptTimeouts;
  /** Extra headers for the upstream request (e.g. `traceparent`, `x-sim-fault`). */
  headers?: Record<string, string>;
}

/**
 * Builds a CallContext over `cancellable`. Its `signal` is a getter, and `withTimeouts` does not
 * spread: either would otherwise make an AbortSignal the attempt may never need.
 */
export function callContext(upstreamModel: string, cancellable: Cancellable, clock: Clock, requestId: string, timeouts: AttemptTimeouts, headers: Record<string, string> | undefined): CallContext {
  return new LazySignalCallContext(upstreamModel, cancellable, clock, requestId, timeouts, headers);
}

/** A class for its lazy prototype `signal` getter (why not a literal with a getter: scripts/lint.mjs). */
class LazySignalCallContext implements CallContext {
  readonly cancel: Cancellation | undefined;

  constructor(
    readonly upstreamModel: string,
    private readonly source: Cancellable,
    readonly clock: Clock,
    readonly requestId: string,
    readonly timeouts: AttemptTimeouts,
    readonly headers: Record<string, string> | undefined,
  ) {
    this.cancel = source.cancel;
  }

  get signal(): AbortSignal {
    return this.source.signal;
  }
}

/** `ctx` with other timeouts. */
export function withTimeouts(ctx: CallContext, timeouts: AttemptTimeouts): CallContext {
  return callContext(ctx.upstreamModel, ctx, ctx.clock, ctx.requestId, timeouts, ctx.headers);
}

/**
 * A model provider. Adapters never throw anything but `BreakwaterError`: HTTP failures are
 * classified with `upstreamHttpError`, transport failures become `upstream_error` /
 * `upstream_timeout` with a `reason`. A stream's iterator throws the same way when the stream
 * fails after it began; a stream that ends without a terminator but with content yields `finish`
 * with what it has.
 */
export interface ProviderAdapter {
  /** The configured provider name, e.g. `openai`, `sim`, `local-vllm`. */
  readonly id: string;
  /** Non-streaming call. */
  generate(request: CanonicalRequest, ctx: CallContext): Promise<CanonicalResponse>;
  /** Streaming call: `start` first, then deltas, then `usage`, then `finish`. */
  stream(request: CanonicalRequest, ctx: CallContext): AsyncIterable<StreamPart>;
  /** Embeddings, where the provider has them. */
  embed?(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse>;
  /** The models the upstream serves, for discovery. */
  listModels?(ctx: { signal: AbortSignal }): Promise<string[]>;
  /** Releases pooled connections. */
  close?(): Promise<void>;
}
