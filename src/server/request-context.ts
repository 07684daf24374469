import type { IncomingMessage } from 'node:http';
import { BreakwaterError } from '../core/errors.js';
import { newSortableId } from '../core/ids.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

/** The client's `x-request-id` when it is safe to echo (≤ 128 safe chars), else a new `req_` id (SPEC API-11). */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && SAFE_REQUEST_ID.test(given)) return given;
  return newSortableId('req');
}

const MAX_TAGS = 10;
const TAG_PART = /^[A-Za-z0-9_.:\-]{1,64}$/;

/**
 * Attribution tags from `x-breakwater-tags: k=v,…` or the body's `metadata` (header wins), at
 * most ten, with keys and values of safe characters only; anything else is ignored, not an error.
 */
export function tagsFor(req: IncomingMessage, metadata: Record<string, string> | undefined): Record<string, string> | undefined {
  const header = req.headers['x-breakwater-tags'];
  let tags: Record<string, string> | undefined;
  let count = 0;
  const add = (key: string, value: string) => {
    if (count >= MAX_TAGS || !TAG_PART.test(key) || !TAG_PART.test(value)) return;
    tags ??= {};
    if (!(key in tags)) count++;
    tags[key] = value;
  };
  if (typeof header === 'string') {
    for (const pair of header.split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) add(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  if (metadata) for (const key in metadata) if (key !== 'user_id') add(key, String(metadata[key]));
  return tags;
}

/**
 * Headers passed on to the upstream: the request id (SPEC API-11: one id from client to provider
 * logs), W3C trace context, and simulator fault selection.
 */
export function upstreamHeadersFor(req: IncomingMessage, requestId: string): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': requestId };
  const traceparent = req.headers.traceparent;
  const fault = req.headers['x-sim-fault'];
  if (typeof traceparent === 'string') headers.traceparent = traceparent;
  if (typeof fault === 'string') headers['x-sim-fault'] = fault;
  return headers;
}

/**
 * `x-breakwater-timeout-ms`: the client's own deadline for this request (SPEC UP-4). It can only
 * shorten the route's deadline; a malformed value is a 400 rather than silently ignored.
 */
export function timeoutFor(req: IncomingMessage): number | undefined {
  const value = req.headers['x-breakwater-timeout-ms'];
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(ms > 0)) {
    throw new BreakwaterError('invalid_request', 'x-breakwater-timeout-ms must be a positive whole number of milliseconds', { param: 'x-breakwater-timeout-ms' });
  }
  return ms;
}

/** `x-breakwater-priority` as sent; admission checks it names a lane (SPEC MT-4). */
export function priorityFor(req: IncomingMessage): string | undefined {
  const value = req.headers['x-breakwater-priority'];
  return typeof value === 'string' ? value.trim().toLowerCase() : undefined;
}
