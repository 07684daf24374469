import {
  DEFAULT_IDEMPOTENCY_LEASE_MS,
  type IdempotencyBegin,
  type IdempotencyBeginEntry,
  type IdempotencyRecord,
  type IdempotencyStore,
  type KeyStore,
  type LedgerStore,
  type MetaStore,
  type RequestRecord,
  type Stores,
} from './interfaces.js';
import { migrateSqliteDatabase } from './migrator.js';
import { KEY_COLUMNS, keyToRow, REQUEST_COLUMNS, requestValues, rowToKey, rowToRequest, type KeyRow, type RequestRow, type RequestValues } from './sql-rows.js';
import { createSqliteEventLog, createSqliteResponseStore } from './sqlite-event-log.js';
import { createSqlitePrincipalStore, sqliteUsage } from './sqlite-tenancy-stores.js';
import { createSqliteRunStore } from './sqlite-run-store.js';
import { openSqliteDatabase, type SqliteDatabase } from './sqlite-database.js';

const insertSql = (table: string, columns: readonly string[], onConflict = '') =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})${onConflict}`;

function createSqliteKeyStore(db: SqliteDatabase): KeyStore {
  const insert = db.prepare<[KeyRow]>(insertSql('keys', KEY_COLUMNS));
  const byHash = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE hash = ?');
  const byId = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE id = ?');
  const all = db.prepare<[], KeyRow>('SELECT * FROM keys ORDER BY created_at, rowid');
  const revoke = db.prepare<[number, string]>('UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const count = db.prepare<[string], { count: number }>('SELECT COUNT(*) AS count FROM keys WHERE kind = ?');
  const update = db.prepare<[string, string | null, string | null, string]>('UPDATE keys SET name = ?, allowed_models = ?, policy = ? WHERE id = ?');
  return {
    async insertKey(record) {
      insert.run(keyToRow(record));
    },
    async findKeyByHash(hash) {
      const row = byHash.get(hash);
      return row && rowToKey(row);
    },
    async getKey(id) {
      const row = byId.get(id);
      return row && rowToKey(row);
    },
    async listKeys() {
      return all.all().map(rowToKey);
    },
    async revokeKey(id, at) {
      return revoke.run(at, id).changes === 1;
    },
    async countKeys(kind) {
      return count.get(kind)?.count ?? 0;
    },
    async updateKey(id, patch) {
      const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
      return update.run(patch.name, json(patch.allowedModels), json(patch.policy), id).changes === 1;
    },
  };
}

function createSqliteLedgerStore(db: SqliteDatabase): LedgerStore {
  // A batch replayed from the spool must not fail on rows already written; only the id conflict is
  // ignored (OR IGNORE would also drop rows that break NOT NULL).
  const insert = db.prepare<RequestValues>(
    `INSERT INTO requests (${REQUEST_COLUMNS.join(', ')}) VALUES (${REQUEST_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (id) DO NOTHING`,
  );
  const insertBatch = db.transaction((records: RequestRecord[]) => {
    for (const record of records) insert.run(...requestValues(record));
  });
  const byId = db.prepare<[string], RequestRow>('SELECT * FROM requests WHERE id = ?');
  const recent = db.prepare<[number, number], RequestRow>(
    'SELECT * FROM requests WHERE created_at >= ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
  );
  return {
    async appendRequests(records) {
      if (records.length > 0) insertBatch(records);
    },
    async getRequest(id) {
      const row = byId.get(id);
      return row && rowToRequest(row);
    },
    async listRequests({ limit, since }) {
      return recent.all(since ?? Number.MIN_SAFE_INTEGER, Math.max(0, limit)).map(rowToRequest);
    },
    usage: (query) => sqliteUsage(db, query),
  };
}

function createSqliteMetaStore(db: SqliteDatabase): MetaStore {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const set = db.prepare<[string, string]>(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  return {
    async getMeta(key) {
      return get.get(key)?.value;
    },
    async setMeta(key, value) {
      set.run(key, value);
    },
  };
}

interface IdempotencyRow {
  scope: string;
  key: string;
  request_hash: string;
  state: IdempotencyRecord['state'];
  owner: string;
  status: number | null;
  body: string | null;
  headers: string | null;
  created_at: number;
  expires_at: number;
}

function rowToIdempotency(row: IdempotencyRow): IdempotencyRecord {
  const record: IdempotencyRecord = {
    scope: row.scope,
    key: row.key,
    requestHash: row.request_hash,
    state: row.state,
    owner: row.owner,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
  if (row.status !== null) record.status = row.status;
  if (row.body !== null) record.body = row.body;
  if (row.headers !== null) record.headers = JSON.parse(row.headers) as Record<string, string>;
  return record;
}

function createSqliteIdempotencyStore(db: SqliteDatabase): IdempotencyStore {
  const live = db.prepare<[string, string, number], IdempotencyRow>(
    'SELECT * FROM idempotency WHERE scope = ? AND key = ? AND expires_at > ?',
  );
  // An expired row (completed or a dead owner's lease) is replaced whole: the new claim starts clean.
  const claim = db.prepare<[IdempotencyBeginEntry & { expiresAt: number }]>(
    `INSERT INTO idempotency (scope, key, request_hash, state, owner, created_at, expires_at)
     VALUES (@scope, @key, @requestHash, 'in_flight', @owner, @now, @expiresAt)
     ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'in_flight',
       owner = excluded.owner, status = NULL, body = NULL, headers = NULL, created_at = excluded.created_at,
       expires_at = excluded.expires_at`,
  );
  const begin = db.transaction((entry: IdempotencyBeginEntry): IdempotencyBegin => {
    const row = live.get(entry.scope, entry.key, entry.now);
    if (row && row.request_hash !== entry.requestHash) return { kind: 'conflict' };
    if (row?.state === 'completed') return { kind: 'completed', record: rowToIdempotency(row) };
    if (row) return { kind: 'in_flight', owner: row.owner };
    const leaseMs = Math.min(entry.leaseMs ?? DEFAULT_IDEMPOTENCY_LEASE_MS, entry.ttlMs);
    claim.run({ ...entry, expiresAt: entry.now + leaseMs });
    return { kind: 'started' };
  });
  const complete = db.prepare<[number, string, string | null, number, string, string, string]>(
    `UPDATE idempotency SET state = 'completed', status = ?, body = ?, headers = ?, expires_at = ?
     WHERE scope = ? AND key = ? AND owner = ? AND state = 'in_flight'`,
  );
  const abandon = db.prepare<[string, string, string]>(
    "DELETE FROM idempotency WHERE scope = ? AND key = ? AND owner = ? AND state = 'in_flight'",
  );
  const purge = db.prepare<[number]>('DELETE FROM idempotency WHERE expires_at <= ?');
  return {
    async begin(entry) {
      // IMMEDIATE takes the write lock before the read, so two processes cannot both claim the key.
      return begin.immediate(entry);
    },
    async complete(scope, key, owner, result) {
      const headers = result.headers === undefined ? null : JSON.stringify(result.headers);
      complete.run(result.status, result.body, headers, result.expiresAt, scope, key, owner);
    },
    async abandon(scope, key, owner) {
      abandon.run(scope, key, owner);
    },
    async get(scope, key, now) {
      const row = live.get(scope, key, now);
      return row && rowToIdempotency(row);
    },
    async purgeExpired(now) {
      return purge.run(now).changes;
    },
  };
}

/**
 * Stores on one SQLite file (SPEC STO-2): created with its directory on first use, migrated before
 * any statement is prepared. better-sqlite3 is synchronous; the async interface is kept so the
 * PostgreSQL store can slot in behind the same calls.
 */
export function openSqliteStores(options: { path: string }): Stores {
  const db = openSqliteDatabase(options.path);
  try {
    migrateSqliteDatabase(db);
  } catch (error) {
    db.close();
    throw error;
  }
  const ping = db.prepare('SELECT 1');
  return {
    keys: createSqliteKeyStore(db),
    principals: createSqlitePrincipalStore(db),
    ledger: createSqliteLedgerStore(db),
    meta: createSqliteMetaStore(db),
    idempotency: createSqliteIdempotencyStore(db),
    events: createSqliteEventLog(db),
    responses: createSqliteResponseStore(db),
    runs: createSqliteRunStore(db),
    async ping() {
      ping.get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
