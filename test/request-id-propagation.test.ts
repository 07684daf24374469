import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startTestGateway } from './helpers/test-gateway.js';

test('the request id and trace context reach the upstream, and the client sees the same id', async () => {
  let seen: IncomingHttpHeaders | undefined;
  const upstream = createServer((req, res) => {
    seen = req.headers;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  const gateway = await startTestGateway({
    configYaml: `providers:\n  up: { kind: openai-compatible, baseUrl: "http://127.0.0.1:${port}/v1", apiKey: k }\nroutes:\n  defaults:\n    streamUpstream: false\n`,
  });
  try {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json', 'x-request-id': 'client-req-42', traceparent },
      body: JSON.stringify({ model: 'up/m', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-breakwater-request-id'), 'client-req-42');
    assert.equal(seen?.['x-request-id'], 'client-req-42');
    assert.equal(seen?.traceparent, traceparent);
    assert.equal(seen?.authorization, 'Bearer k', 'the client key never travels upstream');
  } finally {
    await gateway.close();
    await new Promise((resolve) => upstream.close(resolve));
  }
});
