import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { createSeededRandom } from '../src/core/clock.js';
import { startTestGateway } from './helpers/test-gateway.js';

const config = (weak: string) => `
models:
  weak: { deployments: [{ provider: sim, model: '${weak}' }] }
  strong: { deployments: [{ provider: sim, model: sim-smart }] }
routes:
  rules:
    - id: guarded
      match: { model: auto }
      complexity: { weak: weak, strong: strong, threshold: 1 }
      shadow: { share: 1, window: 20, minSamples: 10, minAgreement: 0.8, autoPin: true }
`;

async function run(weak: string, n: number) {
  const gateway = await startTestGateway({ random: createSeededRandom(3), configYaml: config(weak) });
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  const served: string[] = [];
  const routes: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: `question ${i}` }] }).withResponse();
      served.push(response.headers.get('x-breakwater-served-by')!);
      routes.push(response.headers.get('x-breakwater-route')!);
      await gateway.app.routing.idle();
    }
    await gateway.app.ledger.flush();
    const records = await gateway.app.stores.ledger.listRequests({ limit: 1000 });
    return { served, routes, records, guards: gateway.app.routing.guards() };
  } finally {
    await gateway.close();
  }
}

describe('shadow traffic and the regression guard', () => {
  it('a weak model that starts refusing half its answers trips the guard and the route pins to strong', async () => {
    const { served, routes, records, guards } = await run('sim-fast@refusal:p=0.5', 30);
    const pinnedAt = routes.findIndex((r) => r.includes('pinned=strong'));
    assert.ok(pinnedAt >= 10 && pinnedAt < 30, `pinned at ${pinnedAt}`);
    const weak = 'sim/sim-fast@refusal:p=0.5';
    assert.ok(served.slice(0, pinnedAt).every((s) => s === weak));
    assert.ok(served.slice(pinnedAt).every((s) => s === 'sim/sim-smart'));
    assert.ok(guards.guarded![weak]!.agreement < 0.8);
    // Shadow copies are in the ledger, billed to the platform and tied to the request they copy.
    const shadows = records.filter((r) => r.routeDecision?.shadowOf !== undefined);
    assert.equal(shadows.length, pinnedAt);
    assert.ok(shadows.every((r) => r.keyId === 'platform' && r.orgId === undefined && r.routeDecision!.billedTo === 'platform' && r.servedBy === 'sim/sim-smart'));
    assert.ok(shadows.some((r) => r.routeDecision!.agreed === false));
  });

  it('a healthy weak model is shadowed but never pinned', async () => {
    const { served, routes, guards } = await run('sim-fast', 30);
    assert.ok(routes.every((r) => !r.includes('pinned')));
    assert.ok(served.every((s) => s === 'sim/sim-fast'));
    assert.equal(guards.guarded!['sim/sim-fast']!.agreement, 1);
  });
});
