import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, cleanEnv, startCli } from './helpers/cli-process.js';

// tsc's output of the same sources, one file per module, so a test can see which ones load.
const UNBUNDLED_CLI = join(process.cwd(), 'dist/cli/main.js');
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bw-cli-'));
  dirs.push(dir);
  return dir;
}

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { env: cleanEnv(), cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('start prints keys once, serves a completion with them, and SIGTERM drains to exit 0 with the ledger written', async () => {
  const dataDir = tempDir();
  const first = await startCli(dataDir);
  assert.match(first.ready.virtualKey ?? '', /^bw_[A-Za-z0-9_-]{43}$/);
  assert.match(first.ready.adminKey ?? '', /^bwa_/);
  const res = await fetch(`${first.ready.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.ready.virtualKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(res.status, 200);
  const requestId = res.headers.get('x-breakwater-request-id');
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  const db = new Database(join(dataDir, 'breakwater.db'), { readonly: true });
  const row = db.prepare('select * from requests where id = ?').get(requestId) as { status: number } | undefined;
  db.close();
  assert.equal(row?.status, 200, 'the request reached the ledger before exit');

  const second = await startCli(dataDir);
  assert.equal(second.ready.virtualKey, undefined, 'keys are printed only on first start');
  const again = await fetch(`${second.ready.url}/v1/models`, { headers: { authorization: `Bearer ${first.ready.virtualKey}` } });
  assert.equal(again.status, 200, 'the first key still works after a restart');
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('keys create prints a working key once; revoke stops it', async () => {
  const dataDir = tempDir();
  const created = cli(['keys', 'create', '--name', 'ci', '--json', '--data-dir', dataDir], dataDir);
  assert.equal(created.status, 0, created.stderr);
  const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
  const listed = cli(['keys', 'list', '--json', '--data-dir', dataDir], dataDir);
  assert.ok(!listed.stdout.includes(key), 'list never shows the key itself');
  assert.ok(listed.stdout.includes(id));

  const server = await startCli(dataDir);
  const ok = await fetch(`${server.ready.url}/v1/models`, { headers: { 'x-api-key': key } });
  assert.equal(ok.status, 200);
  server.child.kill('SIGTERM');
  await server.exited;

  assert.equal(cli(['keys', 'revoke', id, '--data-dir', dataDir], dataDir).status, 0);
  const restarted = await startCli(dataDir);
  const refused = await fetch(`${restarted.ready.url}/v1/models`, { headers: { 'x-api-key': key } });
  assert.equal(refused.status, 401);
  restarted.child.kill('SIGTERM');
  await restarted.exited;
});

test('a bad config stops start with exit 2, naming file, line, path and a fix', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'breakwater.yaml'), 'server:\n  port: 8400\nproviders:\n  mine:\n    kind: openia\n');
  const result = cli(['start', '--config', join(dir, 'breakwater.yaml'), '--data-dir', dir], dir);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /breakwater\.yaml:5/);
  assert.match(result.stderr, /providers\.mine\.kind/);
  assert.match(result.stderr, /openai/);
});

test('every command has --help', () => {
  const dir = tempDir();
  for (const args of [[], ['start'], ['sim', 'serve'], ['keys'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['doctor'], ['config', 'check']]) {
    const result = cli([...args, '--help'], dir);
    assert.equal(result.status, 0, args.join(' '));
    assert.match(result.stdout, /Usage: breakwater/, args.join(' '));
  }
});

test('doctor reports config, store and the sim provider as healthy, as JSON', () => {
  const dir = tempDir();
  const result = cli(['doctor', '--json', '--data-dir', dir], dir);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ check: string; ok: boolean }> };
  assert.equal(report.ok, true);
  assert.deepEqual(report.checks.map((c) => c.check).slice(0, 2), ['config', 'store']);
  assert.ok(report.checks.some((c) => c.check === 'provider sim' && c.ok));
});

test('the bundled CLI imports a custom validator module named in the config at run time', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'refuse.mjs'), "export default () => ({ ok: false, reasons: ['refused by refuse.mjs'] });\n");
  writeFileSync(
    join(dir, 'breakwater.yaml'),
    'models:\n  guarded:\n    deployments: [{ provider: sim, model: sim-fast }]\n    validators: [{ type: custom, module: ./refuse.mjs }]\n',
  );
  const server = await startCli(dir);
  const res = await fetch(`${server.ready.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.ready.virtualKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'guarded', messages: [{ role: 'user', content: 'hello' }] }),
  });
  const body = await res.text();
  server.child.kill('SIGTERM');
  await server.exited;
  assert.equal(res.status, 502, body);
  assert.match(body, /refused by refuse\.mjs/, 'the module ran, so it was imported');
});

/**
 * Preloaded into a child: reports every module it loads on stderr, ES modules as they load (a
 * loader hook) and CommonJS ones at exit (the require cache).
 */
// Lines go to a file named by BW_TRACE_FILE: hundreds of them through a stderr pipe could fill it
// and make a synchronous write at exit fail.
const MODULE_TRACER = [
  "import Module, { register } from 'node:module';",
  "import { appendFileSync } from 'node:fs';",
  `register(${JSON.stringify(
    'data:text/javascript,' +
      encodeURIComponent(
        "import { appendFileSync } from 'node:fs'; export async function load(url, context, next) { appendFileSync(process.env.BW_TRACE_FILE, 'module-loaded ' + url + '\\n'); return next(url, context); }",
      ),
  )});`,
  // The CommonJS cache is listed when the ready line is written: what loaded before ready.
  "const write = process.stdout.write.bind(process.stdout);",
  "process.stdout.write = (chunk, ...rest) => { if (String(chunk).startsWith('{\"event\":\"ready\"')) for (const file of Object.keys(Module._cache)) appendFileSync(process.env.BW_TRACE_FILE, 'module-loaded ' + file + '\\n'); return write(chunk, ...rest); };",
].join('\n');

/** Starts the unbundled CLI under the module tracer until its ready line; returns the modules loaded by then. */
async function tracedStart(dataDir: string, traceFile: string): Promise<string[]> {
  rmSync(traceFile, { force: true });
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(MODULE_TRACER)}`, UNBUNDLED_CLI, 'start', '--port', '0', '--json', '--data-dir', dataDir], {
    env: { ...cleanEnv(), BW_TRACE_FILE: traceFile },
    cwd: dataDir,
  });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for await (const line of createInterface({ input: child.stdout })) if (line.startsWith('{"event":"ready"')) break;
  child.kill('SIGKILL');
  await exited;
  assert.ok(!stderr.includes('Error'), stderr);
  return readFileSync(traceFile, 'utf8').split('\n').filter((line) => line.startsWith('module-loaded ')).map((line) => line.slice('module-loaded '.length));
}

/** The database files' bytes, to see whether a start wrote to them. */
function databaseBytes(dataDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of ['breakwater.db', 'breakwater.db-wal']) {
    const path = join(dataDir, name);
    if (existsSync(path)) files[name] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return files;
}

test('start with no config file loads no HTTP client, provider adapter, YAML, JSON Schema library, tokenizer, driver, tracing SDK or browser, and a restart writes nothing before ready (SPEC CS-1)', async () => {
  const dataDir = tempDir();
  const traceFile = join(tmpdir(), `bw-modules-${process.pid}.txt`);
  const unwanted =
    /\/node_modules\/(undici|eventsource-parser|yaml|ajv|gpt-tokenizer|pg|pg-pool|@redis|redis|prom-client|@opentelemetry|openai|@anthropic-ai|playwright|playwright-core|@playwright)\/|\/dist\/(providers|shared)\//;
  const fresh = await tracedStart(dataDir, traceFile);
  assert.ok(fresh.some((file) => file.endsWith('/dist/server/start-breakwater.js')), 'the tracer sees our modules');
  assert.ok(fresh.some((file) => file.includes('/node_modules/better-sqlite3/')), 'the tracer sees CommonJS packages');
  assert.deepEqual(fresh.filter((file) => unwanted.test(file)), []);

  // Nothing changed: the restart finds the schema current and migrates nothing, so it writes no byte.
  const before = databaseBytes(dataDir);
  assert.ok(before['breakwater.db'], 'the first start created the database');
  const restart = await tracedStart(dataDir, traceFile);
  rmSync(traceFile, { force: true });
  assert.deepEqual(restart.filter((file) => unwanted.test(file)), []);
  assert.deepEqual(databaseBytes(dataDir), before);
  const db = new Database(join(dataDir, 'breakwater.db'), { readonly: true });
  const versions = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT applied_at) AS times FROM schema_migrations').get() as { n: number; times: number };
  db.close();
  assert.ok(versions.n >= 7 && versions.times >= 1);
});
