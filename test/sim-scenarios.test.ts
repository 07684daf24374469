import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { createSimWorld } from '../src/simulation/create-sim-world.js';
import { passAtK, wilson } from '../src/simulation/sim-report.js';
import { CLI, cleanEnv } from './helpers/cli-process.js';

// The three example scenarios of SPEC SIM-17 with sim models, a few trials each, and a broken agent
// variant of each that must fail with a report naming what went wrong.
const SCENARIOS = resolve('examples/scenarios');
const REFUND = join(SCENARIOS, 'refund-once.yaml');
const OUTREACH = join(SCENARIOS, 'outreach-cap.yaml');
const CLEANUP = join(SCENARIOS, 'cleanup-filter.yaml');
const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bw-sim-test-'));
  roots.push(dir);
  return dir;
}

function sim(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'sim', ...args], { env: cleanEnv({}), encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('refund: exactly one refund although the worker is SIGKILLed right after it; the clock-keyed variant refunds twice', { timeout: 60_000 }, async () => {
  const good = await createSimWorld(REFUND).run(2);
  assert.equal(good.passed, 2, JSON.stringify(good.results));
  assert.equal(good.workerKills, 2, 'each trial killed its worker after the refund');
  const broken = await createSimWorld(REFUND, { export: 'refundBroken' }).run(1);
  assert.equal(broken.passed, 0);
  assert.equal(broken.failureClasses.agent, 1);
  assert.match(broken.results[0]!.failures.join('\n'), /expected exactly 1 × payment\.refund where \{"orderId":"A-1042"\}, ledger has 2/);
});

test('outreach: at most one email per opted-in lead under two 429s and batch retries; positional keys resend', { timeout: 30_000 }, async () => {
  const good = await createSimWorld(OUTREACH).run(3);
  assert.equal(good.passed, 3, JSON.stringify(good.results));
  assert.equal(good.meanEffects, 3);
  const broken = await createSimWorld(OUTREACH, { export: 'outreachBroken' }).run(2);
  assert.equal(broken.passed, 0);
  const failures = broken.results[0]!.failures.join('\n');
  assert.match(failures, /expected at most 3 × email\.send, ledger has 5/);
  assert.match(failures, /to not unique: "ada@example\.com" × 3/);
});

test('clean-up: nothing outside the filter is touched despite a stale listing; the trusting variant deletes r4', { timeout: 30_000 }, async () => {
  const good = await createSimWorld(CLEANUP).run(3);
  assert.equal(good.passed, 3, JSON.stringify(good.results));
  const broken = await createSimWorld(CLEANUP, { export: 'cleanupBroken' }).run(1);
  assert.equal(broken.passed, 0);
  assert.match(broken.results[0]!.failures.join('\n'), /collateral damage: records\/r4 deleted but it did not match \{"status":"expired"\}/);
});

test('fake tools honour idempotency keys and ledger every mutating call; reset restores the fixtures', async () => {
  const world = createSimWorld(CLEANUP);
  const context = { runId: 'run_1', stepKey: '1:records.delete', idempotencyKey: 'run_1:1:records.delete', attempt: 1, signal: new AbortController().signal };
  const first = await world.tools['records.delete']!({ collection: 'records', id: 'r1' }, context);
  const again = await world.tools['records.delete']!({ collection: 'records', id: 'r1' }, context);
  assert.deepEqual(again, first, 'a repeated key gets the first answer');
  assert.deepEqual(world.ledger().map((e) => [e.tool, e.outcome, e.runId, e.step, e.idempotencyKey]), [
    ['records.delete', 'performed', 'run_1', '1:records.delete', 'run_1:1:records.delete'],
    ['records.delete', 'repeated', 'run_1', '1:records.delete', 'run_1:1:records.delete'],
  ]);
  const stale = (await world.tools['records.list']!({ collection: 'records', where: { status: 'expired' } }, context)) as Array<{ id: string }>;
  assert.deepEqual(stale.map((r) => r.id), ['r3', 'r4'], 'the stale fault shows r4 as expired');
  await assert.rejects(async () => world.tools['records.delete']!({ collection: 'records', id: 'r4', ifMatch: { status: 'expired' } }, { ...context, idempotencyKey: 'k2' }), /no longer matches/);
  assert.equal(world.collection('records').length, 4);
  world.reset();
  assert.equal(world.collection('records').length, 5);
  assert.deepEqual(world.ledger(), []);
  world.close();
});

test('pass^k is C(c,k)/C(n,k) with a Wilson interval', () => {
  assert.deepEqual(passAtK(6, 8, 3).map((p) => Number(p.value.toFixed(4))), [0.75, 0.5357, 0.3571]);
  const { low, high } = wilson(8, 8);
  assert.ok(low > 0.67 && low < 0.68 && high === 1, `${low} ${high}`);
});

test('sim run: text, JSON and JUnit reports, exit 1 below thresholds, and a seed replays exactly', { timeout: 60_000 }, () => {
  const dir = tempDir();
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, readFileSync(CLEANUP, 'utf8').replace('agents/cleanup-agent.mjs', join(SCENARIOS, 'agents/cleanup-agent.mjs')).replace('export: cleanupAgent', 'export: cleanupBroken').replace('{ file: fixtures/', `{ file: ${SCENARIOS}/fixtures/`));
  const junit = join(dir, 'report.xml');
  const failed = sim(['run', OUTREACH, broken, '--trials', '2', '--seed', '7', '--junit', junit]);
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stdout, /^PASS outreach-cap .*2\/2 trials passed/m);
  assert.match(failed.stdout, /^FAIL cleanup-filter .*0\/2 trials passed/m);
  assert.match(failed.stdout, /pass\^1 0\.00 \[0\.00, 0\.66\]\s+pass\^2 0\.00/);
  assert.match(failed.stdout, /below threshold: pass\^1 0\.00 < 1/);
  const xml = readFileSync(junit, 'utf8');
  assert.match(xml, /<testsuite name="cleanup-filter" tests="2" failures="2">/);
  assert.match(xml, /<failure type="agent" message="expected 3 × records, found 2">/);

  const first = sim(['run', OUTREACH, '--trials', '3', '--seed', '42', '--json']);
  const second = sim(['run', OUTREACH, '--trials', '3', '--seed', '42', '--json']);
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(JSON.parse(second.stdout), JSON.parse(first.stdout), 'the same seed gives the same report');
  const report = JSON.parse(first.stdout) as { scenarios: Array<{ passK: unknown[]; results: Array<{ seed: number; steps: number; costMicros: number }> }> };
  assert.equal(report.scenarios[0]!.passK.length, 3);
  assert.ok(report.scenarios[0]!.results.every((r) => r.steps > 0 && r.costMicros > 0));
});

test('a scenario mistake is reported with file, line, path and fix', () => {
  const dir = tempDir();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: bad\nagent:\n  module: x.mjs\nassertions:\n  effects:\n    - { tool: email.send, atMots: 3 }\ntrials: 0\n');
  const result = sim(['run', file]);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /bad\.yaml:6:\d+.*unknown key "atMots"[\s\S]*rename it to "atMost"/);
  assert.match(result.stderr, /bad\.yaml:7:\d+/);
});
