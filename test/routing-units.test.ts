import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSeededRandom, ManualClock } from '../src/core/clock.js';
import type { CanonicalRequest } from '../src/core/types.js';
import { configSchema } from '../src/config/schema.js';
import { balance, type BalancerDeps } from '../src/routing/balancer.js';
import { DeploymentStats } from '../src/routing/deployment-stats.js';
import { QualityGuard } from '../src/routing/quality-guard.js';
import { compileMatch } from '../src/routing/rule-matcher.js';
import { savingsReport } from '../src/routing/savings-report.js';
import type { RequestRecord } from '../src/store/interfaces.js';

const request = (over: Partial<CanonicalRequest> = {}): CanonicalRequest => ({ model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(400) }] }], stream: false, ...over });
const matches = (match: unknown, req: CanonicalRequest, key: { orgId?: string; teamId?: string } = {}, tags?: Record<string, string>) => {
  const parsed = configSchema.parse({ routes: { rules: [{ id: 'r', match, targets: ['sim-fast'] }] } }).routes.rules[0]!;
  return compileMatch(parsed.match)({ request: req, key, tags }, {});
};

describe('rule matching', () => {
  it('matches org, team, tags, prompt tokens, tools, response_format and message count on both sides of each bound', () => {
    assert.equal(matches({ org: 'acme' }, request(), { orgId: 'acme' }), true);
    assert.equal(matches({ org: 'acme' }, request(), {}), false);
    assert.equal(matches({ team: ['a', 'b'] }, request(), { teamId: 'b' }), true);
    assert.equal(matches({ tags: { env: 'prod' } }, request(), {}, { env: 'prod', x: '1' }), true);
    assert.equal(matches({ tags: { env: 'prod' } }, request(), {}, { env: 'dev' }), false);
    // 400 characters ≈ 100 tokens.
    assert.equal(matches({ promptTokens: { max: 100 } }, request()), true);
    assert.equal(matches({ promptTokens: { max: 99 } }, request()), false);
    assert.equal(matches({ promptTokens: { min: 101 } }, request()), false);
    assert.equal(matches({ tools: false }, request()), true);
    assert.equal(matches({ tools: true }, request({ tools: [{ name: 'f', parameters: {} }] })), true);
    assert.equal(matches({ responseFormat: true }, request({ responseFormat: { type: 'json_object' } })), true);
    assert.equal(matches({ responseFormat: true }, request({ responseFormat: { type: 'text' } })), false);
    assert.equal(matches({ responseFormat: ['text'] }, request()), true);
    assert.equal(matches({ messages: { min: 2 } }, request()), false);
    assert.equal(matches({ model: ['auto', 'x'], messages: { max: 1 } }, request()), true);
  });

  it('rejects a rule set with two actions, duplicate ids or shadow without tiers', () => {
    assert.equal(configSchema.safeParse({ routes: { rules: [{ id: 'r', targets: ['a'], cascade: ['a', 'b'] }] } }).success, false);
    assert.equal(configSchema.safeParse({ routes: { rules: [{ id: 'r', targets: ['a'] }, { id: 'r', targets: ['b'] }] } }).success, false);
    assert.equal(configSchema.safeParse({ routes: { rules: [{ id: 'r', targets: ['a'], shadow: { share: 0.1 } }] } }).success, false);
  });
});

const candidates = [
  { deployment: 'fast', weight: 1 },
  { deployment: 'slow', weight: 1 },
  { deployment: 'other', weight: 2 },
];

function deps(stats: DeploymentStats, open: Set<string> = new Set(), seed = 1): BalancerDeps {
  return { stats, random: createSeededRandom(seed), available: (c) => !open.has(c.deployment) };
}

describe('balancers', () => {
  it('least_inflight sends to the less busy of two and keeps the rest as fallbacks', () => {
    const stats = new DeploymentStats(new ManualClock(0));
    for (let i = 0; i < 5; i++) stats.begin('fast');
    const d = deps(stats);
    const two = candidates.slice(0, 2);
    for (let i = 0; i < 20; i++) assert.deepEqual(balance('least_inflight', two, 2, d).map((c) => c.deployment), ['slow', 'fast']);
  });

  it('latency sends ≥ 90 % to the 50 ms deployment over the 200 ms one, and moves away when it degrades', async () => {
    const clock = new ManualClock(1);
    const stats = new DeploymentStats(clock);
    stats.observe('fast', 50);
    stats.observe('slow', 200);
    const d = deps(stats);
    const two = candidates.slice(0, 2);
    let fast = 0;
    for (let i = 0; i < 100; i++) if (balance('latency', two, 2, d)[0]!.deployment === 'fast') fast++;
    assert.ok(fast >= 90, `${fast}`);
    await clock.advance(1000);
    stats.observe('fast', 800);
    assert.equal(balance('latency', two, 2, d)[0]!.deployment, 'slow');
    // A faster sample decays in with the half-life instead of replacing the peak.
    await clock.advance(10_000);
    stats.observe('fast', 50);
    assert.ok(Math.abs(stats.ttftMs('fast') - 425) < 1);
  });

  it('weighted follows the weights with a seeded random and never picks an open breaker', () => {
    const stats = new DeploymentStats(new ManualClock(0));
    const counts: Record<string, number> = {};
    const d = deps(stats, new Set(), 5);
    for (let i = 0; i < 4000; i++) {
      const first = balance('weighted', candidates, 3, d)[0]!.deployment;
      counts[first] = (counts[first] ?? 0) + 1;
    }
    assert.ok(Math.abs(counts.other! / 4000 - 0.5) < 0.03, JSON.stringify(counts));
    const closed = deps(stats, new Set(['other', 'fast']), 5);
    for (let i = 0; i < 50; i++) assert.equal(balance('weighted', candidates, 3, closed)[0]!.deployment, 'slow');
    // Open ones stay in the list as last resorts, in configured order.
    assert.deepEqual(balance('weighted', candidates, 3, closed).map((c) => c.deployment), ['slow', 'fast', 'other']);
  });
});

describe('spillover', () => {
  it('keeps the self-hosted target first until its in-flight count or TTFT reaches the threshold, then overflows', async () => {
    const clock = new ManualClock(1);
    const stats = new DeploymentStats(clock);
    const list = [
      { deployment: 'local', weight: 1 },
      { deployment: 'api', weight: 1 },
    ];
    const d = { ...deps(stats), spillover: { maxInFlight: 2, maxTtftMs: 500 } };
    const first = () => balance('spillover', list, 2, d)[0]!.deployment;
    stats.begin('local');
    assert.equal(first(), 'local');
    stats.begin('local');
    assert.deepEqual(balance('spillover', list, 2, d).map((c) => c.deployment), ['api', 'local']);
    stats.end('local');
    assert.equal(first(), 'local');
    stats.observe('local', 499);
    assert.equal(first(), 'local');
    await clock.advance(1);
    stats.observe('local', 500);
    assert.equal(first(), 'api');
  });

  it('needs its thresholds in config', () => {
    assert.equal(configSchema.safeParse({ routes: { rules: [{ id: 'r', targets: ['a', 'b'], strategy: 'spillover' }] } }).success, false);
    assert.equal(configSchema.safeParse({ routes: { rules: [{ id: 'r', targets: ['a', 'b'], strategy: 'spillover', spillover: { maxInFlight: 4 } }] } }).success, true);
  });
});

describe('quality guard', () => {
  it('alerts once when agreement over the window falls below the threshold, not before minSamples', () => {
    const guard = new QualityGuard('r', { share: 1, window: 10, minSamples: 5, minAgreement: 0.8, autoPin: true });
    for (let i = 0; i < 3; i++) assert.equal(guard.record('d', false), undefined);
    assert.equal(guard.record('d', true), undefined);
    const alert = guard.record('d', true);
    assert.equal(alert?.pinned, true);
    assert.equal(alert?.agreement, 0.4);
    assert.equal(guard.record('d', false), undefined);
  });
});

const record = (over: Partial<RequestRecord>): RequestRecord => ({
  id: 'r', createdAt: 0, keyId: 'k', dialect: 'openai', endpoint: '/v1/chat/completions', requestedModel: 'auto', status: 200, stream: false,
  inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, usageEstimated: false, costMicros: 0,
  priceMissing: false, attempts: 1, latencyMs: 1, ...over,
});

describe('savings report', () => {
  it('matches the hand calculation at $0.02 vs $0.00075 per 1K tokens', () => {
    // 3 weak-served requests of 1,000 tokens at $0.00075/1K = 750 micro-USD each; strong would be
    // $0.02/1K = 20,000 each. One escalated request paid the strong price. One shadow copy.
    const records = [
      record({ costMicros: 750, routeDecision: { rule: 'auto', servedTier: 0, strongCostMicros: 20_000 } }),
      record({ costMicros: 750, routeDecision: { rule: 'auto', servedTier: 0, strongCostMicros: 20_000 } }),
      record({ costMicros: 750, routeDecision: { rule: 'auto', servedTier: 0, strongCostMicros: 20_000 } }),
      record({ costMicros: 20_000, routeDecision: { rule: 'auto', servedTier: 1, strongCostMicros: 20_000 } }),
      record({ costMicros: 20_000, keyId: 'platform', routeDecision: { rule: 'auto', shadowOf: 'x', billedTo: 'platform', agreed: true } }),
      record({ costMicros: 999 }),
    ];
    const [row] = savingsReport(records);
    assert.equal(row!.requests, 4);
    assert.equal(row!.actualMicros, 22_250);
    assert.equal(row!.allStrongMicros, 80_000);
    assert.equal(row!.savedMicros, 57_750);
    assert.equal(row!.savedShare, 57_750 / 80_000);
    assert.equal(row!.escalationRate, 0.25);
    assert.equal(row!.shadowMicros, 20_000);
    assert.equal(row!.agreement, 1);
  });
});
