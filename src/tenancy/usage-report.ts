import type { PrincipalRecord, UsageRow } from '../store/interfaces.js';

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time as the usage API and CLI take it: `7d`, `24h`, `30m`, `2w` before `now`, an
 * ISO date or date-time, or epoch milliseconds. Throws a message saying which forms work.
 */
export function parseTime(text: string, now: number): number {
  const relative = /^(\d+)([mhdw])$/.exec(text.trim());
  if (relative) return now - Number(relative[1]) * UNITS[relative[2]!]!;
  if (/^\d{10,}$/.test(text.trim())) return Number(text);
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw new Error(`'${text}' is not a time; use 7d, 24h, 30m, an ISO date (2026-01-31) or epoch ms`);
  return parsed;
}

/** A usage row as the API and CLI show it: names next to ids, cost in USD. */
export type UsageLine = Record<string, string | number | null>;

/** Turns rows into lines, adding `<dim>_name` for org, team and user groups. */
export function usageLines(rows: readonly UsageRow[], principals: readonly PrincipalRecord[]): UsageLine[] {
  const names = new Map(principals.map((p) => [p.id, p.name]));
  return rows.map((row) => {
    const line: UsageLine = {};
    for (const [dim, value] of Object.entries(row.group)) {
      line[dim] = value;
      if ((dim === 'org' || dim === 'team' || dim === 'user') && value !== null) line[`${dim}_name`] = names.get(value) ?? null;
    }
    line.requests = row.requests;
    line.errors = row.errors;
    line.input_tokens = row.inputTokens;
    line.output_tokens = row.outputTokens;
    line.cached_tokens = row.cachedTokens;
    line.reasoning_tokens = row.reasoningTokens;
    line.cost_usd = row.costMicros / 1_000_000;
    return line;
  });
}

function csvCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Lines as CSV with a header row. */
export function usageCsv(lines: readonly UsageLine[], columns: readonly string[]): string {
  return [columns.join(','), ...lines.map((line) => columns.map((c) => csvCell(line[c] ?? null)).join(','))].join('\n') + '\n';
}

/** The columns of a report grouped by `groupBy`, in order. */
export function usageColumns(groupBy: readonly string[]): string[] {
  const columns: string[] = [];
  for (const dim of groupBy) {
    columns.push(dim);
    if (dim === 'org' || dim === 'team' || dim === 'user') columns.push(`${dim}_name`);
  }
  return [...columns, 'requests', 'errors', 'input_tokens', 'output_tokens', 'cached_tokens', 'reasoning_tokens', 'cost_usd'];
}
