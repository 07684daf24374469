import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { request } from 'undici';
import { startReplicas, type ReplicaSet } from './helpers/replicas.js';
import { POSTGRES_URL, servicesMissing } from './helpers/services.js';

const skip = await servicesMissing();

describe('the ledger on PostgreSQL (SPEC MT-15, STO-5)', { skip }, () => {
  let set: ReplicaSet;
  before(async () => {
    set = await startReplicas(1);
  });
  after(() => set?.close());

  it('SIGTERM under load loses no record: every answered request is in the ledger', async () => {
    const replica = set.replicas[0]!;
    const answered: string[] = [];
    let stop = false;
    // 32 clients in closed loops until the gateway stops taking connections.
    const client = async () => {
      while (!stop) {
        try {
          const response = await request(`${replica.ready.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${set.virtualKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
          });
          await response.body.dump();
          if (response.statusCode === 200) answered.push(String(response.headers['x-breakwater-request-id']));
        } catch {
          return;
        }
      }
    };
    const clients = Array.from({ length: 32 }, client);
    while (answered.length < 300) await new Promise((resolve) => setImmediate(resolve));
    replica.child.kill('SIGTERM');
    assert.equal(await replica.exited, 0);
    stop = true;
    await Promise.all(clients);
    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM ${set.schema}.requests`);
    await db.end();
    const stored = new Set(rows.map((row) => row.id));
    const missing = answered.filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${answered.length} answered requests missing from the ledger`);
    assert.ok(answered.length >= 300);
  });
});
