import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { defineAgent } from '../src/runs/define-agent.js';
import { createSimWorld } from '../src/simulation/create-sim-world.js';
import type { GatewayModelInput } from '../src/simulation/scenario-schema.js';
import { CLI, cleanEnv } from './helpers/cli-process.js';
import { startSimBackedGateway, type SimBackedGateway } from './helpers/sim-backed-gateway.js';

// Scenarios whose model calls leave the sandbox: a real gateway over HTTP, fronting `sim serve` as
// an openai-compatible provider — the path a real OpenAI or Anthropic deployment takes.
const SCENARIOS = resolve('examples/scenarios');
const OUTREACH = join(SCENARIOS, 'outreach-cap.yaml');
const REFUND = join(SCENARIOS, 'refund-once.yaml');
let up: SimBackedGateway;
let gateway: GatewayModelInput;
const roots: string[] = [];

before(async () => {
  up = await startSimBackedGateway({
    seed: 7,
    timeScale: 0,
    // One upstream attempt per call, so the journal counts exactly the faults the sandbox asked for.
    configYaml: (simUrl) =>
      `providers:\n  simup: { kind: openai-compatible, baseUrl: ${simUrl}/v1, models: [sim-fast] }\nmodels:\n  sim-fast: simup/sim-fast\nroutes:\n  defaults:\n    retry: { maxAttempts: 1 }\n`,
  });
  gateway = { baseUrl: up.gateway.url, apiKey: up.gateway.key, model: 'sim-fast' };
});
after(async () => {
  await up.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bw-simgw-test-'));
  roots.push(dir);
  return dir;
}

/** `breakwater sim run` as a child process; asynchronous, since the gateway it calls runs in this one. */
async function sim(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'sim', 'run', ...args], { env: cleanEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

test('outreach through the gateway: the 429s reach sim serve per trial, the keyed agent holds, the positional one resends', { timeout: 60_000 }, async () => {
  up.clearJournal();
  const good = await createSimWorld(OUTREACH, { gateway }).run(2);
  assert.equal(good.passed, 2, JSON.stringify(good.results));
  assert.ok(good.results.every((r) => r.costMicros > 0 && r.steps > 0), 'cost and steps from the gateway usage');
  const faulted = up.journal().filter((entry) => entry.faults.length > 0);
  assert.deepEqual(faulted.map((entry) => [entry.model, entry.faults, entry.status]), Array(4).fill(['sim-fast', ['429:retry-after-ms=50'], 429]), 'two 429s per trial, counted by the sandbox');
  assert.match(good.notes.join('\n'), /x-sim-fault.*fire only where the gateway's upstream is simulated/);

  const broken = await createSimWorld(OUTREACH, { gateway, export: 'outreachBroken' }).run(1);
  assert.equal(broken.passed, 0);
  assert.equal(broken.failureClasses.agent, 1);
  assert.match(broken.results[0]!.failures.join('\n'), /expected at most 3 × email\.send, ledger has 5/);
});

test('a seed replays exactly against a sim upstream', { timeout: 60_000 }, async () => {
  const first = await createSimWorld(OUTREACH, { gateway, seed: 5 }).run(1);
  const second = await createSimWorld(OUTREACH, { gateway, seed: 5 }).run(1);
  assert.deepEqual(second.results, first.results);
});

test('refund through the gateway: one refund although worker processes are SIGKILLed; the apology is the gateway model\'s text', { timeout: 60_000 }, async () => {
  // The example pins the apology with a scripted turn, which only the in-process sim can play;
  // against a gateway the upstream writes it, so this copy checks the text arrived instead.
  const file = join(tempDir(), 'refund-gateway.yaml');
  const yaml = readFileSync(REFUND, 'utf8')
    .replace('agents/refund-agent.mjs', join(SCENARIOS, 'agents/refund-agent.mjs'))
    .replace(/count: 1, expect: \{ body: "[^"]*" \}/, 'count: 1');
  writeFileSync(file, yaml);
  up.clearJournal();
  const good = await createSimWorld(file, { gateway }).run(1);
  assert.equal(good.passed, 1, JSON.stringify(good.results));
  assert.equal(good.workerKills, 1);
  assert.match(good.notes.join('\n'), /model\.script \(1 turn\(s\)\) not applied/);
  assert.deepEqual(up.journal().map((entry) => [entry.model, entry.status]), [['sim-fast', 200]], 'sim serve wrote the apology once; the replacement worker replayed it from the checkpoint');

  const broken = await createSimWorld(file, { gateway, export: 'refundBroken' }).run(1);
  assert.equal(broken.passed, 0);
  assert.match(broken.results[0]!.failures.join('\n'), /expected exactly 1 × payment\.refund where \{"orderId":"A-1042"\}, ledger has 2/);
});

test('the model offers tools over the wire and the agent acts on the call the gateway returns', { timeout: 30_000 }, async () => {
  const agent = defineAgent({
    name: 'notify',
    async run(ctx) {
      const tools = [{ name: 'send_email', parameters: { type: 'object', properties: { to: { type: 'string', enum: ['ada@example.com'] } }, required: ['to'] } }];
      const answer = await ctx.llm({ model: 'anything-the-agent-names', messages: [{ role: 'user', content: 'Tell Ada her order shipped.' }], tools });
      for (const call of answer.toolCalls) await ctx.tool('email.send', { to: (JSON.parse(call.arguments) as { to: string }).to, subject: 'Shipped', body: 'Your order shipped.' });
      return { calls: answer.toolCalls.length, servedBy: answer.servedBy };
    },
  });
  const scenario = { name: 'notify', agent: { module: 'unused.mjs' }, tools: { enabled: ['email.send'] }, assertions: { effects: [{ tool: 'email.send', where: { to: 'ada@example.com' }, exactly: 1 }] } };
  const report = await createSimWorld(scenario, { agent, gateway }).run(1);
  assert.equal(report.passed, 1, JSON.stringify(report.results));
});

test('a gateway that goes away mid-episode is an infrastructure failure, not the agent\'s', { timeout: 30_000 }, async () => {
  // Answers the pre-flight check, then stops listening: the episode's model call is refused.
  const vanishing = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ object: 'list', data: [{ id: 'sim-fast', object: 'model' }] }));
    vanishing.close();
  });
  await new Promise<void>((done) => vanishing.listen(0, '127.0.0.1', done));
  const { port } = vanishing.address() as { port: number };
  const agent = defineAgent({ name: 'ask', run: async (ctx) => (await ctx.llm({ model: 'sim-fast', messages: [{ role: 'user', content: 'Hi' }] })).text });
  const scenario = { name: 'ask', agent: { module: 'unused.mjs' } };
  const trial = await createSimWorld(scenario, { agent, gateway: { baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k', model: 'sim-fast' } }).trial();
  assert.equal(trial.failureClass, 'infrastructure', JSON.stringify(trial));
  assert.match(trial.failures.join('\n'), /the gateway became unreachable mid-episode \(connection_refused\)/);
});

test('sim run --gateway: flags, the key from a variable, and the gateway\'s failures classed as infrastructure', { timeout: 60_000 }, async () => {
  const ok = await sim([OUTREACH, '--trials', '1', '--gateway', up.gateway.url, '--model', 'sim-fast', '--json'], { BREAKWATER_API_KEY: up.gateway.key });
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { scenarios: Array<{ passed: number; notes: string[] }> };
  assert.equal(report.scenarios[0]!.passed, 1);
  assert.match(report.scenarios[0]!.notes[0]!, /through the gateway at http:\/\/127\.0\.0\.1:\d+ as "sim-fast"/);
  assert.ok(!ok.stdout.includes(up.gateway.key) && !ok.stderr.includes(up.gateway.key), 'the key is never printed');

  const down = await sim([OUTREACH, '--trials', '1', '--gateway', `http://127.0.0.1:${await closedPort()}`, '--model', 'sim-fast'], { BREAKWATER_API_KEY: up.gateway.key });
  assert.equal(down.status, 1, down.stderr);
  assert.match(down.stdout, /failures: agent 0, infrastructure 1/);
  assert.match(down.stdout, /trial 1 \(seed \d+, infrastructure\):\n\s+cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

  const badKey = await sim([OUTREACH, '--trials', '1', '--gateway', up.gateway.url, '--model', 'sim-fast', '--gateway-key-env', 'MY_GW_KEY'], { MY_GW_KEY: 'bw_not-a-real-key' });
  assert.equal(badKey.status, 1);
  assert.match(badKey.stdout, /infrastructure 1[\s\S]*rejected the key \(401 invalid_api_key\)/);
  assert.ok(!badKey.stdout.includes('bw_not-a-real-key'));

  const unknownModel = await sim([OUTREACH, '--trials', '1', '--gateway', up.gateway.url, '--model', 'gpt-9'], { BREAKWATER_API_KEY: up.gateway.key });
  assert.match(unknownModel.stdout, /infrastructure 1[\s\S]*does not serve model "gpt-9" \(it serves: .*sim-fast/);

  const noKey = await sim([OUTREACH, '--gateway', up.gateway.url, '--model', 'sim-fast']);
  assert.equal(noKey.status, 2);
  assert.match(noKey.stderr, /--gateway needs a key: environment variable BREAKWATER_API_KEY is not set — fix: export BREAKWATER_API_KEY=/);
  const badUrl = await sim([OUTREACH, '--gateway', 'localhost:8400', '--model', 'sim-fast'], { BREAKWATER_API_KEY: 'k' });
  assert.equal(badUrl.status, 2);
  assert.match(badUrl.stderr, /--gateway: an http\(s\) URL of a running gateway/);
  assert.match((await sim([OUTREACH, '--gateway', up.gateway.url], { BREAKWATER_API_KEY: 'k' })).stderr, /--gateway needs --model/);
});

test('model.gateway in the scenario file: the key by ${VAR}, an unset variable is reported with file and line', { timeout: 30_000 }, async () => {
  const file = join(tempDir(), 'outreach-gateway.yaml');
  const yaml = readFileSync(OUTREACH, 'utf8')
    .replace('agents/outreach-agent.mjs', join(SCENARIOS, 'agents/outreach-agent.mjs'))
    .replace('{ file: fixtures/', `{ file: ${SCENARIOS}/fixtures/`)
    .replace('  maxAttempts: 1\n', '  maxAttempts: 1\n  gateway: { baseUrl: "${GW_URL}", apiKey: "${GW_KEY}", model: sim-fast }\n');
  writeFileSync(file, yaml);
  const ok = await sim([file, '--trials', '1'], { GW_URL: up.gateway.url, GW_KEY: up.gateway.key });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^PASS outreach-cap/m);
  assert.match(ok.stdout, /note: model calls go through the gateway/);
  const unset = await sim([file, '--trials', '1'], { GW_URL: up.gateway.url });
  assert.equal(unset.status, 2);
  assert.match(unset.stderr, /outreach-gateway\.yaml:\d+:\d+ model\.gateway\.apiKey: environment variable GW_KEY is not set/);
});

test('the gateway passes a sub-second Retry-After on as retry-after-ms, so the sandbox behind it waits no longer', async () => {
  const response = await fetch(`${up.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${up.gateway.key}`, 'content-type': 'application/json', 'x-sim-fault': '429:retry-after-ms=50' },
    body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'Hi' }] }),
  });
  await response.arrayBuffer();
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('retry-after'), '1');
  assert.equal(response.headers.get('retry-after-ms'), '50');
});
