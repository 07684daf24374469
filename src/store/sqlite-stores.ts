import {
  DEFAULT_IDEMPOTENCY_LEASE_MS,
  type IdempotencyBegin,
  type IdempotencyBeginEntry,
  type IdempotencyRecord,
  type IdempotencyStore,
  type KeyRecord,
  type KeyScope,
  type KeyStore,
  type LedgerStore,
  type MetaStore,
  type RequestRecord,
  type Stores,
} from './interfaces.js';
import { migrateSqliteDatabase } from './migrator.js';
import { createSqliteEventLog, createSqliteResponseStore } from './sqlite-event-log.js';
import { createSqliteRunStore } from './sqlite-run-store.js';
import { openSqliteDatabase, type SqliteDatabase } from './sqlite-database.js';

interface KeyRow {
  id: string;
  name: string;
  hash: string;
  prefix: string;
  kind: KeyRecord['kind'];
  scopes: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  org_id: string | null;
  team_id: string | null;
  user_id: string | null;
  allowed_models: string | null;
}

interface RequestRow {
  id: string;
  created_at: number;
  key_id: string;
  dialect: string;
  endpoint: string;
  requested_model: string;
  served_by: string | null;
  provider: string | null;
  status: number;
  error_code: string | null;
  stream: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  usage_estimated: number;
  cost_micros: number;
  price_missing: number;
  attempts: number;
  latency_ms: number;
  ttft_ms: number | null;
  overhead_ms: number | null;
  tags: string | null;
  end_user: string | null;
}

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

function keyToRow(record: KeyRecord): KeyRow {
  return {
    id: record.id,
    name: record.name,
    hash: record.hash,
    prefix: record.prefix,
    kind: record.kind,
    scopes: JSON.stringify(record.scopes),
    created_at: record.createdAt,
    expires_at: orNull(record.expiresAt),
    revoked_at: orNull(record.revokedAt),
    org_id: orNull(record.orgId),
    team_id: orNull(record.teamId),
    user_id: orNull(record.userId),
    allowed_models: record.allowedModels === undefined ? null : JSON.stringify(record.allowedModels),
  };
}

function rowToKey(row: KeyRow): KeyRecord {
  const record: KeyRecord = {
    id: row.id,
    name: row.name,
    hash: row.hash,
    prefix: row.prefix,
    kind: row.kind,
    scopes: JSON.parse(row.scopes) as KeyScope[],
    createdAt: row.created_at,
  };
  // Optional fields are left out rather than set to undefined so records compare equal across stores.
  if (row.expires_at !== null) record.expiresAt = row.expires_at;
  if (row.revoked_at !== null) record.revokedAt = row.revoked_at;
  if (row.org_id !== null) record.orgId = row.org_id;
  if (row.team_id !== null) record.teamId = row.team_id;
  if (row.user_id !== null) record.userId = row.user_id;
  if (row.allowed_models !== null) record.allowedModels = JSON.parse(row.allowed_models) as string[];
  return record;
}

function requestToRow(record: RequestRecord): RequestRow {
  return {
    id: record.id,
    created_at: record.createdAt,
    key_id: record.keyId,
    dialect: record.dialect,
    endpoint: record.endpoint,
    requested_model: record.requestedModel,
    served_by: orNull(record.servedBy),
    provider: orNull(record.provider),
    status: record.status,
    error_code: orNull(record.errorCode),
    stream: record.stream ? 1 : 0,
    input_tokens: record.inputTokens,
    output_tokens: record.outputTokens,
    cache_read_tokens: record.cacheReadTokens,
    cache_write_tokens: record.cacheWriteTokens,
    reasoning_tokens: record.reasoningTokens,
    usage_estimated: record.usageEstimated ? 1 : 0,
    cost_micros: record.costMicros,
    price_missing: record.priceMissing ? 1 : 0,
    attempts: record.attempts,
    latency_ms: record.latencyMs,
    ttft_ms: orNull(record.ttftMs),
    overhead_ms: orNull(record.overheadMs),
    tags: record.tags === undefined ? null : JSON.stringify(record.tags),
    end_user: orNull(record.endUser),
  };
}

function rowToRequest(row: RequestRow): RequestRecord {
  const record: RequestRecord = {
    id: row.id,
    createdAt: row.created_at,
    keyId: row.key_id,
    dialect: row.dialect,
    endpoint: row.endpoint,
    requestedModel: row.requested_model,
    status: row.status,
    stream: row.stream === 1,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cacheReadTokens: row.cache_read_tokens,
    cacheWriteTokens: row.cache_write_tokens,
    reasoningTokens: row.reasoning_tokens,
    usageEstimated: row.usage_estimated === 1,
    costMicros: row.cost_micros,
    priceMissing: row.price_missing === 1,
    attempts: row.attempts,
    latencyMs: row.latency_ms,
  };
  if (row.served_by !== null) record.servedBy = row.served_by;
  if (row.provider !== null) record.provider = row.provider;
  if (row.error_code !== null) record.errorCode = row.error_code;
  if (row.ttft_ms !== null) record.ttftMs = row.ttft_ms;
  if (row.overhead_ms !== null) record.overheadMs = row.overhead_ms;
  if (row.tags !== null) record.tags = JSON.parse(row.tags) as Record<string, string>;
  if (row.end_user !== null) record.endUser = row.end_user;
  return record;
}

const KEY_COLUMNS = [
  'id', 'name', 'hash', 'prefix', 'kind', 'scopes', 'created_at', 'expires_at', 'revoked_at', 'org_id', 'team_id',
  'user_id', 'allowed_models',
] as const;
const REQUEST_COLUMNS = [
  'id', 'created_at', 'key_id', 'dialect', 'endpoint', 'requested_model', 'served_by', 'provider', 'status',
  'error_code', 'stream', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens',
  'reasoning_tokens', 'usage_estimated', 'cost_micros', 'price_missing', 'attempts', 'latency_ms', 'ttft_ms',
  'overhead_ms', 'tags', 'end_user',
] as const;

const insertSql = (table: string, columns: readonly string[], onConflict = '') =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})${onConflict}`;

function createSqliteKeyStore(db: SqliteDatabase): KeyStore {
  const insert = db.prepare<[KeyRow]>(insertSql('keys', KEY_COLUMNS));
  const byHash = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE hash = ?');
  const byId = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE id = ?');
  const all = db.prepare<[], KeyRow>('SELECT * FROM keys ORDER BY created_at, rowid');
  const revoke = db.prepare<[number, string]>('UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const count = db.prepare<[string], { count: number }>('SELECT COUNT(*) AS count FROM keys WHERE kind = ?');
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
  };
}

function createSqliteLedgerStore(db: SqliteDatabase): LedgerStore {
  // A batch replayed from the spool must not fail on rows already written; only the id conflict is
  // ignored (OR IGNORE would also drop rows that break NOT NULL).
  const insert = db.prepare<[RequestRow]>(insertSql('requests', REQUEST_COLUMNS, ' ON CONFLICT (id) DO NOTHING'));
  const insertBatch = db.transaction((records: RequestRecord[]) => {
    for (const record of records) insert.run(requestToRow(record));
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
