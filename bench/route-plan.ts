// `npm run bench:route-plan`: route planning time with 50 rules (SPEC PERF-8: ≤ 0.2 ms p99). The
// request matches only the last rule, so every rule's conditions run; the last rule is a `targets`
// rule (no complexity score), which isolates rule matching; a second pass ends on a complexity rule.
import { performance } from 'node:perf_hooks';
import { createSeededRandom, systemClock } from '../src/core/clock.js';
import type { CanonicalRequest } from '../src/core/types.js';
import { configSchema } from '../src/config/schema.js';
import { createRouteResolver, type PricedCandidate } from '../src/gateway/route-resolver.js';
import { passThroughPolicy } from '../src/core/attempt-loop.js';
import { createRoutePlanner } from '../src/routing/route-planner.js';
import { DeploymentStats } from '../src/routing/deployment-stats.js';
import { printTable } from '../src/cli/output.js';

const ROUNDS = Number(process.env.BENCH_PLAN_ROUNDS ?? 200_000);

function rules(last: Record<string, unknown>) {
  const list: Record<string, unknown>[] = [];
  for (let i = 0; i < 49; i++) {
    const match = [
      { model: `m${i}`, tools: true },
      { org: [`org-${i}`], tags: { env: 'prod' } },
      { team: `team-${i}`, promptTokens: { min: 10_000 } },
      { responseFormat: ['json_schema'], messages: { min: 40 } },
    ][i % 4];
    list.push({ id: `r${i}`, match, targets: ['fast'], strategy: i % 2 ? 'weighted' : 'ordered' });
  }
  list.push({ id: 'last', match: { model: 'auto', tags: { team: 'x' } }, ...last });
  return list;
}

function measure(label: string, last: Record<string, unknown>, request: CanonicalRequest) {
  const config = configSchema.parse({
    providers: { sim: { kind: 'sim' } },
    models: { fast: 'sim/sim-fast', smart: 'sim/sim-smart' },
    routes: { rules: rules(last) },
  });
  const adapter = { id: 'sim' } as never;
  const resolver = createRouteResolver(config, { adapter: () => adapter, droppedParams: () => [], close: async () => {} }, () => passThroughPolicy<PricedCandidate>());
  const planner = createRoutePlanner({ rules: config.routes.rules, resolver, stats: new DeploymentStats(systemClock), random: createSeededRandom(1), available: () => true });
  const key = { orgId: 'acme', teamId: 'core' };
  const tags = { env: 'dev', team: 'x' };
  for (let i = 0; i < 20_000; i++) planner.plan(request, key as never, tags);
  const samples = new Float64Array(ROUNDS);
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    planner.plan(request, key as never, tags);
    samples[i] = performance.now() - start;
  }
  samples.sort();
  const at = (q: number) => samples[Math.min(ROUNDS - 1, Math.floor(q * ROUNDS))]! * 1000;
  return { plan: label, rules: 50, calls: ROUNDS, p50_us: at(0.5).toFixed(2), p99_us: at(0.99).toFixed(2), p999_us: at(0.999).toFixed(2) };
}

const request: CanonicalRequest = {
  model: 'auto',
  stream: false,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'A train leaves at 3 pm travelling 60 km/h; another leaves an hour later at 80 km/h. When does the second catch up?' }] }],
};
const rows = [
  measure('50th rule: targets (weighted)', { targets: ['fast', 'smart'], strategy: 'weighted' }, request),
  measure('50th rule: complexity', { complexity: { weak: 'fast', strong: 'smart' } }, request),
];
printTable(rows, ['plan', 'rules', 'calls', 'p50_us', 'p99_us', 'p999_us']);
