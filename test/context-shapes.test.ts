// Per-request contexts keep their lazy `signal` on a prototype, never as an own accessor: an own
// accessor means a literal with a getter, a hidden class per request that keeps the request alive
// through scavenges (scripts/lint.mjs, docs/performance.md). The shape is the mechanism, so the
// shape is what this checks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import pino from 'pino';
import { Cancellation } from '../src/core/cancellation.js';
import { systemClock } from '../src/core/clock.js';
import { callContext } from '../src/core/provider.js';
import { RequestPipelineContext } from '../src/gateway/request-pipeline-context.js';
import { requestContextFor, type HandlerRequest } from '../src/server/completion-handler.js';
import { createHttpServer, type RequestInfo } from '../src/server/http-server.js';
import type { KeyRecord } from '../src/store/interfaces.js';

const TIMEOUTS = { connectMs: 1_000, headersMs: 1_000, firstTokenMs: 1_000, idleMs: 1_000, totalMs: 1_000 };

function assertLazySignalOnPrototype(ctx: object, cancel: Cancellation, name: string): void {
  assert.equal(Object.getOwnPropertyDescriptor(ctx, 'signal'), undefined, `${name}: signal must not be an own accessor`);
  const signal = (ctx as { signal: AbortSignal }).signal;
  assert.equal(signal.aborted, false);
  cancel.abort(new Error('client left'));
  assert.equal(signal.aborted, true, `${name}: signal follows the cancellation`);
}

test('an upstream call context reads its signal through a shared prototype getter', () => {
  const cancel = new Cancellation();
  const ctx = callContext('m', { cancel, get signal() { return cancel.signal; } }, systemClock, 'req_1', TIMEOUTS, undefined);
  assertLazySignalOnPrototype(ctx, cancel, 'callContext');
});

test('a pipeline context and a client request context keep the signal lazy on their prototypes', () => {
  const cancel = new Cancellation();
  const info = { requestId: 'req_2', key: { id: 'key_1' } as KeyRecord, receivedAt: 0, receivedAtMs: 0, cancel, get signal() { return cancel.signal; } } satisfies HandlerRequest;
  const req = { url: '/v1/chat/completions', headers: {} } as IncomingMessage;
  const ctx = requestContextFor(req, info, 'openai-chat', { model: 'm', messages: [] } as never);
  assert.equal(Object.getOwnPropertyDescriptor(ctx, 'signal'), undefined, 'requestContextFor: signal must not be an own accessor');
  const pipeline = new RequestPipelineContext(ctx, systemClock, { deadlineAt: 0, policy: {} as never, streamUpstream: undefined, validate: undefined });
  assertLazySignalOnPrototype(pipeline, cancel, 'RequestPipelineContext');
  assert.equal(ctx.signal.aborted, true);
});

test("the server's per-request info keeps the signal lazy on its prototype", async () => {
  const http = createHttpServer({ keepAliveTimeoutMs: 5_000, headersTimeoutMs: 6_000, requestTimeoutMs: 10_000, accessLog: false }, pino({ level: 'silent' }));
  let seen: RequestInfo | undefined;
  http.router.on('GET', '/probe', (_req, res, info) => {
    seen = info;
    res.end('ok');
  });
  const address = await http.listen(0, '127.0.0.1');
  try {
    const response = await fetch(`http://127.0.0.1:${address.port}/probe`);
    assert.equal(await response.text(), 'ok');
    assert.ok(seen);
    assertLazySignalOnPrototype(seen, seen.cancel!, 'server request info');
  } finally {
    http.server.closeAllConnections();
    await new Promise<void>((resolve) => http.server.close(() => resolve()));
  }
});

test('no object literal made per call in src has an accessor (scripts/lint.mjs)', () => {
  // The lint walks every src file's syntax tree; it exits non-zero and names the line otherwise.
  const output = execFileSync(process.execPath, ['scripts/lint.mjs'], { encoding: 'utf8' });
  assert.match(output, /lint: layout and naming ok/);
});
