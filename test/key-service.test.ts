import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import type { KeyStore } from '../src/store/interfaces.js';
import { createMemoryStores } from '../src/store/memory-stores.js';
import { generateKey, hashesEqual, hashKey, keyPrefix, loadOrCreatePepper } from '../src/tenancy/key-hash.js';
import { createKeyService } from '../src/tenancy/key-service.js';

const pepper = Buffer.from('test-pepper-0123456789abcdef');
const dir = mkdtempSync(join(tmpdir(), 'bw-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A key store that counts hash lookups, to see the cache at work. */
function countingStore(): { store: KeyStore; lookups: () => number } {
  const inner = createMemoryStores().keys;
  let lookups = 0;
  const store: KeyStore = {
    ...inner,
    findKeyByHash: (hash) => {
      lookups++;
      return inner.findKeyByHash(hash);
    },
  };
  return { store, lookups: () => lookups };
}

function setup(cacheTtlMs?: number) {
  const clock = new ManualClock(1_000_000);
  const { store, lookups } = countingStore();
  const service = createKeyService({ store, pepper, clock, cacheTtlMs });
  return { clock, store, lookups, service };
}

describe('key format and hashing (SPEC MT-13)', () => {
  it('generates bw_/bwa_ keys of 32 random bytes in base64url', () => {
    const key = generateKey('virtual');
    assert.match(key, /^bw_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.slice(3), 'base64url').length, 32);
    assert.match(generateKey('admin'), /^bwa_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(generateKey('virtual'), key);
    assert.equal(keyPrefix(key), key.slice(0, 11));
  });

  it('hashes with HMAC-SHA-256 under the pepper and compares hashes in constant time', () => {
    const key = generateKey('virtual');
    const hash = hashKey(key, pepper);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.notEqual(hashKey(key, Buffer.from('another-pepper-0123456789')), hash);
    assert.equal(hashesEqual(hash, hashKey(key, pepper)), true);
    assert.equal(hashesEqual(hash, hashKey(generateKey('virtual'), pepper)), false);
    assert.equal(hashesEqual(hash, 'abcd'), false);
  });
});

describe('key service', () => {
  it('stores only the hash and prefix, never the key', async () => {
    const { service, store } = setup();
    const { key, record } = await service.create({ name: 'ci', kind: 'virtual' });
    const stored = JSON.stringify(await store.listKeys());
    assert.ok(!stored.includes(key));
    assert.ok(!stored.includes(key.slice(11)));
    assert.equal(record.hash, hashKey(key, pepper));
    assert.deepEqual(record.scopes, ['chat', 'embeddings', 'runs']);
    assert.match(record.id, /^key_[0-9a-f]{32}$/);
  });

  it('authenticates the right key and refuses wrong, malformed and foreign-pepper keys', async () => {
    const { service, lookups } = setup();
    const { key, record } = await service.create({ name: 'ci', kind: 'virtual', scopes: ['chat'] });
    assert.equal((await service.authenticate(key))?.id, record.id);
    assert.equal(await service.authenticate(generateKey('virtual')), undefined);
    const before = lookups();
    for (const garbage of ['', 'sk-not-ours', 'bw_short', `bw_${'!'.repeat(43)}`, `${key} `]) {
      assert.equal(await service.authenticate(garbage), undefined);
    }
    assert.equal(lookups(), before, 'malformed keys must never reach the store');
    const other = createKeyService({ store: createMemoryStores().keys, pepper: Buffer.from('x'.repeat(32)), clock: new ManualClock() });
    assert.equal(await other.authenticate(key), undefined);
  });

  it('refuses a revoked key at once on the revoking replica', async () => {
    const { service } = setup();
    const { key, record } = await service.create({ name: 'ci', kind: 'virtual' });
    assert.ok(await service.authenticate(key));
    assert.equal(await service.revoke(record.id), true);
    assert.equal(await service.authenticate(key), undefined);
    assert.equal(await service.revoke(record.id), false);
  });

  it('revokes by shown prefix too', async () => {
    const { service } = setup();
    const { key, record } = await service.create({ name: 'ci', kind: 'virtual' });
    assert.equal(await service.revoke(record.prefix), true);
    assert.equal(await service.authenticate(key), undefined);
    assert.equal(await service.revoke('bw_nothing1'), false);
  });

  it('accepts a key until one millisecond before expiry and refuses it from then on', async () => {
    const { service, clock } = setup();
    const expiresAt = clock.now() + 60_000;
    const { key } = await service.create({ name: 'temp', kind: 'virtual', expiresAt });
    await clock.set(expiresAt - 1);
    assert.ok(await service.authenticate(key));
    await clock.set(expiresAt);
    assert.equal(await service.authenticate(key), undefined);
  });

  it('answers repeat authentications from its cache until the TTL passes', async () => {
    const { service, clock, lookups } = setup(5_000);
    const { key } = await service.create({ name: 'ci', kind: 'virtual' });
    const before = lookups();
    for (let i = 0; i < 5; i++) assert.ok(await service.authenticate(key));
    assert.equal(lookups(), before + 1);
    await clock.advance(4_999);
    await service.authenticate(key);
    assert.equal(lookups(), before + 1);
    await clock.advance(1);
    await service.authenticate(key);
    assert.equal(lookups(), before + 2);
  });

  it('sees a revocation made elsewhere once the cache entry expires', async () => {
    const { service, store, clock } = setup(5_000);
    const { key, record } = await service.create({ name: 'ci', kind: 'virtual' });
    assert.ok(await service.authenticate(key));
    await store.revokeKey(record.id, clock.now());
    assert.ok(await service.authenticate(key), 'still cached');
    await clock.advance(5_000);
    assert.equal(await service.authenticate(key), undefined);
  });

  it('remembers unknown keys for a second to spare the store', async () => {
    const { service, clock, lookups } = setup();
    const unknown = generateKey('virtual');
    await service.authenticate(unknown);
    await service.authenticate(unknown);
    assert.equal(lookups(), 1);
    await clock.advance(1_000);
    await service.authenticate(unknown);
    assert.equal(lookups(), 2);
  });

  it('bootstraps an admin and a default virtual key exactly once', async () => {
    const { service } = setup();
    const first = await service.bootstrap({});
    assert.match(first.adminKey ?? '', /^bwa_/);
    assert.match(first.virtualKey ?? '', /^bw_/);
    const admin = await service.authenticate(first.adminKey!);
    assert.deepEqual([admin?.kind, admin?.scopes], ['admin', ['admin']]);
    assert.equal((await service.authenticate(first.virtualKey!))?.name, 'default');
    assert.deepEqual(await service.bootstrap({}), {});
    assert.equal((await service.list()).length, 2);
  });

  it('registers BREAKWATER_ADMIN_KEY hashed, usable at once, not echoed; a malformed one is refused', async () => {
    const { service, store } = setup();
    const adminKey = `bwa_${'A'.repeat(40)}`;
    assert.equal(await service.authenticate(adminKey), undefined, 'unknown before bootstrap, and negatively cached');
    const result = await service.bootstrap({ BREAKWATER_ADMIN_KEY: adminKey });
    assert.equal(result.adminKey, undefined);
    assert.match(result.virtualKey ?? '', /^bw_/);
    assert.equal((await service.authenticate(adminKey))?.kind, 'admin');
    assert.ok(!JSON.stringify(await store.listKeys()).includes(adminKey));
    await assert.rejects(setup().service.bootstrap({ BREAKWATER_ADMIN_KEY: 'letmein' }), /BREAKWATER_ADMIN_KEY must be/);
  });
});

describe('pepper (SPEC SEC-4)', () => {
  it('creates <dataDir>/secret with mode 0600 once and reuses it', () => {
    const dataDir = join(dir, 'data');
    const first = loadOrCreatePepper(dataDir, {});
    assert.equal(statSync(join(dataDir, 'secret')).mode & 0o777, 0o600);
    assert.equal(first.length, 64);
    assert.deepEqual(loadOrCreatePepper(dataDir, {}), first);
    assert.deepEqual(loadOrCreatePepper(join(dir, 'elsewhere'), { BREAKWATER_KEY_PEPPER: readFileSync(join(dataDir, 'secret'), 'utf8').trim() }), first);
  });

  it('takes BREAKWATER_KEY_PEPPER over the file and refuses a short one', () => {
    const pepperFromEnv = loadOrCreatePepper(join(dir, 'env'), { BREAKWATER_KEY_PEPPER: 'a-long-enough-pepper-value' });
    assert.equal(pepperFromEnv.toString(), 'a-long-enough-pepper-value');
    assert.throws(() => loadOrCreatePepper(join(dir, 'env'), { BREAKWATER_KEY_PEPPER: 'short' }), /shorter than 16/);
  });
});
