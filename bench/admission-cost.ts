// `npm run bench:admission`: the per-request CPU cost of auth + limits + ledger in process (SPEC
// PERF, issue 5): a cached key lookup with its principal chain, one atomic reserve over org,
// team, user and key (rpm, token and concurrency limits, daily and monthly budgets) plus a
// deployment lane level, the settle, and building and queueing the ledger record. No HTTP, no
// upstream: the end-to-end overhead next to the bare proxy is `npm run bench`.
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/core/clock.js';
import type { CanonicalRequest } from '../src/core/types.js';
import { configSchema } from '../src/config/schema.js';
import type { RequestContext } from '../src/gateway/gateway.js';
import { LedgerWriter } from '../src/gateway/ledger-writer.js';
import { buildRequestRecord } from '../src/gateway/request-ledger.js';
import type { PricedCandidate, ResolvedRoute } from '../src/gateway/route-resolver.js';
import { createMemoryStores } from '../src/store/memory-stores.js';
import { Admission } from '../src/tenancy/admission.js';
import { createKeyService } from '../src/tenancy/key-service.js';
import { LaneGate } from '../src/tenancy/lane-gate.js';
import { MemoryLimitStore } from '../src/tenancy/memory-limit-store.js';
import { PrincipalDirectory } from '../src/tenancy/principal-chain.js';
import { PrincipalService } from '../src/tenancy/principal-service.js';
import { loadTokenizer } from '../src/tenancy/token-estimator.js';

const ROUNDS = Number(process.env.BENCH_ADMISSION_ROUNDS ?? 200_000);
const big = { rpm: 1e9, inputTpm: 1e12, outputTpm: 1e12, concurrency: 1e6 };
const budgets = { dailyUsd: 1e9, monthlyUsd: 1e9 };

async function setUp(limited: boolean) {
  const stores = createMemoryStores();
  const keys = createKeyService({ store: stores.keys, pepper: Buffer.from('bench-pepper-0123456789abcdef'), clock: systemClock });
  const principals = new PrincipalService({ stores, keys, clock: systemClock });
  const policy = limited ? { limits: big, budgets } : {};
  const org = await principals.create('org', { name: 'o', ...policy }, 'bench');
  const team = await principals.create('team', { name: 't', orgId: org.id, ...policy }, 'bench');
  const user = await principals.create('user', { name: 'u', teamId: team.id, ...policy }, 'bench');
  const { key } = await principals.createKey({ name: 'k', userId: user.id, ...policy }, 'bench');
  const config = configSchema.parse(limited ? { lanes: { capacity: { 'sim/sim-fast': { concurrency: 1_000_000, rpm: 1e9 } } } } : {});
  const directory = new PrincipalDirectory(stores.principals, systemClock, { ttlMs: 60_000, softThreshold: 0.8 });
  const admission = new Admission({ limits: new MemoryLimitStore(), directory, lanes: new LaneGate(config.lanes, systemClock), clock: systemClock, tenancy: config.tenancy });
  const ledger = new LedgerWriter({ appendRequests: async () => {}, getRequest: async () => undefined, listRequests: async () => [], usage: async () => [] }, { maxBatch: 500 });
  const authenticate = async (presented: string) => {
    const record = await keys.authenticate(presented);
    return record && directory.resolve(record);
  };
  return { key, admission, ledger, authenticate };
}

const candidate = { deployment: 'sim/sim-fast', provider: 'sim', price: () => ({ costMicros: 42, priceMissing: false }) } as unknown as PricedCandidate;
const route = { model: 'sim-fast', candidates: [candidate], deadlineMs: 600_000 } as unknown as ResolvedRoute;
const request: CanonicalRequest = { model: 'sim-fast', stream: false, maxTokens: 256, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the following paragraph in one sentence: '.repeat(8) }] }] };

async function measure(limited: boolean): Promise<number> {
  const { key, admission, ledger, authenticate } = await setUp(limited);
  const signal = new AbortController().signal;
  const one = async () => {
    const record = (await authenticate(key))!;
    const ctx: RequestContext = { requestId: 'req_x', key: record, dialect: 'openai-chat', endpoint: '/v1/chat/completions', signal, receivedAt: performance.now(), receivedAtMs: Date.now() };
    await admission.admit(ctx, route, request);
    const entry = buildRequestRecord(ctx, { model: 'sim-fast', stream: false, candidate, attempts: 1, status: 200, usage: { inputTokens: 120, outputTokens: 40 } });
    admission.settle(ctx, entry);
    ledger.record(entry);
  };
  for (let i = 0; i < 20_000; i++) await one();
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await one();
  const perRequestUs = ((performance.now() - start) * 1000) / ROUNDS;
  await ledger.close();
  return perRequestUs;
}

await loadTokenizer();
const bare = await measure(false);
const limited = await measure(true);
process.stdout.write(
  `auth + admission + ledger, per request (${ROUNDS} rounds, tokenizer loaded):\n` +
    `  no limits anywhere:                         ${bare.toFixed(2)} µs\n` +
    `  org+team+user+key limits and budgets + lane: ${limited.toFixed(2)} µs\n`,
);
