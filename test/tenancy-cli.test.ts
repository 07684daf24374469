import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { CLI, cleanEnv, startCli } from './helpers/cli-process.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bw-tenancy-cli-'));
  dirs.push(dir);
  return dir;
}

function cli(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args, '--data-dir', cwd], { env: cleanEnv(), cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('SIGTERM under load: every 200 a client got is in the ledger after exit', async () => {
  const dataDir = tempDir();
  const server = await startCli(dataDir);
  const openai = new OpenAI({ baseURL: `${server.ready.url}/v1`, apiKey: server.ready.virtualKey!, maxRetries: 0 });
  const served: string[] = [];
  let stopping = false;
  let signalled = false;
  const worker = async () => {
    while (!stopping) {
      try {
        const { response } = await openai.chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: `hello ${served.length}` }] }).withResponse();
        served.push(response.headers.get('x-breakwater-request-id')!);
        if (served.length >= 200 && !signalled) {
          signalled = true;
          server.child.kill('SIGTERM');
        }
      } catch {
        // Refused or reset once the server drains: only answers the client got count.
        if (signalled) stopping = true;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.equal(await server.exited, 0);
  const db = new Database(join(dataDir, 'breakwater.db'), { readonly: true });
  const stored = new Set((db.prepare('SELECT id FROM requests WHERE status = 200').all() as Array<{ id: string }>).map((r) => r.id));
  db.close();
  assert.ok(served.length >= 200);
  assert.deepEqual(served.filter((id) => !stored.has(id)), [], `${served.length} served`);
});

test('tenants, teams and keys from the CLI; usage reports spend by team and model as csv and json', async () => {
  const dataDir = tempDir();
  assert.equal(cli(['tenants', 'create', 'acme', '--monthly-usd', '100'], dataDir).status, 0);
  const team = cli(['teams', 'create', 'search', '--org', 'acme', '--rpm', '600', '--daily-usd', '10', '--json'], dataDir);
  assert.equal(team.status, 0, team.stderr);
  const teamId = (JSON.parse(team.stdout) as { id: string }).id;
  const key = JSON.parse(cli(['keys', 'create', '--name', 'search-prod', '--team', 'search', '--json'], dataDir).stdout) as { key: string };
  const refused = cli(['teams', 'create', 'bad', '--org', 'acme', '--rpm', '-1'], dataDir);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /limits\.rpm/);

  const server = await startCli(dataDir);
  const openai = new OpenAI({ baseURL: `${server.ready.url}/v1`, apiKey: key.key, maxRetries: 0 });
  for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: 'sim-smart', messages: [{ role: 'user', content: 'hi' }] });
  server.child.kill('SIGTERM');
  await server.exited;

  const csv = cli(['usage', '--by', 'team,model', '--since', '1d', '--format', 'csv'], dataDir);
  assert.equal(csv.status, 0, csv.stderr);
  const [header, row] = csv.stdout.trim().split('\n');
  assert.equal(header, 'team,team_name,model,requests,errors,input_tokens,output_tokens,cached_tokens,reasoning_tokens,cost_usd');
  assert.match(row!, new RegExp(`^${teamId},search,sim-smart,3,0,`));
  const json = JSON.parse(cli(['usage', '--by', 'team', '--format', 'json'], dataDir).stdout) as Array<{ cost_usd: number; requests: number }>;
  assert.equal(json[0]?.requests, 3);
  assert.ok(json[0]!.cost_usd > 0);
  assert.equal(cli(['usage', '--by', 'colour'], dataDir).status, 1);
});
