import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// A rule may redirect a request to another model; a key's allow-list still decides (SPEC MT-8).
let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({
    configYaml: `
routes:
  rules:
    - id: upgrade
      match: { model: sim-fast }
      targets: [sim-smart]
`,
  });
});
after(() => gateway?.close());

const ask = (key: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }),
  });

test('a rule never sends a key to a model outside its allow-list; keys without one follow the rule', async () => {
  const open = await ask(gateway.key);
  assert.equal(open.headers.get('x-breakwater-served-by'), 'sim/sim-smart');
  assert.match(open.headers.get('x-breakwater-route') ?? '', /rule=upgrade/);

  const narrow = await gateway.app.keys.create({ name: 'fast-only', kind: 'virtual', allowedModels: ['sim-fast'] });
  const limited = await ask(narrow.key);
  assert.equal(limited.status, 200);
  assert.equal(limited.headers.get('x-breakwater-served-by'), 'sim/sim-fast', 'the rule is skipped for this key');
  assert.doesNotMatch(limited.headers.get('x-breakwater-route') ?? '', /rule=upgrade/);
});
