import type { RequestRecord, UsageDimension, UsageQuery, UsageRow } from './interfaces.js';

/** Dimensions a usage report can group by, besides `tag:<name>` (SPEC MT-2). */
export const USAGE_DIMENSIONS = Object.freeze([
  'org', 'team', 'user', 'key', 'model', 'served_model', 'provider', 'route', 'lane', 'end_user', 'status', 'cold',
] as const);

const TAG_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The record field each plain dimension reads; the SQL column has the snake_case name. */
const FIELDS: Readonly<Record<(typeof USAGE_DIMENSIONS)[number], { field: keyof RequestRecord; column: string }>> = Object.freeze({
  org: { field: 'orgId', column: 'org_id' },
  team: { field: 'teamId', column: 'team_id' },
  user: { field: 'userId', column: 'user_id' },
  key: { field: 'keyId', column: 'key_id' },
  model: { field: 'requestedModel', column: 'requested_model' },
  served_model: { field: 'servedBy', column: 'served_by' },
  provider: { field: 'provider', column: 'provider' },
  route: { field: 'route', column: 'route' },
  lane: { field: 'lane', column: 'lane' },
  end_user: { field: 'endUser', column: 'end_user' },
  status: { field: 'status', column: 'CAST(status AS TEXT)' },
  // 'true' or 'false', never null: a warm request's record leaves the flag out (SPEC CS-3).
  cold: { field: 'cold', column: "CASE cold WHEN 1 THEN 'true' ELSE 'false' END" },
});

/** Parses `team,model,tag:feature`; throws a message naming the valid dimensions otherwise. */
export function parseUsageDimensions(list: string): UsageDimension[] {
  const dims = list.split(',').map((d) => d.trim()).filter((d) => d !== '');
  for (const dim of dims) {
    const ok = dim.startsWith('tag:') ? TAG_NAME.test(dim.slice(4)) : (USAGE_DIMENSIONS as readonly string[]).includes(dim);
    if (!ok) throw new Error(`unknown usage dimension '${dim}'; use ${USAGE_DIMENSIONS.join(', ')} or tag:<name>`);
  }
  if (new Set(dims).size !== dims.length) throw new Error('a usage dimension is repeated');
  return dims as UsageDimension[];
}

/** The SQL expression of a dimension and its bound parameter (tag names are bound, never spliced). */
export function usageSqlExpression(dim: UsageDimension): { sql: string; param?: string } {
  if (dim.startsWith('tag:')) return { sql: 'json_extract(tags, ?)', param: `$."${dim.slice(4)}"` };
  return { sql: FIELDS[dim as keyof typeof FIELDS].column };
}

function valueOf(record: RequestRecord, dim: UsageDimension): string | null {
  if (dim.startsWith('tag:')) return record.tags?.[dim.slice(4)] ?? null;
  if (dim === 'cold') return record.cold ? 'true' : 'false';
  const value = record[FIELDS[dim as keyof typeof FIELDS].field];
  return value === undefined || value === null ? null : String(value);
}

/** Costliest first, then by group values, so both backends order ties the same way. */
export function compareUsageRows(a: UsageRow, b: UsageRow): number {
  if (a.costMicros !== b.costMicros) return b.costMicros - a.costMicros;
  const left = JSON.stringify(Object.values(a.group));
  const right = JSON.stringify(Object.values(b.group));
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The in-memory usage report (the memory ledger and tests). */
export function aggregateUsage(records: Iterable<RequestRecord>, query: UsageQuery): UsageRow[] {
  const groups = new Map<string, UsageRow>();
  for (const record of records) {
    if (record.createdAt < query.since || (query.until !== undefined && record.createdAt >= query.until)) continue;
    const group: Record<string, string | null> = {};
    for (const dim of query.groupBy) group[dim] = valueOf(record, dim);
    const id = JSON.stringify(group);
    let row = groups.get(id);
    if (!row) groups.set(id, (row = { group, requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, reasoningTokens: 0, costMicros: 0 }));
    row.requests++;
    if (record.status >= 400) row.errors++;
    row.inputTokens += record.inputTokens;
    row.outputTokens += record.outputTokens;
    row.cachedTokens += record.cacheReadTokens;
    row.reasoningTokens += record.reasoningTokens;
    row.costMicros += record.costMicros;
  }
  return [...groups.values()].sort(compareUsageRows);
}
