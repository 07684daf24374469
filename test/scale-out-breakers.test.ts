import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startReplicas, type ReplicaSet } from './helpers/replicas.js';
import { servicesMissing } from './helpers/services.js';

const skip = await servicesMissing();

// One attempt per request and a breaker that opens after 4 calls at 50 % failures, for 60 s.
const EXTRA = `routes:
  defaults:
    retry: { maxAttempts: 1 }
    breaker: { minCalls: 4, failureRatio: 0.5, openMs: 60000, maxOpenMs: 60000 }
`;

describe('circuit breakers shared between replicas (issue 6)', { skip }, () => {
  let set: ReplicaSet;
  before(async () => {
    set = await startReplicas(2, { extraYaml: EXTRA });
  });
  after(() => set?.close());

  const breakers = async (url: string) => {
    const res = await fetch(`${url}/admin/breakers`, { headers: { authorization: `Bearer ${set.adminKey}` } });
    return ((await res.json()) as { breakers: Record<string, { state: string }> }).breakers;
  };
  const ask = (url: string, fault?: string) =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${set.virtualKey}`, 'content-type': 'application/json', ...(fault ? { 'x-sim-fault': fault } : {}) },
      body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }),
    });

  it('a breaker opened by failures on replica A is open on replica B, which sheds without calling the upstream', async () => {
    const [a, b] = set.replicas.map((replica) => replica.ready.url) as [string, string];
    assert.equal((await ask(b)).status, 200, 'B is healthy before');
    for (let i = 0; i < 6; i++) await ask(a, '503');
    assert.equal((await breakers(a))['sim/sim-fast']?.state, 'open', 'A opened its breaker');
    let state: string | undefined;
    for (let i = 0; i < 100 && state !== 'open'; i++) {
      state = (await breakers(b))['sim/sim-fast']?.state;
      if (state !== 'open') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(state, 'open', 'B took over the open state');
    const shed = await ask(b);
    assert.equal(shed.status, 503);
    assert.equal(((await shed.json()) as { error: { reason: string } }).error.reason, 'breaker_open');
  });
});
