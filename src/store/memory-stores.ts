import {
  DEFAULT_IDEMPOTENCY_LEASE_MS,
  type IdempotencyRecord,
  type IdempotencyStore,
  type KeyRecord,
  type KeyStore,
  type LedgerStore,
  type MetaStore,
  type AuditEntry,
  type PrincipalRecord,
  type PrincipalStore,
  type RequestRecord,
  type Stores,
} from './interfaces.js';
import { createMemoryEventLog, createMemoryResponseStore } from './memory-event-log.js';
import { aggregateUsage } from './usage-query.js';
import { createMemoryRunStore } from './memory-run-store.js';

// Records are copied in and out so a caller mutating what it got back cannot change the store,
// which is what the SQLite store does by construction.
const copy = <T>(value: T): T => structuredClone(value);

function createMemoryKeyStore(): KeyStore {
  const byId = new Map<string, KeyRecord>();
  const idByHash = new Map<string, string>();
  return {
    async insertKey(record) {
      if (byId.has(record.id)) throw new Error(`a key with id ${record.id} already exists`);
      if (idByHash.has(record.hash)) throw new Error('a key with the same hash already exists');
      byId.set(record.id, copy(record));
      idByHash.set(record.hash, record.id);
    },
    async findKeyByHash(hash) {
      const id = idByHash.get(hash);
      return id === undefined ? undefined : copy(byId.get(id));
    },
    async getKey(id) {
      const record = byId.get(id);
      return record && copy(record);
    },
    async listKeys() {
      // Map iteration is insertion order, so a stable sort keeps ties in the order SQLite's rowid gives.
      return [...byId.values()].sort((a, b) => a.createdAt - b.createdAt).map(copy);
    },
    async revokeKey(id, at) {
      const record = byId.get(id);
      if (!record || record.revokedAt !== undefined) return false;
      record.revokedAt = at;
      return true;
    },
    async countKeys(kind) {
      let count = 0;
      for (const record of byId.values()) if (record.kind === kind) count++;
      return count;
    },
    async updateKey(id, patch) {
      const record = byId.get(id);
      if (!record) return false;
      record.name = patch.name;
      if (patch.allowedModels === undefined) delete record.allowedModels;
      else record.allowedModels = copy(patch.allowedModels);
      if (patch.policy === undefined) delete record.policy;
      else record.policy = copy(patch.policy);
      return true;
    },
  };
}

function createMemoryPrincipalStore(): PrincipalStore {
  const byId = new Map<string, PrincipalRecord>();
  const audit: AuditEntry[] = [];
  return {
    async putPrincipal(record) {
      const existing = byId.get(record.id);
      // As in SQL's upsert, the kind, org and creation time of an existing row never change.
      const stored = existing ? { ...copy(record), kind: existing.kind, orgId: existing.orgId, createdAt: existing.createdAt } : copy(record);
      byId.set(record.id, stored);
    },
    async getPrincipal(id) {
      const record = byId.get(id);
      return record && copy(record);
    },
    async listPrincipals(kind) {
      return [...byId.values()].filter((r) => kind === undefined || r.kind === kind).sort((a, b) => a.createdAt - b.createdAt).map(copy);
    },
    async deletePrincipal(id) {
      return byId.delete(id);
    },
    async appendAudit(entry) {
      audit.push(copy(entry));
    },
    async listAudit({ limit, since }) {
      return audit.filter((e) => since === undefined || e.at >= since).reverse().slice(0, Math.max(0, limit)).map(copy);
    },
  };
}

function createMemoryLedgerStore(): LedgerStore {
  const records = new Map<string, RequestRecord>();
  return {
    async appendRequests(batch) {
      // Duplicate ids are ignored, as in SQLite, so replaying a spooled batch is harmless.
      for (const record of batch) if (!records.has(record.id)) records.set(record.id, copy(record));
    },
    async getRequest(id) {
      const record = records.get(id);
      return record && copy(record);
    },
    async listRequests({ limit, since }) {
      const matching = [...records.values()].reverse().filter((r) => since === undefined || r.createdAt >= since);
      // Newest first; among equal timestamps the later insert first, as `ORDER BY created_at DESC, rowid DESC`.
      return matching.sort((a, b) => b.createdAt - a.createdAt).slice(0, Math.max(0, limit)).map(copy);
    },
    async usage(query) {
      return aggregateUsage(records.values(), query);
    },
  };
}

function createMemoryMetaStore(): MetaStore {
  const values = new Map<string, string>();
  return {
    async getMeta(key) {
      return values.get(key);
    },
    async setMeta(key, value) {
      values.set(key, value);
    },
  };
}

export function createMemoryIdempotencyStore(): IdempotencyStore {
  const rows = new Map<string, IdempotencyRecord>();
  // JSON of the pair, so no scope or key can forge another pair's id.
  const rowId = (scope: string, key: string) => JSON.stringify([scope, key]);
  const live = (scope: string, key: string, now: number) => {
    const row = rows.get(rowId(scope, key));
    return row && row.expiresAt > now ? row : undefined;
  };
  const owned = (scope: string, key: string, owner: string) => {
    const row = rows.get(rowId(scope, key));
    return row && row.owner === owner && row.state === 'in_flight' ? row : undefined;
  };
  return {
    // No await inside, so each call is atomic within the process, as the SQL and Redis versions are.
    async begin(entry) {
      const existing = live(entry.scope, entry.key, entry.now);
      if (existing && existing.requestHash !== entry.requestHash) return { kind: 'conflict' };
      if (existing?.state === 'completed') return { kind: 'completed', record: copy(existing) };
      if (existing) return { kind: 'in_flight', owner: existing.owner };
      const leaseMs = Math.min(entry.leaseMs ?? DEFAULT_IDEMPOTENCY_LEASE_MS, entry.ttlMs);
      rows.set(rowId(entry.scope, entry.key), {
        scope: entry.scope,
        key: entry.key,
        requestHash: entry.requestHash,
        state: 'in_flight',
        owner: entry.owner,
        createdAt: entry.now,
        expiresAt: entry.now + leaseMs,
      });
      return { kind: 'started' };
    },
    async complete(scope, key, owner, result) {
      const row = owned(scope, key, owner);
      if (!row) return;
      row.state = 'completed';
      row.status = result.status;
      row.body = result.body;
      if (result.headers !== undefined) row.headers = copy(result.headers);
      row.expiresAt = result.expiresAt;
    },
    async abandon(scope, key, owner) {
      if (owned(scope, key, owner)) rows.delete(rowId(scope, key));
    },
    async get(scope, key, now) {
      const row = live(scope, key, now);
      return row && copy(row);
    },
    async purgeExpired(now) {
      let purged = 0;
      for (const [id, row] of rows) {
        if (row.expiresAt <= now && rows.delete(id)) purged++;
      }
      return purged;
    },
  };
}

/** Stores that live in process memory: for tests and `store.kind: memory`. */
export function createMemoryStores(): Stores {
  let closed = false;
  const events = createMemoryEventLog();
  return {
    keys: createMemoryKeyStore(),
    principals: createMemoryPrincipalStore(),
    ledger: createMemoryLedgerStore(),
    meta: createMemoryMetaStore(),
    idempotency: createMemoryIdempotencyStore(),
    events,
    responses: createMemoryResponseStore(),
    runs: createMemoryRunStore(events),
    async ping() {
      if (closed) throw new Error('the memory store is closed');
    },
    async close() {
      closed = true;
    },
  };
}
