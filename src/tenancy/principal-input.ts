import { z } from 'zod';
import type { PrincipalBudgets, PrincipalLimits, PrincipalPolicy, PrincipalRecord } from '../store/interfaces.js';

const count = z.number().int().positive().nullable().optional();
const usd = z.number().nonnegative().max(1e9).nullable().optional();

/** Limits as the admin API and CLI take them; `null` clears one. */
export const limitsInput = z.object({ rpm: count, inputTpm: count, outputTpm: count, concurrency: count }).strict();
/** Budgets in USD as the admin API and CLI take them; `null` clears one. */
export const budgetsInput = z
  .object({ dailyUsd: usd, monthlyUsd: usd, softThreshold: z.number().gt(0).max(1).nullable().optional() })
  .strict();

const policyFields = {
  allowedModels: z.array(z.string().min(1).max(200)).max(1000).nullable().optional(),
  limits: limitsInput.optional(),
  budgets: budgetsInput.optional(),
};
const name = z.string().trim().min(1).max(200);
const id = z.string().min(1).max(200);

/** `POST /admin/orgs`. */
export const orgCreateInput = z.object({ name, ...policyFields }).strict();
/** `POST /admin/teams`. */
export const teamCreateInput = z.object({ name, orgId: id, ...policyFields }).strict();
/** `POST /admin/users`. */
export const userCreateInput = z.object({ name, orgId: id.optional(), teamId: id.optional(), ...policyFields }).strict();
/** `PATCH /admin/{orgs,teams,users}/:id`. */
export const principalUpdateInput = z.object({ name: name.optional(), ...policyFields }).strict();

const lane = z.enum(['interactive', 'batch']);
const scopes = z.array(z.enum(['chat', 'embeddings', 'runs', 'runs:approve'])).min(1);
/** `POST /admin/keys`. */
export const keyCreateInput = z
  .object({ name, orgId: id.optional(), teamId: id.optional(), userId: id.optional(), scopes: scopes.optional(), expiresInDays: z.number().positive().optional(), lane: lane.optional(), ...policyFields })
  .strict();
/** `PATCH /admin/keys/:id`. */
export const keyUpdateInput = z.object({ name: name.optional(), lane: lane.nullable().optional(), ...policyFields }).strict();

/** The policy part of any create or update input. */
export type PolicyInput = { allowedModels?: string[] | null | undefined; limits?: z.infer<typeof limitsInput> | undefined; budgets?: z.infer<typeof budgetsInput> | undefined; lane?: 'interactive' | 'batch' | null | undefined };

const toMicros = (value: number) => Math.round(value * 1_000_000);

/** Applies `set` field by field over `base`: undefined keeps, null clears. */
function merge<T extends object>(base: T | undefined, set: Record<string, unknown> | undefined, convert: (key: string, value: unknown) => [string, unknown]): T | undefined {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(set ?? {})) {
    if (value === undefined) continue;
    const [field, converted] = convert(key, value);
    if (value === null) delete out[field];
    else out[field] = converted;
  }
  return Object.keys(out).length === 0 ? undefined : (out as T);
}

const BUDGET_FIELDS: Record<string, string> = { dailyUsd: 'dailyMicros', monthlyUsd: 'monthlyMicros', softThreshold: 'softThreshold' };

/** The policy after an input: each given field replaces, `null` clears, the rest stays. */
export function applyPolicyInput(base: PrincipalPolicy | undefined, input: PolicyInput): PrincipalPolicy {
  const policy: PrincipalPolicy = { ...base };
  if (input.allowedModels === null) delete policy.allowedModels;
  else if (input.allowedModels !== undefined) policy.allowedModels = [...new Set(input.allowedModels)];
  const limits = merge<PrincipalLimits>(base?.limits, input.limits, (key, value) => [key, value]);
  const budgets = merge<PrincipalBudgets>(base?.budgets, input.budgets, (key, value) => [BUDGET_FIELDS[key]!, key === 'softThreshold' ? value : toMicros(value as number)]);
  if (limits) policy.limits = limits;
  else delete policy.limits;
  if (budgets) policy.budgets = budgets;
  else delete policy.budgets;
  if (input.lane === null) delete policy.lane;
  else if (input.lane !== undefined) policy.lane = input.lane;
  return policy;
}

/** A policy as the admin API and CLI show it: budgets in USD. */
export function describePolicy(policy: PrincipalPolicy | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (policy?.allowedModels) out.allowedModels = policy.allowedModels;
  if (policy?.limits) out.limits = policy.limits;
  const budgets = policy?.budgets;
  if (budgets) {
    out.budgets = {
      ...(budgets.dailyMicros === undefined ? {} : { dailyUsd: budgets.dailyMicros / 1_000_000 }),
      ...(budgets.monthlyMicros === undefined ? {} : { monthlyUsd: budgets.monthlyMicros / 1_000_000 }),
      ...(budgets.softThreshold === undefined ? {} : { softThreshold: budgets.softThreshold }),
    };
  }
  if (policy?.lane) out.lane = policy.lane;
  return out;
}

/** A principal as the admin API and CLI show it. */
export function describePrincipal(record: PrincipalRecord): Record<string, unknown> {
  return {
    id: record.id,
    kind: record.kind,
    name: record.name,
    orgId: record.orgId,
    ...(record.teamId === undefined ? {} : { teamId: record.teamId }),
    ...describePolicy(record.policy),
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}
