import { randomBytes } from 'node:crypto';
import { BreakwaterError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { KeyRecord, KeyScope, KeyStore } from '../store/interfaces.js';
import { generateKey, hashesEqual, hashKey, keyKindOf, keyPrefix, type KeyKind } from './key-hash.js';

/** What a new key is for. */
export interface CreateKeyInput {
  name: string;
  kind: KeyKind;
  /** Defaults: virtual → chat, embeddings, runs; admin → admin. */
  scopes?: KeyScope[] | undefined;
  expiresAt?: number | undefined;
  allowedModels?: string[] | undefined;
  orgId?: string | undefined;
  teamId?: string | undefined;
  userId?: string | undefined;
}

/** A new key: the only time the plain key exists outside the client. */
export interface CreatedKey {
  key: string;
  record: KeyRecord;
}

/** Issues, authenticates and revokes keys (SPEC MT-13). */
export interface KeyService {
  create(input: CreateKeyInput): Promise<CreatedKey>;
  /** The active record for a presented key, or undefined (unknown, malformed, expired or revoked). */
  authenticate(presentedKey: string): Promise<KeyRecord | undefined>;
  list(): Promise<KeyRecord[]>;
  /** Revokes by id or shown prefix; false when no active key matches. */
  revoke(idOrPrefix: string): Promise<boolean>;
  /** First start only: an admin key (unless `BREAKWATER_ADMIN_KEY` provides it) and a `default` virtual key. */
  bootstrap(env?: NodeJS.ProcessEnv): Promise<{ adminKey?: string; virtualKey?: string }>;
  /** Drops cached lookups, e.g. on a revocation broadcast from another replica. */
  clearCache(): void;
}

/** Options of {@link createKeyService}. */
export interface KeyServiceOptions {
  store: KeyStore;
  pepper: Buffer;
  clock: Clock;
  /** How long a looked-up key is trusted without the store; bounds cross-replica revocation delay. */
  cacheTtlMs?: number;
}

const DEFAULT_SCOPES: Readonly<Record<KeyKind, readonly KeyScope[]>> = Object.freeze({
  virtual: Object.freeze(['chat', 'embeddings', 'runs'] as KeyScope[]),
  admin: Object.freeze(['admin'] as KeyScope[]),
});
const DEFAULT_CACHE_TTL_MS = 5_000;
// Unknown keys are remembered briefly so a client hammering with a bad key costs no store reads,
// but never long, since a key created on another replica must start working quickly.
const NEGATIVE_TTL_MS = 1_000;
const MAX_CACHED = 10_000;
const MAX_NEGATIVE = 1_024;

interface CacheEntry {
  record: KeyRecord | undefined;
  until: number;
}

/** A size-bounded map from key hash to lookup result; the oldest entry goes first. */
function createLookupCache(limit: number) {
  const entries = new Map<string, CacheEntry>();
  return {
    get: (hash: string, now: number) => {
      const entry = entries.get(hash);
      return entry && now < entry.until ? entry : undefined;
    },
    set(hash: string, entry: CacheEntry) {
      // Maps iterate in insertion order, so the first key is the oldest.
      if (entries.size >= limit) entries.delete(entries.keys().next().value!);
      entries.set(hash, entry);
    },
    delete: (hash: string) => entries.delete(hash),
    clear: () => entries.clear(),
  };
}

function isActive(record: KeyRecord, now: number): boolean {
  return record.revokedAt === undefined && (record.expiresAt === undefined || now < record.expiresAt);
}

function buildKeyRecord(key: string, input: CreateKeyInput, pepper: Buffer, now: number): KeyRecord {
  const record: KeyRecord = {
    id: `key_${randomBytes(16).toString('hex')}`,
    name: input.name,
    hash: hashKey(key, pepper),
    prefix: keyPrefix(key),
    kind: input.kind,
    scopes: [...(input.scopes ?? DEFAULT_SCOPES[input.kind])],
    createdAt: now,
  };
  if (input.expiresAt !== undefined) record.expiresAt = input.expiresAt;
  if (input.allowedModels !== undefined) record.allowedModels = [...input.allowedModels];
  if (input.orgId !== undefined) record.orgId = input.orgId;
  if (input.teamId !== undefined) record.teamId = input.teamId;
  if (input.userId !== undefined) record.userId = input.userId;
  return record;
}

/** The key an id or shown prefix names; an ambiguous prefix is an error rather than a guess. */
async function findForRevocation(store: KeyStore, idOrPrefix: string): Promise<KeyRecord | undefined> {
  const byId = await store.getKey(idOrPrefix);
  if (byId) return byId;
  const matches = (await store.listKeys()).filter((r) => r.prefix === idOrPrefix && r.revokedAt === undefined);
  if (matches.length > 1) {
    throw new BreakwaterError('invalid_request', `prefix ${idOrPrefix} matches ${matches.length} keys; revoke by id instead`, { param: 'key' });
  }
  return matches[0];
}

/** Keys behind a keyed hash and an in-process cache; the store never sees a plain key. */
export function createKeyService(options: KeyServiceOptions): KeyService {
  const { store, pepper, clock } = options;
  const ttl = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const found = createLookupCache(MAX_CACHED);
  const missing = createLookupCache(MAX_NEGATIVE);

  // Presented key -> its HMAC, for keys that were found: the HMAC cost ~2% of gateway CPU per
  // request, and a client presents the same key on every call. Only a digest is memoised, never
  // a verdict, so revocation and expiry still go through the TTL caches and the store.
  const digests = new Map<string, string>();

  function digestOf(presentedKey: string): string | undefined {
    const known = digests.get(presentedKey);
    if (known !== undefined) return known;
    // Garbage never reaches the store or the caches.
    return keyKindOf(presentedKey) === undefined ? undefined : hashKey(presentedKey, pepper);
  }

  function remember(presentedKey: string, hash: string): void {
    if (digests.has(presentedKey)) return;
    if (digests.size >= MAX_CACHED) digests.delete(digests.keys().next().value!);
    digests.set(presentedKey, hash);
  }

  function lookup(hash: string): KeyRecord | undefined | Promise<KeyRecord | undefined> {
    const now = clock.now();
    const cached = found.get(hash, now) ?? missing.get(hash, now);
    return cached ? cached.record : lookupStore(hash, now);
  }

  async function lookupStore(hash: string, now: number): Promise<KeyRecord | undefined> {
    const record = await store.findKeyByHash(hash);
    // The store matched by hash; comparing again in constant time guards a store that matches loosely.
    const verified = record && hashesEqual(record.hash, hash) ? record : undefined;
    if (verified) found.set(hash, { record: verified, until: now + ttl });
    else missing.set(hash, { record: undefined, until: now + Math.min(ttl, NEGATIVE_TTL_MS) });
    return verified;
  }

  async function create(input: CreateKeyInput): Promise<CreatedKey> {
    const key = generateKey(input.kind);
    return { key, record: await register(key, input) };
  }

  async function register(key: string, input: CreateKeyInput): Promise<KeyRecord> {
    const record = buildKeyRecord(key, input, pepper, clock.now());
    await store.insertKey(record);
    missing.delete(record.hash);
    return record;
  }

  async function bootstrap(env: NodeJS.ProcessEnv = process.env): Promise<{ adminKey?: string; virtualKey?: string }> {
    if ((await store.countKeys('admin')) > 0) return {};
    const result: { adminKey?: string; virtualKey?: string } = {};
    const provided = env.BREAKWATER_ADMIN_KEY;
    if (provided) {
      if (keyKindOf(provided) !== 'admin') {
        throw new Error('BREAKWATER_ADMIN_KEY must be "bwa_" followed by 16 to 128 characters of A-Z a-z 0-9 _ -');
      }
      // The operator already has this key; printing it would only put a secret in the logs.
      await register(provided, { name: 'admin', kind: 'admin' });
    } else {
      result.adminKey = (await create({ name: 'admin', kind: 'admin' })).key;
    }
    if ((await store.countKeys('virtual')) === 0) result.virtualKey = (await create({ name: 'default', kind: 'virtual' })).key;
    return result;
  }

  return {
    create,
    bootstrap,
    async authenticate(presentedKey) {
      const hash = typeof presentedKey === 'string' ? digestOf(presentedKey) : undefined;
      if (hash === undefined) return undefined;
      const looked = lookup(hash);
      // A cache hit answers without another async hop.
      const record = looked instanceof Promise ? await looked : looked;
      if (record) remember(presentedKey, hash);
      return record && isActive(record, clock.now()) ? record : undefined;
    },
    list: () => store.listKeys(),
    async revoke(idOrPrefix) {
      const record = await findForRevocation(store, idOrPrefix);
      if (!record) return false;
      const revoked = await store.revokeKey(record.id, clock.now());
      found.delete(record.hash);
      return revoked;
    },
    clearCache() {
      found.clear();
      missing.clear();
      digests.clear();
    },
  };
}
