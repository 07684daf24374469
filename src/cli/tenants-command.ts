import type { Config } from '../config/schema.js';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { PrincipalKind, Stores } from '../store/interfaces.js';
import type { KeyService } from '../tenancy/key-service.js';
import type { PrincipalService } from '../tenancy/principal-service.js';
import { configOverridesFrom, type CommonOptions } from './common-options.js';
import { printTable } from './output.js';

/** What the tenancy commands work with: the stores of the data dir, offline. */
export interface TenancyContext {
  config: Config;
  stores: Stores;
  keys: KeyService;
  principals: PrincipalService;
}

/**
 * Opens the data dir's stores for one command. A running gateway sees changes within
 * `tenancy.cacheTtlMs` (5 s by default); the admin API applies them at once.
 */
export async function withTenancy<T>(options: CommonOptions, run: (context: TenancyContext) => Promise<T>): Promise<T> {
  // Imported on use so the other commands (start above all) load none of this.
  const [{ systemClock }, { loadConfig }, { openStores }, { loadOrCreatePepper }, { createKeyService }, { PrincipalService }] = await Promise.all([
    import('../core/clock.js'),
    import('../config/load-config.js'),
    import('../store/stores.js'),
    import('../tenancy/key-hash.js'),
    import('../tenancy/key-service.js'),
    import('../tenancy/principal-service.js'),
  ]);
  const config = loadConfig({ path: options.config, overrides: configOverridesFrom(options) });
  const dataDir = resolve(config.server.dataDir);
  const stores = await openStores(config, { dataDir });
  try {
    const keys = createKeyService({ store: stores.keys, pepper: loadOrCreatePepper(dataDir, process.env), clock: systemClock });
    return await run({ config, stores, keys, principals: new PrincipalService({ stores, keys, clock: systemClock }) });
  } finally {
    await stores.close();
  }
}

/** Flags every principal and key command shares for limits, budgets and allow-lists. */
export interface PolicyFlags {
  models?: string;
  rpm?: string;
  inputTpm?: string;
  outputTpm?: string;
  concurrency?: string;
  dailyUsd?: string;
  monthlyUsd?: string;
  softThreshold?: string;
}

/** Adds the policy flags to a command. */
export function policyOptions(cmd: Command): Command {
  return cmd
    .option('--models <list>', "comma-separated model allow-list ('none' clears it)")
    .option('--rpm <n>', "requests per minute ('none' clears)")
    .option('--input-tpm <n>', 'input tokens per minute')
    .option('--output-tpm <n>', 'output tokens per minute')
    .option('--concurrency <n>', 'requests in flight at once')
    .option('--daily-usd <usd>', 'daily spend cap in USD')
    .option('--monthly-usd <usd>', 'monthly spend cap in USD')
    .option('--soft-threshold <share>', 'share of a cap that fires the soft alert (default 0.8)');
}

function number(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`'${value}' is not a number`);
  return parsed;
}

/** The policy part of an admin input, from flags; the zod schema checks it after. */
export function policyFromFlags(flags: PolicyFlags): Record<string, unknown> {
  const limits = { rpm: number(flags.rpm), inputTpm: number(flags.inputTpm), outputTpm: number(flags.outputTpm), concurrency: number(flags.concurrency) };
  const budgets = { dailyUsd: number(flags.dailyUsd), monthlyUsd: number(flags.monthlyUsd), softThreshold: number(flags.softThreshold) };
  const defined = (o: Record<string, unknown>) => (Object.values(o).some((v) => v !== undefined) ? o : undefined);
  const models = flags.models === undefined ? undefined : flags.models === 'none' ? null : flags.models.split(',').map((m) => m.trim()).filter(Boolean);
  return { allowedModels: models, limits: defined(limits), budgets: defined(budgets) };
}

/** Validates CLI input with the admin API's schema, so both refuse the same things the same way. */
export function checked<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, value: unknown): T {
  const parsed = schema.safeParse(JSON.parse(JSON.stringify(value)));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new Error(`${issue.path.join('.') || 'input'}: ${issue.message}`);
}

/** The flags every tenancy command takes. */
export const common = (cmd: Command) =>
  cmd.option('-c, --config <file>', 'config file').option('--data-dir <dir>', 'state directory').option('--json', 'machine-readable output');

function registerPrincipalCommand(program: Command, kind: PrincipalKind, command: string, description: string): void {
  const group = program.command(command).description(description);
  const create = common(policyOptions(group.command('create').description(`create a ${kind}`).argument('<name>', `${kind} name`)));
  if (kind === 'team') create.requiredOption('--org <org>', 'org id or name');
  if (kind === 'user') create.option('--org <org>', 'org id or name').option('--team <team>', 'team id or name');
  create.action(async (name: string, options: CommonOptions & PolicyFlags & { org?: string; team?: string; json?: boolean }) => {
    const { orgCreateInput, teamCreateInput, userCreateInput } = await import('../tenancy/principal-input.js');
    const schema = kind === 'org' ? orgCreateInput : kind === 'team' ? teamCreateInput : userCreateInput;
    const input = checked(schema, { name, orgId: options.org, teamId: options.team, ...policyFromFlags(options) });
    const { describePrincipal } = await import('../tenancy/principal-input.js');
    const record = await withTenancy(options, ({ principals }) => principals.create(kind as 'org', input as never, 'cli'));
    print(options, [describePrincipal(record)]);
  });

  common(group.command('list').description(`list ${kind}s`)).action(async (options: CommonOptions & { json?: boolean }) => {
    const { describePrincipal } = await import('../tenancy/principal-input.js');
    const records = await withTenancy(options, ({ principals }) => principals.list(kind));
    print(options, records.map(describePrincipal));
  });

  common(policyOptions(group.command('update').description(`change a ${kind}'s limits, budgets or allow-list`).argument('<id>', `${kind} id or name`)))
    .option('--name <name>', 'new name')
    .action(async (id: string, options: CommonOptions & PolicyFlags & { name?: string; json?: boolean }) => {
      const { principalUpdateInput, describePrincipal } = await import('../tenancy/principal-input.js');
      const input = checked(principalUpdateInput, { name: options.name, ...policyFromFlags(options) });
      const record = await withTenancy(options, ({ principals }) => principals.update(kind, id, input, 'cli'));
      print(options, [describePrincipal(record)]);
    });

  common(group.command('delete').description(`delete a ${kind} nothing hangs under`).argument('<id>', `${kind} id or name`)).action(async (id: string, options: CommonOptions & { json?: boolean }) => {
    await withTenancy(options, ({ principals }) => principals.delete(kind, id, 'cli'));
    print(options, [{ id, deleted: true }]);
  });
}

/** Prints records as JSON lines (`--json`) or a table. */
export function print(options: { json?: boolean }, rows: Array<Record<string, unknown>>): void {
  if (options.json) {
    process.stdout.write(JSON.stringify(rows.length === 1 ? rows[0] : rows) + '\n');
    return;
  }
  const flat = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : v])));
  const columns = [...new Set(flat.flatMap((row) => Object.keys(row)))];
  printTable(flat, columns);
}

/** `breakwater tenants|teams|users create|list|update|delete`. */
export function registerTenantsCommand(program: Command): void {
  registerPrincipalCommand(program, 'org', 'tenants', 'manage orgs (tenants): limits, budgets, model allow-lists');
  registerPrincipalCommand(program, 'team', 'teams', 'manage teams inside an org');
  registerPrincipalCommand(program, 'user', 'users', 'manage users inside an org or team');
}
