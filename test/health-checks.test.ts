import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimServer } from '../src/sim/sim-server.js';
import { startTestGateway } from './helpers/test-gateway.js';

test('a self-hosted target failing its health check is shed before any request fails on it (issue 8)', async () => {
  const gpu = await startSimServer({ port: 0, host: '127.0.0.1', seed: 1, timeScale: 0 });
  const api = await startSimServer({ port: 0, host: '127.0.0.1', seed: 1, timeScale: 0 });
  const gateway = await startTestGateway({
    configYaml: `
providers:
  gpu: { kind: openai-compatible, baseUrl: "${gpu.url}/v1", apiKey: k, models: [sim-fast], healthCheck: { intervalMs: 100, timeoutMs: 500 } }
  api: { kind: openai-compatible, baseUrl: "${api.url}/v1", apiKey: k, models: [sim-fast] }
models:
  hybrid: { deployments: [{ provider: gpu, model: sim-fast }, { provider: api, model: sim-fast }] }
`,
  });
  try {
    const ask = () =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hybrid', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }),
      });
    const healthy = await ask();
    assert.equal(healthy.headers.get('x-breakwater-served-by'), 'gpu/sim-fast', 'the self-hosted target first');

    await gpu.close();
    let state: { state: string; trip: string | null } | undefined;
    for (let i = 0; i < 100 && state?.state !== 'open'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      const res = await fetch(`${gateway.url}/admin/breakers`, { headers: { authorization: `Bearer ${gateway.adminKey}` } });
      state = ((await res.json()) as { breakers: Record<string, { state: string; trip: string | null }> }).breakers['gpu/sim-fast'];
    }
    assert.deepEqual(state && { state: state.state, trip: state.trip }, { state: 'open', trip: 'health_check' });

    const shed = await ask();
    assert.equal(shed.status, 200);
    assert.equal(shed.headers.get('x-breakwater-served-by'), 'api/sim-fast');
    assert.equal(shed.headers.get('x-breakwater-attempts'), '1', 'no attempt was spent on the dead target');
  } finally {
    await gateway.close();
    await api.close();
  }
});
