import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createAccessLog, type AccessLogEntry } from '../src/server/access-log.js';

/** A pino logger shaped like the default one (base undefined, redaction on) writing into an array. */
function capturingLogger(level: string) {
  const lines: string[] = [];
  const sink = { write: (line: string) => lines.push(line) };
  const logger = pino({ level, base: undefined, redact: { paths: ['key', '*.key', 'authorization'], censor: '[redacted]' } }, sink);
  return { logger, sink, lines };
}

const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');

describe('access log', () => {
  it('writes the exact line pino would write, awkward paths included', () => {
    const entries: AccessLogEntry[] = [
      { requestId: 'req_0123456789abcdef', method: 'POST', path: '/v1/chat/completions', status: 200, ms: 1.23, aborted: false },
      { requestId: 'client.id:42', method: 'GET', path: '/v1/"quoted"\\back\u0001slash\u00e9\ud800', status: 404, ms: 0, aborted: true },
      { requestId: 'r', method: undefined, path: '/x'.repeat(60), status: 499, ms: 12345.67, aborted: true },
      { requestId: 'req_2', method: 'POST', path: '/v1/chat/completions', status: 200, ms: 3, aborted: false, tenant: 'org:acme', route: 'rule=auto; tier=weak', servedBy: 'sim/sim-fast' },
      { requestId: 'req_3', method: 'POST', path: '/v1/messages', status: 429, ms: 0.5, aborted: false, tenant: 'key:key_1', code: 'rate_limited' },
    ];
    for (const entry of entries) {
      const viaPino = capturingLogger('info');
      viaPino.logger.info(entry, 'request');
      const direct = capturingLogger('info');
      const log = createAccessLog(direct.logger, direct.sink);
      log(entry);
      log.flush();
      assert.equal(direct.lines.length, 1);
      assert.equal(withoutTime(direct.lines[0]!), withoutTime(viaPino.lines[0]!));
      assert.deepEqual(JSON.parse(direct.lines[0]!).path, entry.path);
    }
  });

  it('marks a cold request with cold and initMs, as pino would write them (SPEC CS-3)', () => {
    const entry: AccessLogEntry = { requestId: 'req_4', method: 'POST', path: '/v1/chat/completions', status: 200, ms: 80.5, aborted: false, servedBy: 'openai/gpt-4o', coldInitMs: 41.25 };
    const { coldInitMs, ...rest } = entry;
    const viaPino = capturingLogger('info');
    viaPino.logger.info({ ...rest, cold: true, initMs: coldInitMs }, 'request');
    const direct = capturingLogger('info');
    const log = createAccessLog(direct.logger, direct.sink);
    log(entry);
    log.flush();
    assert.equal(withoutTime(direct.lines[0]!), withoutTime(viaPino.lines[0]!));
    const plain = capturingLogger('info');
    createAccessLog(plain.logger)(entry);
    assert.equal(withoutTime(plain.lines[0]!), withoutTime(viaPino.lines[0]!), 'the generic path writes the same fields');
  });

  it('stays silent when the level is above info, and follows a level change', () => {
    const { logger, sink, lines } = capturingLogger('warn');
    const log = createAccessLog(logger, sink);
    const entry: AccessLogEntry = { requestId: 'req_1', method: 'POST', path: '/v1/messages', status: 200, ms: 1, aborted: false };
    log(entry);
    log.flush();
    assert.equal(lines.length, 0);
    logger.level = 'info';
    log(entry);
    log.flush();
    assert.equal(lines.length, 1);
  });

  it('hands lines over in one batch by the next turn of the event loop, in order', async () => {
    const viaPino = capturingLogger('info');
    const direct = capturingLogger('info');
    const log = createAccessLog(direct.logger, direct.sink);
    for (let i = 0; i < 3; i++) {
      const entry: AccessLogEntry = { requestId: `req_${i}`, method: 'POST', path: '/v1/chat/completions', status: 200, ms: i, aborted: false };
      viaPino.logger.info(entry, 'request');
      log(entry);
    }
    assert.equal(direct.lines.length, 0, 'held back within the turn');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(direct.lines.length, 1, 'one write for the batch');
    assert.equal(withoutTime(direct.lines[0]!).replace(/"time":\d+/g, '"time":0'), viaPino.lines.map(withoutTime).join(''));
  });

  it('writes at once when a batch grows past its size, without waiting for the turn', () => {
    const direct = capturingLogger('info');
    const log = createAccessLog(direct.logger, direct.sink);
    const entry: AccessLogEntry = { requestId: 'req_big', method: 'POST', path: `/${'p'.repeat(2000)}`, status: 200, ms: 1, aborted: false };
    for (let i = 0; i < 3; i++) log(entry);
    assert.equal(direct.lines.length, 0, 'three ~2 kB lines stay under the batch size');
    log(entry);
    assert.equal(direct.lines.length, 1, 'the fourth passes it');
    assert.equal(direct.lines[0]!.split('\n').length - 1, 4);
    log(entry);
    log.flush();
    assert.equal(direct.lines.length, 2);
  });
});

describe('access log of the running gateway', () => {
  it('names tenant, route, deployment and error code, never the key or the prompt', async () => {
    const { startTestGateway } = await import('./helpers/test-gateway.js');
    const captured = capturingLogger('info');
    const gateway = await startTestGateway({ logger: captured.logger });
    try {
      const ask = (model: string) =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'canary-prompt-7c1' }] }),
        });
      assert.equal((await ask('sim-fast')).status, 200);
      assert.equal((await ask('no-such-model')).status, 404);
      const keyId = (await gateway.app.keys.authenticate(gateway.key))!.id;
      const lines = captured.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request');
      assert.equal(lines.length, 2);
      assert.deepEqual(
        lines.map(({ tenant, route, servedBy, code, status }) => ({ tenant, route, servedBy, code, status })),
        [
          { tenant: `key:${keyId}`, route: 'model=sim-fast; strategy=ordered', servedBy: 'sim/sim-fast', code: undefined, status: 200 },
          { tenant: `key:${keyId}`, route: undefined, servedBy: undefined, code: 'model_not_found', status: 404 },
        ],
      );
      const all = captured.lines.join('');
      assert.ok(!all.includes('canary-prompt-7c1') && !all.includes(gateway.key.slice(3)), 'no prompt or key in the log');
    } finally {
      await gateway.close();
    }
  });
});
