import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { complete, createKey, startReplicas, type ReplicaSet } from './helpers/replicas.js';
import { freePort, startRedis, stopRedis } from './helpers/redis-server.js';
import { servicesMissing } from './helpers/services.js';

const skip = await servicesMissing();

/** Polls /readyz until its redis check is `ok` (bounded): the state changes on its own, no restart. */
async function redisCheck(url: string, ok: boolean): Promise<{ status: number; detail?: string }> {
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${url}/readyz`);
    const body = (await response.json()) as { checks: { redis: { ok: boolean; detail?: string } } };
    if (body.checks.redis.ok === ok) return { status: response.status, detail: body.checks.redis.detail };
    await delay(100);
  }
  throw new Error(`redis check never became ${ok}`);
}

describe('a Redis outage follows the documented policy and recovers by itself (SPEC MT-14)', { skip }, () => {
  let port: number;
  let redis: ChildProcess;
  let set: ReplicaSet;
  before(async () => {
    port = await freePort();
    redis = await startRedis(port);
    // One replica of a declared three: during the outage it enforces a third of each limit.
    set = await startReplicas(1, { redisUrl: `redis://127.0.0.1:${port}`, declaredReplicas: 3 });
  });
  after(async () => {
    await set?.close();
    if (redis.exitCode === null) await stopRedis(redis);
  });

  it('limits fall to a local third, budgets fail closed, /readyz says so; all recover when Redis returns', async () => {
    const url = set.replicas[0]!.ready.url;
    const limited = await createKey(url, set.adminKey, { name: 'rpm-30', limits: { rpm: 30 } });
    const budgeted = await createKey(url, set.adminKey, { name: 'budget', budgets: { dailyUsd: 5 } });
    assert.equal(await complete(url, budgeted), 200);
    assert.equal((await redisCheck(url, true)).status, 200);

    await stopRedis(redis);
    const down = await redisCheck(url, false);
    assert.equal(down.status, 200, 'still ready: the policy serves what it allows');
    assert.match(down.detail ?? '', /limits: local share \(1\/3 of each limit\), budgets: closed/);
    const during = await (await fetch(`${url}/metrics`)).text();
    assert.match(during, /^breakwater_redis_up 0$/m, 'the outage is a metric too');
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push(await complete(url, limited));
    assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429], 'a third of 30 RPM, enforced locally');
    assert.equal(await complete(url, budgeted), 503, 'budgets fail closed');
    assert.equal(await complete(url, set.virtualKey), 200, 'requests under no limit or budget pass');

    redis = await startRedis(port);
    await redisCheck(url, true);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^breakwater_redis_up 1$/m);
    assert.equal(await complete(url, budgeted), 200, 'budgets are checked again');
    assert.equal(await complete(url, limited), 200, 'limits are shared again (a fresh Redis holds no counters)');
  });
});
