import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { StreamProbeReport } from '../src/cli/stream-probe.js';
import { startSimServer } from '../src/sim/sim-server.js';
import { findNginx, nginxRequirement, startNginx, type NginxProxy } from './helpers/nginx.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// `breakwater doctor stream` (SPEC SA-3) against the gateway directly and through an nginx set up
// to buffer anyway. On loopback nginx 1.22 passes an uncompressed stream on as it comes even with
// X-Accel-Buffering ignored and big buffers, and gzips an unbuffered one chunk by chunk; the two
// together (ignored header + gzip of text/event-stream) hold the whole answer to the end.
const requirement = nginxRequirement();

let sim: Awaited<ReturnType<typeof startSimServer>>;
let gateway: TestGateway;
let buffering: NginxProxy;
let instant: TestGateway;

before(async () => {
  // sim-fast's real timing: ~150 tokens spread over ~1.4 s.
  sim = await startSimServer({ port: 0, host: '127.0.0.1', seed: 5, timeScale: 1 });
  gateway = await startTestGateway({
    configYaml: `
providers:
  remote: { kind: openai-compatible, baseUrl: "${sim.url}/v1", apiKey: k }
models:
  paced: remote/sim-fast
`,
  });
  instant = await startTestGateway();
  if (requirement.skip || !findNginx()) return;
  buffering = await startNginx({
    upstream: gateway.url,
    location: ['proxy_ignore_headers X-Accel-Buffering;', 'proxy_buffering on;', 'proxy_buffers 8 1m;', 'proxy_buffer_size 1m;', 'proxy_busy_buffers_size 2m;', 'gzip on;', 'gzip_types text/event-stream;', 'gzip_min_length 0;'],
  });
});

after(async () => {
  await buffering?.close();
  await Promise.all([gateway?.close(), instant?.close()]);
  await sim?.close();
});

async function doctorStream(baseUrl: string, key: string, model: string, json = true): Promise<{ code: number | null; stdout: string; report?: StreamProbeReport }> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'doctor', 'stream', baseUrl, '--key', key, '--model', model];
  if (json) args.push('--json');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, ...(json ? { report: JSON.parse(stdout) as StreamProbeReport } : {}) };
}

test('directly against the gateway, doctor stream reports incremental tokens with TTFT and gaps', async () => {
  const { code, report } = await doctorStream(gateway.url, gateway.key, 'paced');
  assert.equal(code, 0);
  assert.equal(report!.verdict, 'incremental', report!.summary);
  assert.ok(report!.contentEvents >= 20, `${report!.contentEvents} content events`);
  assert.ok(report!.bursts >= report!.contentEvents / 2);
  assert.ok(report!.ttftMs! > 50 && report!.ttftMs! < report!.totalMs);
  assert.ok(report!.spanMs! > 500, `the answer was spread over ${report!.spanMs} ms`);
  assert.ok(report!.largestGapMs! > 0 && report!.largestGapMs! < report!.spanMs!);
  assert.equal(report!.likelyCulprit, undefined);
  assert.equal(report!.headers['x-accel-buffering'], 'no');
});

test('through an nginx that compresses the stream, doctor stream reports it buffered and names nginx and gzip', requirement, async () => {
  const { code, report } = await doctorStream(buffering.url, gateway.key, 'paced');
  assert.equal(code, 1);
  assert.equal(report!.verdict, 'buffered', report!.summary);
  assert.ok(report!.largestBurstShare >= 0.9);
  assert.match(report!.likelyCulprit ?? '', /content-encoding: gzip/);
  assert.ok(report!.findings.some((f) => /served through nginx/.test(f)), report!.findings.join('\n'));
});

test('an instant upstream is inconclusive, not a false alarm, and the text report is readable', async () => {
  const { code, stdout } = await doctorStream(instant.url, instant.key, 'sim-fast', false);
  assert.equal(code, 0);
  assert.match(stdout, /^verdict +inconclusive: the whole answer \(\d+ content events\) arrived within \d+ ms, too fast to tell/m);
  assert.match(stdout, /^ttft +\d+ ms/m);
});
