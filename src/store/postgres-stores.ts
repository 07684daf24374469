import { toStoredResponse, type ResponseRow } from './sqlite-event-log.js';
import type { AuditEntry, KeyStore, LedgerStore, MetaStore, PrincipalRecord, PrincipalStore, RequestRecord, ResponseStore, UsageQuery, UsageRow } from './interfaces.js';
import type { PostgresDatabase } from './postgres-database.js';
import { KEY_COLUMNS, keyToRow, REQUEST_COLUMNS, requestValues, rowToKey, rowToRequest, type KeyRow, type RequestRow } from './sql-rows.js';
import { rowToAudit, rowToPrincipal, usageRowOf, type AuditRow, type PrincipalRow, type UsageSqlRow } from './sqlite-tenancy-stores.js';
import { compareUsageRows, usageSqlExpression } from './usage-query.js';

/** Rows per INSERT: 31 columns × 1 000 stays well under PostgreSQL's 65 535 parameters. */
const LEDGER_CHUNK = 1_000;

const placeholders = (rows: number, columns: number) =>
  Array.from({ length: rows }, (_, r) => `(${Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`).join(', ')})`).join(', ');

export function createPostgresKeyStore({ pool }: PostgresDatabase): KeyStore {
  const insert = `INSERT INTO keys (${KEY_COLUMNS.join(', ')}) VALUES ${placeholders(1, KEY_COLUMNS.length)}`;
  const one = async (sql: string, params: unknown[]) => (await pool.query<KeyRow>(sql, params)).rows[0];
  return {
    async insertKey(record) {
      const row = keyToRow(record);
      await pool.query(insert, KEY_COLUMNS.map((column) => row[column]));
    },
    async findKeyByHash(hash) {
      const row = await one('SELECT * FROM keys WHERE hash = $1', [hash]);
      return row && rowToKey(row);
    },
    async getKey(id) {
      const row = await one('SELECT * FROM keys WHERE id = $1', [id]);
      return row && rowToKey(row);
    },
    async listKeys() {
      return (await pool.query<KeyRow>('SELECT * FROM keys ORDER BY created_at, seq')).rows.map(rowToKey);
    },
    async revokeKey(id, at) {
      return (await pool.query('UPDATE keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount === 1;
    },
    async countKeys(kind) {
      return (await pool.query<{ count: number }>('SELECT COUNT(*) AS count FROM keys WHERE kind = $1', [kind])).rows[0]?.count ?? 0;
    },
    async updateKey(id, patch) {
      const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
      const result = await pool.query('UPDATE keys SET name = $1, allowed_models = $2, policy = $3 WHERE id = $4', [patch.name, json(patch.allowedModels), json(patch.policy), id]);
      return result.rowCount === 1;
    },
  };
}

/** The ledger in multi-row INSERTs (SPEC STO-5); a replayed batch skips rows already written. */
export function createPostgresLedgerStore({ pool }: PostgresDatabase): LedgerStore {
  const insert = (rows: number) =>
    `INSERT INTO requests (${REQUEST_COLUMNS.join(', ')}) VALUES ${placeholders(rows, REQUEST_COLUMNS.length)} ON CONFLICT (id) DO NOTHING`;
  return {
    async appendRequests(records: RequestRecord[]) {
      for (let start = 0; start < records.length; start += LEDGER_CHUNK) {
        const chunk = records.slice(start, start + LEDGER_CHUNK);
        await pool.query(insert(chunk.length), chunk.flatMap(requestValues));
      }
    },
    async getRequest(id) {
      const row = (await pool.query<RequestRow>('SELECT * FROM requests WHERE id = $1', [id])).rows[0];
      return row && rowToRequest(row);
    },
    async listRequests({ limit, since }) {
      const { rows } = await pool.query<RequestRow>('SELECT * FROM requests WHERE created_at >= $1 ORDER BY created_at DESC, seq DESC LIMIT $2', [
        since ?? Number.MIN_SAFE_INTEGER,
        Math.max(0, limit),
      ]);
      return rows.map(rowToRequest);
    },
    usage: (query) => postgresUsage(pool, query),
  };
}

async function postgresUsage(pool: PostgresDatabase['pool'], query: UsageQuery): Promise<UsageRow[]> {
  const params: unknown[] = [];
  const select = query.groupBy.map((dim, i) => {
    const expression = usageSqlExpression(dim);
    if (expression.param === undefined) return `${expression.sql} AS g${i}`;
    params.push(dim.slice(4));
    return `(tags::jsonb ->> $${params.length}) AS g${i}`;
  });
  params.push(query.since, query.until ?? Number.MAX_SAFE_INTEGER);
  const sql = `SELECT ${[...select, 'COUNT(*) AS requests', 'SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors', 'SUM(input_tokens) AS input_tokens',
    'SUM(output_tokens) AS output_tokens', 'SUM(cache_read_tokens) AS cached_tokens', 'SUM(reasoning_tokens) AS reasoning_tokens',
    'SUM(cost_micros) AS cost_micros'].join(', ')}
    FROM requests WHERE created_at >= $${params.length - 1} AND created_at < $${params.length}
    ${select.length > 0 ? `GROUP BY ${select.map((_, i) => i + 1).join(', ')}` : ''}`;
  const { rows } = await pool.query<UsageSqlRow>(sql, params);
  return rows
    .filter((row) => row.requests > 0)
    .map((row) => usageRowOf(row, query.groupBy))
    .sort(compareUsageRows);
}

export function createPostgresMetaStore({ pool }: PostgresDatabase): MetaStore {
  return {
    async getMeta(key) {
      return (await pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
    },
    async setMeta(key, value) {
      await pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
    },
  };
}

export function createPostgresPrincipalStore({ pool }: PostgresDatabase): PrincipalStore {
  return {
    async putPrincipal(record: PrincipalRecord) {
      await pool.query(
        `INSERT INTO principals (id, kind, name, org_id, team_id, policy, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, team_id = excluded.team_id, policy = excluded.policy, updated_at = excluded.updated_at`,
        [record.id, record.kind, record.name, record.orgId, record.teamId ?? null, JSON.stringify(record.policy), record.createdAt, record.updatedAt],
      );
    },
    async getPrincipal(id) {
      const row = (await pool.query<PrincipalRow>('SELECT * FROM principals WHERE id = $1', [id])).rows[0];
      return row && rowToPrincipal(row);
    },
    async listPrincipals(kind) {
      const { rows } = kind
        ? await pool.query<PrincipalRow>('SELECT * FROM principals WHERE kind = $1 ORDER BY created_at, seq', [kind])
        : await pool.query<PrincipalRow>('SELECT * FROM principals ORDER BY created_at, seq');
      return rows.map(rowToPrincipal);
    },
    async deletePrincipal(id) {
      return (await pool.query('DELETE FROM principals WHERE id = $1', [id])).rowCount === 1;
    },
    async appendAudit(entry: AuditEntry) {
      await pool.query('INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [
        entry.at,
        entry.actor,
        entry.action,
        entry.target,
        entry.detail === undefined ? null : JSON.stringify(entry.detail),
      ]);
    },
    async listAudit({ limit, since }) {
      const { rows } = await pool.query<AuditRow>('SELECT * FROM audit WHERE at >= $1 ORDER BY seq DESC LIMIT $2', [since ?? Number.MIN_SAFE_INTEGER, Math.max(0, limit)]);
      return rows.map(rowToAudit);
    },
  };
}


export function createPostgresResponseStore({ pool }: PostgresDatabase): ResponseStore {
  return {
    async putResponse(record) {
      await pool.query(
        `INSERT INTO responses (id, tenant, status, body, conversation, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body, conversation = excluded.conversation, expires_at = excluded.expires_at`,
        [record.id, record.tenant, record.status, record.body, record.conversation, record.createdAt, record.expiresAt],
      );
    },
    async getResponse(id) {
      const row = (await pool.query<ResponseRow>('SELECT * FROM responses WHERE id = $1', [id])).rows[0];
      return row && toStoredResponse(row);
    },
    async deleteResponse(id) {
      return (await pool.query('DELETE FROM responses WHERE id = $1', [id])).rowCount === 1;
    },
    async purgeExpiredResponses(now) {
      return (await pool.query('DELETE FROM responses WHERE expires_at <= $1', [now])).rowCount ?? 0;
    },
  };
}
