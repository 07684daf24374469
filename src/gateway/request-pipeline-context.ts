import type { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import type { AttemptPolicy, PipelineContext, Verdict } from '../core/pipeline.js';
import type { CanonicalResponse } from '../core/types.js';
import type { PricedCandidate } from './route-resolver.js';

/**
 * One request's pipeline context. A class, not an object literal with `get signal()`: V8 gives
 * such a literal a hidden class of its own each time (its getter is a new closure), allocates
 * that map in old space, and the map then keeps the closure's whole request alive through every
 * scavenge until the next mark-compact. The prototype getter is shared and keeps the client's
 * AbortSignal lazy.
 */
export class RequestPipelineContext implements PipelineContext<PricedCandidate> {
  constructor(
    private readonly client: { readonly signal: AbortSignal },
    readonly requestId: string,
    readonly clock: Clock,
    readonly cancel: Cancellation | undefined,
    readonly deadlineAt: number,
    readonly headers: Record<string, string> | undefined,
    readonly policy: AttemptPolicy<PricedCandidate>,
    readonly streamUpstream: boolean | undefined,
    readonly validate: ((response: CanonicalResponse) => Verdict | undefined | Promise<Verdict | undefined>) | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.client.signal;
  }
}
