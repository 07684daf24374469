import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { computeCostMicros, PRICE_TABLE } from '../src/config/prices.js';
import { estimateTokens, requestCharacters } from '../src/core/usage-estimate.js';
import { openAIChatCodec } from '../src/server/chat-codecs.js';
import { RESERVE_SCRIPT } from '../src/shared/limit-scripts.js';
import { connectRedis } from '../src/shared/redis-connection.js';
import { estimateInputTokens, loadTokenizer } from '../src/tenancy/token-estimator.js';
import { complete, createKeyRecord, startReplicas, type ReplicaSet } from './helpers/replicas.js';
import { openRedisGate, type HeldBurst, type RedisGate } from './helpers/redis-gate.js';
import { REDIS_URL, servicesMissing } from './helpers/services.js';

const skip = await servicesMissing();

const BURST = 1_000;
// A prompt the simulator answers at length, so every answer uses all of its max_tokens.
const STORY = { messages: [{ role: 'user', content: 'Tell me a long story about a lighthouse' }], max_tokens: 50 };

/** The key's ledger totals once all `requests` records landed (the ledger writes in batches). */
async function keyUsage(url: string, adminKey: string, id: string, requests: number): Promise<{ requests: number; output_tokens: number; cost_usd: number }> {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${url}/admin/usage?group_by=key&since=1h`, { headers: { authorization: `Bearer ${adminKey}` } });
    const lines = ((await response.json()) as { data: Array<{ key: string; requests: number; output_tokens: number; cost_usd: number }> }).data;
    const line = lines.find((each) => each.key === id);
    if (line && line.requests >= requests) return line;
    await delay(50);
  }
  throw new Error(`the ledger never showed ${requests} requests for key ${id}`);
}

/** What a burst's decisions took on the Redis clock, for the assertion messages. */
const spanOf = (burst: HeldBurst) =>
  `${burst.decisions.length} decisions within ${Math.max(...burst.decisions) - Math.min(...burst.decisions)} ms of Redis time, all ${BURST} calls at the gate after ${burst.arrivalMs.toFixed(0)} ms`;

describe('three replicas on one Redis keep limits exact (SPEC PERF-5, MT-12)', { skip }, () => {
  let gate: RedisGate;
  let set: ReplicaSet;
  let urls: string[];
  before(async () => {
    // The gate sees the reserve script by its SHA: it must be loaded, or the first burst would be
    // NOSCRIPT answers and EVAL retries instead.
    const redis = await connectRedis(REDIS_URL);
    await redis.send(['SCRIPT', 'LOAD', RESERVE_SCRIPT.source]);
    await redis.close();
    gate = await openRedisGate(REDIS_URL);
    set = await startReplicas(3, { redisUrl: gate.url });
    urls = set.replicas.map((replica) => replica.ready.url);
  });
  after(async () => {
    await set?.close();
    await gate?.close();
  });

  /**
   * Sends BURST concurrent requests spread over the replicas with the gate holding their reserve
   * calls until all have arrived. GCRA refills one request per emission interval (600 ms at 100
   * RPM): on a loaded 2-core box three gateways take 0.4–2 s to bring 1,000 requests to their
   * admission call, so without the gate a burst is really a ramp and admits one more per 600 ms.
   * Released together, Redis decides all of them in tens of milliseconds.
   */
  async function burst(key: string, body: Record<string, unknown> = {}): Promise<{ statuses: number[]; held: HeldBurst }> {
    // Every replica must know the key before the burst; an unlimited route warms the caches.
    for (const url of urls) assert.equal((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    const held = gate.hold(RESERVE_SCRIPT.sha, BURST);
    const statuses = await Promise.all(Array.from({ length: BURST }, (_, i) => complete(urls[i % urls.length]!, key, body)));
    return { statuses, held: await held };
  }

  it('1,000 concurrent requests spread over three replicas against 100 RPM: exactly 100 admitted, the rest 429', async () => {
    const { key } = await createKeyRecord(urls[0]!, set.adminKey, { name: 'perf-5', limits: { rpm: 100 } });
    const { statuses, held } = await burst(key);
    const admitted = statuses.filter((status) => status === 200).length;
    const refused = statuses.filter((status) => status === 429).length;
    assert.equal(admitted + refused, BURST, `only 200 and 429 expected, got ${[...new Set(statuses)].join(',')}`);
    assert.equal(admitted, 100, spanOf(held));
    process.stderr.write(`PERF-5 rpm: ${admitted} admitted of ${BURST}; ${spanOf(held)}\n`);
  });

  it('output TPM: 1,000 concurrent requests overshoot the limit by at most one reservation', async () => {
    const limit = 5_000;
    const { key, id } = await createKeyRecord(urls[0]!, set.adminKey, { name: 'perf-5-tpm', limits: { outputTpm: limit } });
    const { statuses, held } = await burst(key, STORY);
    const admitted = statuses.filter((status) => status === 200).length;
    assert.equal(admitted + statuses.filter((status) => status === 429).length, BURST, `statuses: ${[...new Set(statuses)].join(',')}`);
    const used = (await keyUsage(urls[0]!, set.adminKey, id, BURST)).output_tokens;
    assert.equal(used, admitted * STORY.max_tokens, 'every answer used its whole reservation');
    assert.ok(used <= limit + STORY.max_tokens && used > limit - STORY.max_tokens, `${used} output tokens against ${limit} per minute; ${spanOf(held)}`);
    process.stderr.write(`PERF-5 tpm: ${used} output tokens of ${limit} (${admitted} admitted); ${spanOf(held)}\n`);
  });

  it('a daily budget hit by 1,000 concurrent requests is exceeded by at most one reservation', async () => {
    // The reservation as a replica computes it: estimated prompt (exact count, or 4 characters per
    // token before its tokenizer loaded) plus max_tokens, at sim-fast's prices.
    await loadTokenizer();
    const request = openAIChatCodec.parseRequest({ model: 'sim-fast', ...STORY });
    const prompt = Math.max(estimateInputTokens(request), estimateTokens(requestCharacters(request)) + request.messages.length * 4);
    const reservation = computeCostMicros({ inputTokens: prompt, outputTokens: STORY.max_tokens }, PRICE_TABLE.sim['sim-fast']).costMicros;
    const cap = 100 * reservation;
    const { key, id } = await createKeyRecord(urls[0]!, set.adminKey, { name: 'perf-5-budget', budgets: { dailyUsd: cap / 1e6 } });
    // No gate: settles (committing actual cost) race the later reserves, as in production.
    for (const url of urls) assert.equal((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    const statuses = await Promise.all(Array.from({ length: BURST }, (_, i) => complete(urls[i % urls.length]!, key, STORY)));
    const admitted = statuses.filter((status) => status === 200).length;
    assert.equal(admitted + statuses.filter((status) => status === 402).length, BURST, `statuses: ${[...new Set(statuses)].join(',')}`);
    const spent = Math.round((await keyUsage(urls[0]!, set.adminKey, id, BURST)).cost_usd * 1e6);
    assert.ok(spent <= cap + reservation && spent > cap - 2 * reservation, `spent ${spent} µUSD against a cap of ${cap} (one reservation ${reservation}); ${admitted} admitted`);
    process.stderr.write(`PERF-5 budget: spent ${spent} µUSD of ${cap} (reservation ${reservation}, ${admitted} admitted)\n`);
  });

  it('/readyz reports Redis up on every replica', async () => {
    for (const url of urls) {
      const response = await fetch(`${url}/readyz`);
      const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
      assert.equal(response.status, 200);
      assert.deepEqual(body.checks.redis, { ok: true });
    }
  });
});
