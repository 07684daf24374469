import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { compareCosts, effectiveUsdPerMillion, HOURS_PER_MONTH } from '../src/routing/cost-compare.js';
import { GPU_TABLE, gpuFigures } from '../src/routing/gpu-table.js';
import { startSimServer } from '../src/sim/sim-server.js';
import { CLI, cleanEnv } from './helpers/cli-process.js';
import { startTestGateway } from './helpers/test-gateway.js';

test('fixed monthly costs become an effective price per 1M tokens (SPEC OW-2)', () => {
  assert.equal(effectiveUsdPerMillion({ gpu: 1440, operations: 3000, overhead: 1000, power: 500 }, 100_000_000)!.toFixed(2), '59.40');
  assert.equal(effectiveUsdPerMillion({ gpu: 1440 }, 0), undefined);
});

test('API spend against a rented GPU: monthly figures, utilisation and the break-even volume', () => {
  const day = 86_400_000;
  const month = HOURS_PER_MONTH * 3_600_000;
  // 30 days of 300M tokens that cost $600 through APIs ($2 per 1M).
  const result = compareCosts({ periodMs: 30 * day, tokens: 300e6, apiCostMicros: 600e6 }, { gpus: 1, usdPerGpuHour: 2.25, tokensPerSecond: 2462, operationsShare: 0.2, targetUtilisation: 0.5 });
  const scale = month / (30 * day);
  assert.ok(Math.abs(result.tokensPerMonth - 300e6 * scale) < 1);
  assert.ok(Math.abs(result.apiUsdPerMonth - 600 * scale) < 1e-9);
  assert.ok(Math.abs(result.apiUsdPerMillion - 2) < 1e-9, 'the API price per 1M tokens is what was paid');
  assert.ok(Math.abs(result.selfHostUsdPerMonth - 2.25 * 730 * 1.2) < 1e-9);
  assert.ok(Math.abs(result.breakEvenTokensPerMonth! - (2.25 * 730 * 1.2) / 2 * 1e6) < 1, 'break-even where rent equals API spend at $2 per 1M');
  assert.ok(Math.abs(result.impliedUtilisation - (300e6 * scale) / (2462 * 730 * 3600)) < 1e-12);
  assert.equal(result.gpusNeeded, 1);
  assert.equal(result.cheaper, 'api');
  const busy = compareCosts({ periodMs: 30 * day, tokens: 30e9, apiCostMicros: 60_000e6 }, { gpus: 1, usdPerGpuHour: 2.25, tokensPerSecond: 2462, operationsShare: 0.2, targetUtilisation: 0.5 });
  assert.equal(busy.cheaper, 'self-hosted');
  assert.equal(busy.gpusNeeded, Math.ceil((30e9 * scale) / (2462 * 730 * 3600 * 0.5)));
});

test('the GPU table is dated, sourced and complete', () => {
  for (const gpu of GPU_TABLE) {
    assert.ok(gpu.usdPerHour > 0 && gpu.tokensPerSecond > 0 && gpu.sources.length > 0, gpu.id);
  }
  assert.throws(() => gpuFigures('tpu'), /known: h100-sxm/);
});

test('breakwater cost compare reads the ledger: API traffic vs a GPU, self-hosted deployments priced by their monthly costs', async () => {
  const sim = await startSimServer({ port: 0, host: '127.0.0.1', seed: 5, timeScale: 0 });
  const configYaml = `
providers:
  api: { kind: openai-compatible, baseUrl: "${sim.url}/v1", apiKey: k }
  gpu: { kind: openai-compatible, baseUrl: "${sim.url}/v1", apiKey: k, monthlyCosts: { gpu: 1440, operations: 3000, overhead: 1000, power: 500 } }
models:
  api-model: { deployments: [{ provider: api, model: sim-smart, prices: { input: 2.5, output: 10 } }] }
  own-model: gpu/sim-fast
`;
  const gateway = await startTestGateway({ configYaml });
  const dataDir = gateway.app.config.server.dataDir;
  try {
    for (const model of ['api-model', 'api-model', 'own-model']) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Write 50 words about tides.' }] }),
      });
      assert.equal(res.status, 200);
    }
    await gateway.app.ledger.flush();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dataDir}/breakwater.yaml`, configYaml);
    const run = spawnSync(process.execPath, [CLI, 'cost', 'compare', '--since', '1h', '--gpu', 'l40s', '--json', '--data-dir', dataDir, '--config', `${dataDir}/breakwater.yaml`], { env: cleanEnv(), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      gpu: { id: string; tableDate: string };
      comparison: { apiUsdPerMonth: number; tokensPerMonth: number; breakEvenTokensPerMonth: number };
      selfHosted: Array<{ provider: string; monthly_usd: number; usd_per_1m_tokens: number }>;
    };
    assert.equal(report.gpu.id, 'l40s');
    assert.ok(report.comparison.apiUsdPerMonth > 0 && report.comparison.tokensPerMonth > 0, 'API traffic from the ledger');
    assert.ok(report.comparison.breakEvenTokensPerMonth > 0);
    assert.deepEqual(report.selfHosted.map((row) => [row.provider, row.monthly_usd]), [['gpu', 5940]]);
    assert.ok(report.selfHosted[0]!.usd_per_1m_tokens > 0);
    const help = spawnSync(process.execPath, [CLI, 'cost', 'compare', '--help'], { env: cleanEnv(), encoding: 'utf8' });
    assert.match(help.stdout, /--tokens-per-s/);
  } finally {
    await gateway.close();
    await sim.close();
  }
});
