import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, test } from 'node:test';
import Database from 'better-sqlite3';
import { configSchema } from '../src/config/schema.js';
import { ConfigError } from '../src/config/config-error.js';
import type { IdempotencyBeginEntry, IdempotencyStore, KeyRecord, RequestRecord, Stores } from '../src/store/interfaces.js';
import { createMemoryStores } from '../src/store/memory-stores.js';
import { migrate, SchemaTooNewError } from '../src/store/migrator.js';
import { SQLITE_MIGRATIONS } from '../src/store/migrations/sqlite.js';
import { openSqliteStores } from '../src/store/sqlite-stores.js';
import { openScaleOutStores, servicesMissing } from './helpers/services.js';
import { openStores } from '../src/store/stores.js';

const root = mkdtempSync(join(tmpdir(), 'bw-stores-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(root, `db-${++counter}`, 'breakwater.db');

function key(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const n = ++counter;
  return { id: `key_${n}`, name: `key ${n}`, hash: `${n}`.padStart(64, 'a'), prefix: `bw_${n}`, kind: 'virtual', scopes: ['chat'], createdAt: 1_000, ...overrides };
}

function request(overrides: Partial<RequestRecord> = {}): RequestRecord {
  const n = ++counter;
  return {
    id: `req_${n}`, createdAt: 1_000, keyId: 'key_1', dialect: 'openai', endpoint: '/v1/chat/completions', requestedModel: 'sim-fast',
    status: 200, stream: false, inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0,
    usageEstimated: false, costMicros: 7, priceMissing: false, attempts: 1, latencyMs: 12, ...overrides,
  };
}

const backends: Array<{ name: string; open: () => Stores | Promise<Stores> }> = [
  { name: 'memory', open: () => createMemoryStores() },
  { name: 'sqlite', open: () => openSqliteStores({ path: freshPath() }) },
];
if (!(await servicesMissing())) backends.push({ name: 'postgres+redis', open: () => openScaleOutStores() });

for (const backend of backends) {
  describe(`${backend.name} stores pass the conformance suite`, () => {
    it('inserts a key and finds it by hash and id, with every field intact', async () => {
      const stores = await backend.open();
      const full = key({ expiresAt: 5_000, orgId: 'org_1', teamId: 'team_1', userId: 'user_1', allowedModels: ['sim-fast'], scopes: ['chat', 'runs'] });
      const bare = key();
      await stores.keys.insertKey(full);
      await stores.keys.insertKey(bare);
      assert.deepEqual(await stores.keys.findKeyByHash(full.hash), full);
      assert.deepEqual(await stores.keys.getKey(bare.id), bare);
      assert.equal(await stores.keys.findKeyByHash('f'.repeat(64)), undefined);
      assert.equal(await stores.keys.getKey('key_missing'), undefined);
      await stores.close();
    });

    it('refuses a second key with the same id or hash', async () => {
      const stores = await backend.open();
      const first = key();
      await stores.keys.insertKey(first);
      await assert.rejects(stores.keys.insertKey({ ...key(), id: first.id }));
      await assert.rejects(stores.keys.insertKey({ ...key(), hash: first.hash }));
      await stores.close();
    });

    it('lists keys oldest first, ties in insertion order, and counts them by kind', async () => {
      const stores = await backend.open();
      const late = key({ createdAt: 3_000 });
      const tieA = key({ createdAt: 2_000, kind: 'admin', scopes: ['admin'] });
      const tieB = key({ createdAt: 2_000 });
      for (const record of [late, tieA, tieB]) await stores.keys.insertKey(record);
      assert.deepEqual((await stores.keys.listKeys()).map((r) => r.id), [tieA.id, tieB.id, late.id]);
      assert.equal(await stores.keys.countKeys('admin'), 1);
      assert.equal(await stores.keys.countKeys('virtual'), 2);
      await stores.close();
    });

    it('revokes a key exactly once and never an unknown one', async () => {
      const stores = await backend.open();
      const record = key();
      await stores.keys.insertKey(record);
      assert.equal(await stores.keys.revokeKey(record.id, 7_000), true);
      assert.equal(await stores.keys.revokeKey(record.id, 8_000), false);
      assert.equal(await stores.keys.revokeKey('key_missing', 8_000), false);
      assert.equal((await stores.keys.getKey(record.id))?.revokedAt, 7_000);
      await stores.close();
    });

    it('hands out copies, so mutating a result does not change the store', async () => {
      const stores = await backend.open();
      const record = key();
      await stores.keys.insertKey(record);
      const found = (await stores.keys.getKey(record.id))!;
      found.scopes.push('admin');
      found.name = 'changed';
      assert.deepEqual(await stores.keys.getKey(record.id), record);
      await stores.close();
    });

    it('appends a ledger batch and reads every record back intact', async () => {
      const stores = await backend.open();
      const full = request({
        servedBy: 'sim/sim-fast', provider: 'sim', errorCode: 'upstream_timeout', stream: true, cacheReadTokens: 3, cacheWriteTokens: 2,
        reasoningTokens: 1, usageEstimated: true, priceMissing: true, ttftMs: 4.5, overheadMs: 0.25, tags: { team: 'a' }, endUser: 'u1',
      });
      const bare = request();
      await stores.ledger.appendRequests([full, bare]);
      await stores.ledger.appendRequests([]);
      assert.deepEqual(await stores.ledger.getRequest(full.id), full);
      assert.deepEqual(await stores.ledger.getRequest(bare.id), bare);
      assert.equal(await stores.ledger.getRequest('req_missing'), undefined);
      await stores.close();
    });

    it('lists requests newest first, later inserts first among ties, honouring since and limit', async () => {
      const stores = await backend.open();
      const old = request({ createdAt: 1_000 });
      const tieA = request({ createdAt: 2_000 });
      const tieB = request({ createdAt: 2_000 });
      const newest = request({ createdAt: 3_000 });
      await stores.ledger.appendRequests([old, tieA]);
      await stores.ledger.appendRequests([newest, tieB]);
      const ids = async (options: { limit: number; since?: number }) => (await stores.ledger.listRequests(options)).map((r) => r.id);
      assert.deepEqual(await ids({ limit: 10 }), [newest.id, tieB.id, tieA.id, old.id]);
      assert.deepEqual(await ids({ limit: 2 }), [newest.id, tieB.id]);
      assert.deepEqual(await ids({ limit: 10, since: 2_000 }), [newest.id, tieB.id, tieA.id]);
      assert.deepEqual(await ids({ limit: 0 }), []);
      await stores.close();
    });

    it('ignores a replayed ledger record instead of failing the batch', async () => {
      const stores = await backend.open();
      const first = request({ costMicros: 1 });
      await stores.ledger.appendRequests([first]);
      const next = request();
      await stores.ledger.appendRequests([{ ...first, costMicros: 999 }, next]);
      assert.equal((await stores.ledger.getRequest(first.id))?.costMicros, 1);
      assert.ok(await stores.ledger.getRequest(next.id));
      await stores.close();
    });

    it('stores and overwrites metadata', async () => {
      const stores = await backend.open();
      assert.equal(await stores.meta.getMeta('bootstrapped'), undefined);
      await stores.meta.setMeta('bootstrapped', 'yes');
      await stores.meta.setMeta('bootstrapped', 'again');
      assert.equal(await stores.meta.getMeta('bootstrapped'), 'again');
      await stores.ping();
      await stores.close();
    });
  });
}

const HOUR = 3_600_000;

function claim(overrides: Partial<IdempotencyBeginEntry> = {}): IdempotencyBeginEntry {
  return { scope: 'key:key_1', key: 'idem-1', requestHash: 'hash-a', now: 1_000, ttlMs: HOUR, owner: 'owner-a', leaseMs: 10_000, ...overrides };
}

const answer = (expiresAt: number) => ({ status: 200, body: '{"id":"chatcmpl_1"}', headers: { 'x-breakwater-served-by': 'sim/sim-fast' }, expiresAt });

for (const backend of backends) {
  describe(`${backend.name} idempotency store passes the conformance suite (SPEC UP-8)`, () => {
    const it = (name: string, body: (idempotency: IdempotencyStore) => Promise<void>) =>
      test(name, async () => {
        const stores = await backend.open();
        try {
          await body(stores.idempotency);
        } finally {
          await stores.close();
        }
      });

    it('starts a new key, reports it in flight to a second caller, and replays it once completed', async (idempotency) => {
      assert.deepEqual(await idempotency.begin(claim()), { kind: 'started' });
      assert.deepEqual(await idempotency.begin(claim({ owner: 'owner-b', now: 2_000 })), { kind: 'in_flight', owner: 'owner-a' });
      await idempotency.complete('key:key_1', 'idem-1', 'owner-a', answer(1_000 + HOUR));
      const record = {
        scope: 'key:key_1', key: 'idem-1', requestHash: 'hash-a', state: 'completed', owner: 'owner-a', status: 200,
        body: '{"id":"chatcmpl_1"}', headers: { 'x-breakwater-served-by': 'sim/sim-fast' }, createdAt: 1_000, expiresAt: 1_000 + HOUR,
      };
      assert.deepEqual(await idempotency.begin(claim({ owner: 'owner-b', now: 3_000 })), { kind: 'completed', record });
      assert.deepEqual(await idempotency.get('key:key_1', 'idem-1', 3_000), record);
    });

    it('answers conflict to a different request hash, in flight or completed', async (idempotency) => {
      await idempotency.begin(claim());
      assert.deepEqual(await idempotency.begin(claim({ requestHash: 'hash-b', owner: 'owner-b' })), { kind: 'conflict' });
      await idempotency.complete('key:key_1', 'idem-1', 'owner-a', answer(1_000 + HOUR));
      assert.deepEqual(await idempotency.begin(claim({ requestHash: 'hash-b', owner: 'owner-b' })), { kind: 'conflict' });
    });

    it('keeps scopes apart: the same key under another tenant is another key', async (idempotency) => {
      await idempotency.begin(claim());
      assert.deepEqual(await idempotency.begin(claim({ scope: 'key:key_2', requestHash: 'hash-b', owner: 'owner-b' })), { kind: 'started' });
    });

    it('lets another owner take over an in-flight key exactly when its lease ends, and ignores the old owner after', async (idempotency) => {
      await idempotency.begin(claim({ now: 1_000, leaseMs: 5_000 }));
      assert.deepEqual(await idempotency.begin(claim({ now: 5_999, owner: 'owner-b' })), { kind: 'in_flight', owner: 'owner-a' });
      assert.deepEqual(await idempotency.begin(claim({ now: 6_000, owner: 'owner-b' })), { kind: 'started' });
      await idempotency.complete('key:key_1', 'idem-1', 'owner-a', answer(6_000 + HOUR));
      await idempotency.abandon('key:key_1', 'idem-1', 'owner-a');
      const record = await idempotency.get('key:key_1', 'idem-1', 6_001);
      assert.equal(record?.state, 'in_flight');
      assert.equal(record?.owner, 'owner-b');
      assert.equal(record?.createdAt, 6_000);
    });

    it('leases for 10 minutes by default, never beyond the TTL', async (idempotency) => {
      await idempotency.begin(claim({ now: 0, leaseMs: undefined }));
      assert.equal((await idempotency.begin(claim({ now: 599_999, owner: 'owner-b' }))).kind, 'in_flight');
      assert.equal((await idempotency.begin(claim({ now: 600_000, owner: 'owner-b' }))).kind, 'started');
      await idempotency.begin(claim({ key: 'short', now: 0, ttlMs: 100, leaseMs: 10_000 }));
      assert.equal((await idempotency.begin(claim({ key: 'short', now: 99, owner: 'owner-b' }))).kind, 'in_flight');
      assert.equal((await idempotency.begin(claim({ key: 'short', now: 100, owner: 'owner-b' }))).kind, 'started');
    });

    it('forgets an abandoned key so the next begin starts, but only its owner may abandon or complete it', async (idempotency) => {
      await idempotency.begin(claim());
      await idempotency.abandon('key:key_1', 'idem-1', 'owner-b');
      await idempotency.complete('key:key_1', 'idem-1', 'owner-b', answer(1_000 + HOUR));
      assert.equal((await idempotency.get('key:key_1', 'idem-1', 1_001))?.state, 'in_flight');
      await idempotency.abandon('key:key_1', 'idem-1', 'owner-a');
      assert.equal(await idempotency.get('key:key_1', 'idem-1', 1_001), undefined);
      assert.deepEqual(await idempotency.begin(claim({ requestHash: 'hash-b', owner: 'owner-b', now: 1_002 })), { kind: 'started' });
    });

    it('never abandons a completed answer', async (idempotency) => {
      await idempotency.begin(claim());
      await idempotency.complete('key:key_1', 'idem-1', 'owner-a', answer(1_000 + HOUR));
      await idempotency.abandon('key:key_1', 'idem-1', 'owner-a');
      assert.equal((await idempotency.get('key:key_1', 'idem-1', 2_000))?.state, 'completed');
    });

    it('replays a completed answer until its TTL ends, then starts afresh (even with another body)', async (idempotency) => {
      await idempotency.begin(claim());
      await idempotency.complete('key:key_1', 'idem-1', 'owner-a', answer(50_000));
      assert.ok(await idempotency.get('key:key_1', 'idem-1', 49_999));
      assert.equal((await idempotency.begin(claim({ now: 49_999, owner: 'owner-b' }))).kind, 'completed');
      assert.equal(await idempotency.get('key:key_1', 'idem-1', 50_000), undefined);
      assert.deepEqual(await idempotency.begin(claim({ now: 50_000, owner: 'owner-b', requestHash: 'hash-b' })), { kind: 'started' });
      const record = await idempotency.get('key:key_1', 'idem-1', 50_001);
      assert.equal(record?.requestHash, 'hash-b');
      assert.equal(record?.body, undefined);
      assert.equal(record?.status, undefined);
    });

    it('purges exactly the rows expired at the given time', async (idempotency) => {
      await idempotency.begin(claim({ key: 'lease-ends-11000', now: 1_000, leaseMs: 10_000 }));
      await idempotency.begin(claim({ key: 'ttl-ends-20000' }));
      await idempotency.complete('key:key_1', 'ttl-ends-20000', 'owner-a', answer(20_000));
      await idempotency.begin(claim({ key: 'ttl-ends-30000' }));
      await idempotency.complete('key:key_1', 'ttl-ends-30000', 'owner-a', answer(30_000));
      assert.equal(await idempotency.purgeExpired(10_999), 0);
      assert.equal(await idempotency.purgeExpired(20_000), 2);
      assert.equal(await idempotency.purgeExpired(20_000), 0);
      assert.ok(await idempotency.get('key:key_1', 'ttl-ends-30000', 20_000));
    });

    it('hands out copies of records', async (idempotency) => {
      await idempotency.begin(claim());
      await idempotency.complete('key:key_1', 'idem-1', 'owner-a', answer(1_000 + HOUR));
      const record = (await idempotency.get('key:key_1', 'idem-1', 2_000))!;
      record.headers!['x-evil'] = '1';
      record.state = 'in_flight';
      const again = (await idempotency.get('key:key_1', 'idem-1', 2_000))!;
      assert.equal(again.state, 'completed');
      assert.deepEqual(again.headers, { 'x-breakwater-served-by': 'sim/sim-fast' });
    });
  });
}

describe('sqlite idempotency store across connections', () => {
  it('lets exactly one of two connections to one file claim a key', async () => {
    const path = freshPath();
    const first = openSqliteStores({ path });
    const second = openSqliteStores({ path });
    assert.deepEqual(await first.idempotency.begin(claim()), { kind: 'started' });
    assert.deepEqual(await second.idempotency.begin(claim({ owner: 'owner-b' })), { kind: 'in_flight', owner: 'owner-a' });
    await first.idempotency.complete('key:key_1', 'idem-1', 'owner-a', answer(1_000 + HOUR));
    assert.equal((await second.idempotency.begin(claim({ owner: 'owner-b' }))).kind, 'completed');
    await first.close();
    await second.close();
  });
});

describe('sqlite store', () => {
  it('creates its directory and a WAL database on first open (SPEC STO-2)', async () => {
    const path = freshPath();
    const stores = openSqliteStores({ path });
    assert.ok(existsSync(path));
    const probe = new Database(path, { readonly: true });
    assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
    probe.close();
    await stores.close();
  });

  it('keeps data and applies no migration twice when reopened', async () => {
    const path = freshPath();
    const first = openSqliteStores({ path });
    const record = key();
    await first.keys.insertKey(record);
    await first.close();
    const second = openSqliteStores({ path });
    assert.deepEqual(await second.keys.getKey(record.id), record);
    await second.close();
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT version, name FROM schema_migrations').all();
    db.close();
    assert.deepEqual(rows, SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    const latest = SQLITE_MIGRATIONS.at(-1)!.version;
    assert.deepEqual(await migrate({ dialect: 'sqlite', path }), { dialect: 'sqlite', from: latest, to: latest, applied: [] });
  });

  it('migrate() brings a new database to the latest version', async () => {
    const result = await migrate({ dialect: 'sqlite', path: freshPath() });
    assert.deepEqual(result, { dialect: 'sqlite', from: 0, to: SQLITE_MIGRATIONS.at(-1)!.version, applied: SQLITE_MIGRATIONS.map((m) => m.name) });
  });

  it('refuses a database whose schema is newer than the code, naming both versions (SPEC STO-4)', async () => {
    const path = freshPath();
    await openSqliteStores({ path }).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, ?, 0)').run('0099_future');
    db.close();
    assert.throws(() => openSqliteStores({ path }), (error: unknown) => {
      assert.ok(error instanceof SchemaTooNewError);
      assert.match(error.message, /version 99/);
      assert.match(error.message, new RegExp(`up to version ${SQLITE_MIGRATIONS.at(-1)!.version}\\b`));
      return true;
    });
  });

  it('writes a ledger batch in one transaction: a bad record leaves none of the batch behind', async () => {
    const stores = openSqliteStores({ path: freshPath() });
    const good = request();
    const bad = { ...request(), dialect: undefined } as unknown as RequestRecord;
    await assert.rejects(stores.ledger.appendRequests([good, bad]));
    assert.equal(await stores.ledger.getRequest(good.id), undefined);
    await stores.close();
  });

  it('loads every migration file in version order, and the build ships them', () => {
    const dir = join(import.meta.dirname, '../src/store/migrations/sqlite');
    const files = readdirSync(dir).filter((name) => name.endsWith('.sql')).sort();
    assert.deepEqual(files.map((name) => name.replace(/\.sql$/, '')), SQLITE_MIGRATIONS.map((m) => m.name));
    for (const migration of SQLITE_MIGRATIONS) {
      assert.equal(migration.sql, readFileSync(join(dir, `${migration.name}.sql`), 'utf8'));
      assert.equal(migration.version, Number(migration.name.slice(0, 4)));
      assert.ok(existsSync(join(import.meta.dirname, '../dist/store/migrations/sqlite', `${migration.name}.sql`)), `${migration.name} missing from dist/`);
    }
  });
});

describe('openStores', () => {
  it('opens <dataDir>/breakwater.db for sqlite and memory stores on request', async () => {
    const dataDir = join(root, `data-${++counter}`);
    const sqlite = await openStores(configSchema.parse({}), { dataDir });
    assert.ok(existsSync(join(dataDir, 'breakwater.db')));
    await sqlite.close();
    const memory = await openStores(configSchema.parse({ store: { kind: 'memory' } }), { dataDir: join(root, 'unused') });
    await memory.ping();
    assert.equal(existsSync(join(root, 'unused')), false);
  });

  it('refuses postgres without a URL with a config error that says what to set', async () => {
    await assert.rejects(openStores(configSchema.parse({ store: { kind: 'postgres' } })), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /store\.url: store\.kind postgres needs store\.url — fix: e\.g\. postgres:\/\//);
      return true;
    });
  });
});
