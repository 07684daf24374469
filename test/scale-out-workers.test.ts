import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, cleanEnv, startCli } from './helpers/cli-process.js';
import { complete } from './helpers/replicas.js';
import { dropPrefix, freshPrefix, REDIS_URL, servicesMissing } from './helpers/services.js';

const skip = await servicesMissing();
const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'bw-workers-'));
  dirs.push(dir);
  return dir;
};

describe('breakwater start --workers N (SPEC STO-3)', { skip }, () => {
  it('refuses more than one worker without shared state, naming shared.redis', async () => {
    const dir = dataDir();
    const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--workers', '2', '--data-dir', dir], { env: cleanEnv(), cwd: dir });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /shared\.redis: --workers 2 needs shared state/);
  });

  it('two workers share one port, Redis and the SQLite file; SIGTERM drains both and exits 0', async () => {
    const dir = dataDir();
    const prefix = freshPrefix();
    writeFileSync(join(dir, 'breakwater.yaml'), `server: { logLevel: warn }\nshared: { redis: "${REDIS_URL}", keyPrefix: "${prefix}", replicas: 2 }\n`);
    try {
      const started = await startCli(dir, ['--workers', '2']);
      started.child.stdout.resume();
      const statuses = await Promise.all(Array.from({ length: 20 }, () => complete(started.ready.url, started.ready.virtualKey!)));
      assert.deepEqual(new Set(statuses), new Set([200]));
      started.child.kill('SIGTERM');
      assert.equal(await started.exited, 0);
    } finally {
      await dropPrefix(prefix);
    }
  });
});
