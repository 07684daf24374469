// `npm run bench:router`: decision latency of the complexity router (SPEC RT-2, PERF-8): the time
// scoreRequest takes on a canonical request, measured per call over the development prompts (or
// generated ones when ../shared is absent). Prints a table; writes bench/results/router-*.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CanonicalRequest } from '../src/core/types.js';
import { printTable } from '../src/cli/output.js';
import { loadComplexityModel, scoreRequest } from '../src/routing/complexity-router.js';
import { readPromptRows } from '../src/routing/routing-data.js';
import { REPO_ROOT } from './bench-child.js';
import { machineFacts } from './machine-facts.js';
import { summarize } from './stats.js';

const DATA = resolve(REPO_ROOT, '../shared/data/routing/routellm-dev.jsonl');
const ROUNDS = Number(process.env.BENCH_ROUTER_ROUNDS ?? 5);

function generatedPrompts(): string[] {
  const prompts: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const words = Array.from({ length: 10 + (i % 300) }, (_, j) => ['apples', 'costs', `${(i * j) % 97}`, 'each', 'total', 'the', 'enzyme'][j % 7]);
    prompts.push(i % 2 ? `${words.join(' ')}?\nA. one\nB. two\nC. three\nD. four\nAnswer:` : `${words.join(' ')}. How many are left?`);
  }
  return prompts;
}

function request(prompt: string): CanonicalRequest {
  return { model: 'auto', stream: false, messages: [{ role: 'system', content: [{ type: 'text', text: 'Be brief.' }] }, { role: 'user', content: [{ type: 'text', text: prompt }] }] };
}

const source = existsSync(DATA) ? DATA : 'generated prompts (../shared absent)';
const prompts = existsSync(DATA) ? readPromptRows(DATA).map((row) => row.prompt) : generatedPrompts();
const requests = prompts.map(request);

const loadStart = performance.now();
loadComplexityModel();
const loadMs = performance.now() - loadStart;

// Warm-up: let V8 optimise the scorer before any sample counts.
for (const r of requests) scoreRequest(r);

const samples = new Float64Array(requests.length * ROUNDS);
let sink = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < requests.length; i++) {
    const start = process.hrtime.bigint();
    sink += scoreRequest(requests[i]!);
    samples[round * requests.length + i] = Number(process.hrtime.bigint() - start) / 1000;
  }
}
if (!Number.isFinite(sink)) throw new Error('a score was not finite');
const summary = summarize(samples);
const results = {
  date: new Date().toISOString(),
  command: 'npm run bench:router',
  machine: machineFacts(REPO_ROOT),
  source,
  prompts: prompts.length,
  rounds: ROUNDS,
  modelLoadMs: Math.round(loadMs * 100) / 100,
  decisionMicros: Object.fromEntries(Object.entries(summary).map(([key, value]) => [key, key === 'count' ? value : Math.round(value * 100) / 100])),
};
printTable(
  [{ decisions: String(summary.count), 'p50 µs': summary.p50.toFixed(1), 'p90 µs': summary.p90.toFixed(1), 'p99 µs': summary.p99.toFixed(1), 'max µs': summary.max.toFixed(1), 'mean µs': summary.mean.toFixed(1), 'model load ms': loadMs.toFixed(1) }],
  ['decisions', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'mean µs', 'model load ms'],
);
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const json = JSON.stringify(results, null, 2) + '\n';
writeFileSync(join(dir, `router-${results.date.replace(/[:.]/g, '-')}.json`), json);
writeFileSync(join(dir, 'router-latest.json'), json);
process.stderr.write(`prompts: ${source}; results in bench/results/router-latest.json\n`);
