import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { createSeededRandom } from '../src/core/clock.js';
import { CLI, cleanEnv } from './helpers/cli-process.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const HARD = 'Statement 1 | Every group of order p^2 is abelian. Statement 2 | Every subgroup of an abelian group is normal. Which is true? A. True, True B. False, False C. True, False D. False, True';

async function chat(client: OpenAI, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const { data, response } = await client.chat.completions
    .create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], ...body } as never, { headers })
    .withResponse();
  return { data: data as unknown as OpenAI.Chat.Completions.ChatCompletion, servedBy: response.headers.get('x-breakwater-served-by'), route: response.headers.get('x-breakwater-route') ?? '' };
}

describe('routing rules through the gateway', () => {
  let gateway: TestGateway;
  let client: OpenAI;
  before(async () => {
    gateway = await startTestGateway({
      random: createSeededRandom(7),
      configYaml: `
models:
  cheap: { deployments: [{ provider: sim, model: sim-fast }] }
  smart: { deployments: [{ provider: sim, model: sim-smart }] }
routes:
  rules:
    - id: premium
      match: { tags: { tier: premium } }
      targets: [smart]
    - id: tools-to-smart
      match: { model: auto, tools: true }
      targets: [smart]
    - id: json-cascade
      match: { model: auto, responseFormat: [json_object] }
      cascade: [cheap-flaky, smart]
      validators: [{ type: json }]
    - id: auto
      match: { model: auto }
      complexity: { weak: cheap, strong: smart, threshold: 0.55 }
    - id: pool
      match: { model: pool }
      targets: [{ target: sim/sim-fast, weight: 3 }, { target: sim/sim-smart, weight: 1 }]
      strategy: weighted
  defaults: { retry: { maxAttemptsPerDeployment: 1 } }
`.replace('cheap-flaky', "'sim-fast@invalid-json:p=0.3'"),
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  });
  after(() => gateway.close());

  it('first matching rule wins: tags before model rules, tools before the complexity rule', async () => {
    const tagged = await chat(client, {}, { 'x-breakwater-tags': 'tier=premium' });
    assert.equal(tagged.servedBy, 'sim/sim-smart');
    assert.match(tagged.route, /^rule=premium; strategy=ordered/);
    const tools = await chat(client, { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] });
    assert.match(tools.route, /^rule=tools-to-smart/);
    assert.equal(tools.servedBy, 'sim/sim-smart');
  });

  it('the complexity rule sends an easy prompt to the weak tier and a hard one to the strong tier, with the score in the header', async () => {
    const easy = await chat(client, { messages: [{ role: 'user', content: 'Say hello.' }] });
    assert.equal(easy.servedBy, 'sim/sim-fast');
    assert.match(easy.route, /^rule=auto; strategy=ordered; tier=weak; score=0\.\d{4}; threshold=0\.5500$/);
    const hard = await chat(client, { messages: [{ role: 'user', content: HARD }] });
    assert.match(hard.route, /tier=strong/);
    assert.equal(hard.servedBy, 'sim/sim-smart');
  });

  it('a request no rule matches keeps its own route', async () => {
    const plain = await chat(client, { model: 'sim-fast' });
    assert.equal(plain.servedBy, 'sim/sim-fast');
    assert.equal(plain.route, 'model=sim-fast; strategy=ordered');
  });

  it('weighted balancing splits about 3:1 with a seeded random', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const { servedBy } = await chat(client, { model: 'pool' });
      counts[servedBy!] = (counts[servedBy!] ?? 0) + 1;
    }
    const fast = counts['sim/sim-fast'] ?? 0;
    assert.ok(fast > 130 && fast < 170, `sim-fast served ${fast} of 200`);
  });

  it('cascade escalates invalid cheap answers to the strong tier: ~30 % escalate, every answer is valid JSON, the ledger has the tier', async () => {
    let escalated = 0;
    const n = 100;
    for (let i = 0; i < n; i++) {
      const { data, servedBy } = await chat(client, { response_format: { type: 'json_object' }, messages: [{ role: 'user', content: `give me json ${i}` }] });
      JSON.parse(data.choices[0]!.message.content!);
      if (servedBy === 'sim/sim-smart') escalated++;
    }
    assert.ok(escalated >= 18 && escalated <= 42, `escalated ${escalated} of ${n}`);
    await gateway.app.ledger.flush();
    const records = await gateway.app.stores.ledger.listRequests({ limit: n });
    const cascade = records.filter((r) => r.routeDecision?.rule === 'json-cascade');
    assert.equal(cascade.length, n);
    assert.equal(cascade.filter((r) => r.routeDecision!.servedTier === 1).length, escalated);
    assert.equal(cascade[0]!.route, 'json-cascade');
  });
});

describe('routing from the user side: streams and the savings report', () => {
  it('a streamed request through a complexity rule carries the route header; `usage savings` shows actual vs all-strong', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bw-routing-'));
    const gateway = await startTestGateway({
      dataDir,
      configYaml: `
routes:
  rules:
    - id: auto
      match: { model: auto }
      complexity: { weak: sim-fast, strong: sim-smart, threshold: 0.99 }
`,
    });
    try {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
      const { data: stream, response } = await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'hello' }] }).withResponse();
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.ok(text.length > 0);
      assert.match(response.headers.get('x-breakwater-route')!, /^rule=auto; strategy=ordered; tier=weak; score=/);
      for (let i = 0; i < 3; i++) await chat(client, { messages: [{ role: 'user', content: `hello ${i}` }] });
    } finally {
      await gateway.close();
    }
    try {
      const result = spawnSync(process.execPath, [CLI, 'usage', 'savings', '--since', '1d', '--json', '--data-dir', dataDir], { env: cleanEnv(), cwd: dataDir, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const [row] = JSON.parse(result.stdout) as Array<{ rule: string; requests: number; actualMicros: number; allStrongMicros: number; savedMicros: number }>;
      assert.equal(row!.rule, 'auto');
      assert.equal(row!.requests, 4);
      // sim-fast costs 0.15/0.60 per 1M tokens, sim-smart 2.50/10.00: the strong counterfactual is 16.7× the actual.
      assert.ok(row!.actualMicros > 0);
      assert.ok(Math.abs(row!.allStrongMicros / row!.actualMicros - 2.5 / 0.15) < 0.5, `${row!.allStrongMicros} vs ${row!.actualMicros}`);
      assert.equal(row!.savedMicros, row!.allStrongMicros - row!.actualMicros);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
