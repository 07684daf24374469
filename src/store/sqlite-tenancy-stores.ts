import type { AuditEntry, PrincipalRecord, PrincipalStore, UsageQuery, UsageRow } from './interfaces.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { compareUsageRows, usageSqlExpression } from './usage-query.js';

export interface PrincipalRow {
  id: string;
  kind: PrincipalRecord['kind'];
  name: string;
  org_id: string;
  team_id: string | null;
  policy: string;
  created_at: number;
  updated_at: number;
}

export interface AuditRow {
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string | null;
}

export function rowToPrincipal(row: PrincipalRow): PrincipalRecord {
  const record: PrincipalRecord = {
    id: row.id,
    kind: row.kind,
    name: row.name,
    orgId: row.org_id,
    policy: JSON.parse(row.policy) as PrincipalRecord['policy'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.team_id !== null) record.teamId = row.team_id;
  return record;
}

export function rowToAudit(row: AuditRow): AuditEntry {
  const entry: AuditEntry = { at: row.at, actor: row.actor, action: row.action, target: row.target };
  if (row.detail !== null) entry.detail = JSON.parse(row.detail) as Record<string, unknown>;
  return entry;
}

/** Orgs, teams, users and the audit trail on SQLite. */
export function createSqlitePrincipalStore(db: SqliteDatabase): PrincipalStore {
  const put = db.prepare<[PrincipalRow]>(
    `INSERT INTO principals (id, kind, name, org_id, team_id, policy, created_at, updated_at)
     VALUES (@id, @kind, @name, @org_id, @team_id, @policy, @created_at, @updated_at)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, team_id = excluded.team_id, policy = excluded.policy, updated_at = excluded.updated_at`,
  );
  const byId = db.prepare<[string], PrincipalRow>('SELECT * FROM principals WHERE id = ?');
  const all = db.prepare<[], PrincipalRow>('SELECT * FROM principals ORDER BY created_at, rowid');
  const ofKind = db.prepare<[string], PrincipalRow>('SELECT * FROM principals WHERE kind = ? ORDER BY created_at, rowid');
  const remove = db.prepare<[string]>('DELETE FROM principals WHERE id = ?');
  const audit = db.prepare<[AuditRow]>('INSERT INTO audit (at, actor, action, target, detail) VALUES (@at, @actor, @action, @target, @detail)');
  const recentAudit = db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE at >= ? ORDER BY seq DESC LIMIT ?');
  return {
    async putPrincipal(record) {
      put.run({
        id: record.id,
        kind: record.kind,
        name: record.name,
        org_id: record.orgId,
        team_id: record.teamId ?? null,
        policy: JSON.stringify(record.policy),
        created_at: record.createdAt,
        updated_at: record.updatedAt,
      });
    },
    async getPrincipal(id) {
      const row = byId.get(id);
      return row && rowToPrincipal(row);
    },
    async listPrincipals(kind) {
      return (kind ? ofKind.all(kind) : all.all()).map(rowToPrincipal);
    },
    async deletePrincipal(id) {
      return remove.run(id).changes === 1;
    },
    async appendAudit(entry) {
      audit.run({ at: entry.at, actor: entry.actor, action: entry.action, target: entry.target, detail: entry.detail === undefined ? null : JSON.stringify(entry.detail) });
    },
    async listAudit({ limit, since }) {
      return recentAudit.all(since ?? Number.MIN_SAFE_INTEGER, Math.max(0, limit)).map(rowToAudit);
    },
  };
}

export interface UsageSqlRow {
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_micros: number;
  [group: `g${number}`]: string | null;
}

/** One grouped usage row of either SQL store as the report shape. */
export function usageRowOf(row: UsageSqlRow, groupBy: readonly string[]): UsageRow {
  const group: Record<string, string | null> = {};
  groupBy.forEach((dim, i) => (group[dim] = row[`g${i}`] === null ? null : String(row[`g${i}`])));
  return {
    group,
    requests: row.requests,
    errors: row.errors,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cachedTokens: row.cached_tokens,
    reasoningTokens: row.reasoning_tokens,
    costMicros: row.cost_micros,
  };
}

/** A usage report straight from the `requests` table (hourly rollups are future work). */
export function sqliteUsage(db: SqliteDatabase, query: UsageQuery): Promise<UsageRow[]> {
  const expressions = query.groupBy.map(usageSqlExpression);
  const select = expressions.map((e, i) => `${e.sql} AS g${i}`);
  const params: unknown[] = expressions.flatMap((e) => (e.param === undefined ? [] : [e.param]));
  params.push(query.since, query.until ?? Number.MAX_SAFE_INTEGER);
  // Grouped by position so each tag expression (and its bound name) appears once.
  const sql = `SELECT ${[...select, 'COUNT(*) AS requests', 'SUM(status >= 400) AS errors', 'SUM(input_tokens) AS input_tokens',
    'SUM(output_tokens) AS output_tokens', 'SUM(cache_read_tokens) AS cached_tokens', 'SUM(reasoning_tokens) AS reasoning_tokens',
    'SUM(cost_micros) AS cost_micros'].join(', ')}
    FROM requests WHERE created_at >= ? AND created_at < ?
    ${select.length > 0 ? `GROUP BY ${select.map((_, i) => i + 1).join(', ')}` : ''}`;
  const rows = db.prepare(sql).all(...params) as UsageSqlRow[];
  const result = rows
    .filter((row) => row.requests > 0)
    .map((row) => usageRowOf(row, query.groupBy));
  return Promise.resolve(result.sort(compareUsageRows));
}
