import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cancellation } from '../core/cancellation.js';
import type { CanonicalRequest, Dialect } from '../core/types.js';
import type { RequestContext } from '../gateway/gateway.js';
import type { WarmthClaim } from '../gateway/warmth.js';
import type { KeyRecord, RequestRecord } from '../store/interfaces.js';
import type { HandlerRequest } from './completion-handler.js';
import { priorityFor, tagsFor, timeoutFor, upstreamHeadersFor } from './request-context.js';

/**
 * The gateway's view of one client request. A class for its lazy prototype `signal` getter (why
 * not a literal with a getter: scripts/lint.mjs). Every field is set in the constructor so that
 * all instances share one shape.
 */
export class ClientRequestContext implements RequestContext {
  readonly requestId: string;
  readonly key: KeyRecord;
  readonly endpoint: string;
  readonly cancel: Cancellation | undefined;
  readonly receivedAt: number;
  readonly receivedAtMs: number;
  readonly upstreamHeaders: Record<string, string>;
  readonly tags: Record<string, string> | undefined;
  readonly endUser: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly priority: string | undefined;
  onRecord: ((record: RequestRecord) => void) | undefined = undefined;
  onAdmitted: (() => void) | undefined = undefined;
  warmth: WarmthClaim | undefined = undefined;

  constructor(
    req: IncomingMessage,
    private readonly info: HandlerRequest,
    readonly dialect: Dialect,
    request: CanonicalRequest,
    readonly response: ServerResponse | undefined,
  ) {
    this.requestId = info.requestId;
    this.key = info.key;
    this.endpoint = req.url ?? '';
    this.cancel = info.cancel;
    this.receivedAt = info.receivedAt;
    this.receivedAtMs = info.receivedAtMs;
    this.upstreamHeaders = upstreamHeadersFor(req, info.requestId);
    this.tags = tagsFor(req, request.metadata);
    this.endUser = request.user ?? request.metadata?.user_id;
    this.timeoutMs = timeoutFor(req);
    this.priority = priorityFor(req);
  }

  get signal(): AbortSignal {
    return this.info.signal;
  }
}
