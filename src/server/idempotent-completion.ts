import type { ServerResponse } from 'node:http';
import type { BreakwaterError } from '../core/errors.js';
import { collectResponse, responseToParts } from '../core/pipeline.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart } from '../core/types.js';
import { detachedContext, type RequestContext } from '../gateway/gateway.js';
import { IDEMPOTENT_REPLAY_HEADER, idempotencyScope, requestHash, type IdempotentOutcome } from '../gateway/idempotency.js';
import { PartBroadcast } from '../gateway/part-broadcast.js';
import type { KeyRecord } from '../store/interfaces.js';
import type { ChatCodec } from './chat-codecs.js';
import { metaHeaders, sendCompletion, writeStream, type CompletionHandlerDeps } from './completion-handler.js';

/** What is stored for a completed idempotent request: the canonical answer, rendered per replay. */
interface StoredAnswer {
  response: CanonicalResponse;
  headers: Record<string, string>;
}

/** The request being answered. */
export interface IdempotentRequest {
  body: unknown;
  request: CanonicalRequest;
  ctx: RequestContext;
  key: string;
  owner: KeyRecord;
}

/** A signal that never aborts: an idempotent generation outlives the client that started it. */
const DETACHED = new AbortController().signal;

/**
 * Serves a request carrying `Idempotency-Key` (SPEC UP-8): the generation runs detached from the
 * first client, so a client that leaves and retries attaches to it or gets its stored answer;
 * a completed repeat replays with `x-breakwater-idempotent-replay: true` at no cost.
 */
export async function handleIdempotentCompletion(codec: ChatCodec, deps: CompletionHandlerDeps, res: ServerResponse, input: IdempotentRequest): Promise<void> {
  const { request, ctx } = input;
  const gateway = deps.gateway();
  const detached = detachedContext(ctx, DETACHED);
  const run = {
    scope: idempotencyScope(input.owner),
    key: input.key,
    requestHash: requestHash({ dialect: codec.dialect, path: ctx.endpoint, body: input.body }),
    signal: ctx.signal,
  };
  if (!request.stream) {
    const outcome = await deps.idempotency.run<StoredAnswer>({
      ...run,
      execute: async () => {
        const result = await gateway.generate(request, detached);
        return { status: 200, body: { response: result.response, headers: metaHeaders(result) } };
      },
    });
    sendCompletion(codec, res, request, outcome.body.response, replayHeaders(outcome));
    return;
  }

  // Streams: the first caller watches the detached generation live; the stored answer is what
  // repeats get once it completes.
  let announce!: (live: { broadcast: PartBroadcast; headers: Record<string, string> }) => void;
  const opened = new Promise<{ broadcast: PartBroadcast; headers: Record<string, string> }>((resolve) => (announce = resolve));
  const outcome = deps.idempotency.run<StoredAnswer>({
    ...run,
    execute: async () => {
      const session = await gateway.stream(request, detached);
      const broadcast = new PartBroadcast();
      const headers = metaHeaders(session);
      announce({ broadcast, headers });
      let failure: BreakwaterError | undefined;
      for await (const part of session.parts) {
        broadcast.push(part);
        if (part.type === 'error') failure = part.error;
      }
      broadcast.end();
      // A failed stream is not stored: a retry generates again.
      if (failure) throw failure;
      return { status: 200, body: { response: collectResponse(broadcast.received), headers } };
    },
  });
  const first = await Promise.race([opened.then((live) => ({ live })), outcome.then((done) => ({ done }))]);
  if ('live' in first) {
    outcome.catch(() => {});
    await writeStream(codec, res, request, first.live.broadcast.subscribe(), first.live.headers, ctx.signal, deps.stream.heartbeatMs);
    return;
  }
  await writeStream(codec, res, request, replayParts(first.done.body.response), replayHeaders(first.done), ctx.signal, deps.stream.heartbeatMs);
}

function replayHeaders(outcome: IdempotentOutcome<StoredAnswer>): Record<string, string> {
  return outcome.replay ? { ...outcome.body.headers, ...outcome.headers, [IDEMPOTENT_REPLAY_HEADER]: 'true' } : outcome.body.headers;
}

async function* replayParts(response: CanonicalResponse): AsyncGenerator<StreamPart> {
  yield* responseToParts(response);
}
