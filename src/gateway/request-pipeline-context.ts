import type { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import type { AttemptPolicy, PipelineContext, Verdict } from '../core/pipeline.js';
import type { CanonicalResponse } from '../core/types.js';
import type { RequestContext } from './gateway.js';
import type { PricedCandidate } from './route-resolver.js';

/** What the route decided for one request's pipeline. */
export interface PipelineRoute {
  deadlineAt: number;
  policy: AttemptPolicy<PricedCandidate>;
  streamUpstream: boolean | undefined;
  validate: ((response: CanonicalResponse) => Verdict | undefined | Promise<Verdict | undefined>) | undefined;
}

/**
 * One request's pipeline context. A class for its lazy prototype `signal` getter, which reads the
 * client's (why not a literal with a getter: scripts/lint.mjs).
 */
export class RequestPipelineContext implements PipelineContext<PricedCandidate> {
  readonly requestId: string;
  readonly cancel: Cancellation | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly deadlineAt: number;
  readonly policy: AttemptPolicy<PricedCandidate>;
  readonly streamUpstream: boolean | undefined;
  readonly validate: PipelineRoute['validate'];

  constructor(
    private readonly client: RequestContext,
    readonly clock: Clock,
    route: PipelineRoute,
  ) {
    this.requestId = client.requestId;
    this.cancel = client.cancel;
    this.headers = client.upstreamHeaders;
    this.deadlineAt = route.deadlineAt;
    this.policy = route.policy;
    this.streamUpstream = route.streamUpstream;
    this.validate = route.validate;
  }

  get signal(): AbortSignal {
    return this.client.signal;
  }
}
