import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSimBackedGateway, type SimBackedGateway } from './helpers/sim-backed-gateway.js';
import type { TestGateway } from './helpers/test-gateway.js';

let upstream: SimBackedGateway;
let gateway: TestGateway;

before(async () => {
  upstream = await startSimBackedGateway({
    seed: 11,
    timeScale: 0,
    env: (url) => ({ BREAKWATER_UPSTREAM_LOCAL: `${url}/v1`, BREAKWATER_UPSTREAM_LOCAL_KEY: 'local-secret' }),
  });
  gateway = upstream.gateway;
});

after(() => upstream?.close());

test('BREAKWATER_UPSTREAM_<NAME> adds an OpenAI-compatible upstream whose models are discovered in the background', async () => {
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  let ids: string[] = [];
  const deadline = Date.now() + 5000;
  while (!ids.includes('local/sim-fast') && Date.now() < deadline) {
    ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    if (!ids.includes('local/sim-fast')) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.ok(ids.includes('local/sim-fast'), `discovered models: ${ids.join(', ')}`);

  const { data, response } = await openai.chat.completions
    .create({ model: 'local/sim-fast', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.equal(response.headers.get('x-breakwater-served-by'), 'local/sim-fast');
  assert.ok((data.choices[0]?.message.content ?? '').length > 0);
});
