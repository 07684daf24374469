import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { KeyRecord, KeyScope } from '../store/interfaces.js';
import type { KeyService } from '../tenancy/key-service.js';
import { configOverridesFrom, type CommonOptions } from './common-options.js';
import { printTable } from './output.js';
import { checked, common, policyFromFlags, policyOptions, print, withTenancy, type PolicyFlags } from './tenants-command.js';

async function withKeyService<T>(options: CommonOptions, run: (keys: KeyService) => Promise<T>): Promise<T> {
  // Imported on use so the other commands (start above all) load none of this.
  const [{ systemClock }, { loadConfig }, { openStores }, { loadOrCreatePepper }, { createKeyService }] = await Promise.all([
    import('../core/clock.js'),
    import('../config/load-config.js'),
    import('../store/stores.js'),
    import('../tenancy/key-hash.js'),
    import('../tenancy/key-service.js'),
  ]);
  const config = loadConfig({ path: options.config, overrides: configOverridesFrom(options) });
  const dataDir = resolve(config.server.dataDir);
  const stores = await openStores(config, { dataDir });
  try {
    return await run(createKeyService({ store: stores.keys, pepper: loadOrCreatePepper(dataDir, process.env), clock: systemClock }));
  } finally {
    await stores.close();
  }
}

function describe(record: KeyRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    kind: record.kind,
    scopes: record.scopes.join(','),
    created: new Date(record.createdAt).toISOString(),
    expires: record.expiresAt ? new Date(record.expiresAt).toISOString() : '',
    revoked: record.revokedAt ? new Date(record.revokedAt).toISOString() : '',
    org: record.orgId ?? '',
    team: record.teamId ?? '',
    user: record.userId ?? '',
  };
}

/** `breakwater keys create|list|update|revoke`. */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke virtual keys');

  common(policyOptions(keys.command('create').description('create a key and print it once')))
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .option('--admin', 'create an admin key (manages the gateway; cannot call models)')
    .option('--scopes <list>', 'comma-separated scopes (default chat,embeddings,runs)')
    .option('--org <org>', 'org id or name the key belongs to')
    .option('--team <team>', 'team id or name (implies its org)')
    .option('--user <user>', 'user id or name (implies team and org)')
    .option('--lane <lane>', 'default lane: interactive or batch')
    .option('--expires-in-days <n>', 'expire after this many days')
    .action(async (options: CommonOptions & PolicyFlags & { name: string; admin?: boolean; scopes?: string; org?: string; team?: string; user?: string; lane?: string; expiresInDays?: string; json?: boolean }) => {
      const scopes = options.scopes ? (options.scopes.split(',').map((s) => s.trim()) as KeyScope[]) : undefined;
      const expiresInDays = options.expiresInDays ? Number(options.expiresInDays) : undefined;
      const created = options.admin
        ? await withKeyService(options, (service) =>
            service.create({ name: options.name, kind: 'admin', scopes, expiresAt: expiresInDays ? Date.now() + expiresInDays * 86_400_000 : undefined }),
          )
        : await withTenancy(options, async ({ principals }) => {
            const { keyCreateInput } = await import('../tenancy/principal-input.js');
            const input = checked(keyCreateInput, { name: options.name, scopes, orgId: options.org, teamId: options.team, userId: options.user, lane: options.lane, expiresInDays, ...policyFromFlags(options) });
            return principals.createKey(input, 'cli');
          });
      if (options.json) process.stdout.write(JSON.stringify({ key: created.key, ...describe(created.record) }) + '\n');
      else process.stdout.write(`${created.key}\n`), process.stderr.write(`created key ${created.record.id} (${created.record.name}); it is shown only once\n`);
    });

  common(keys.command('list').description('list keys (never the keys themselves)')).action(async (options: CommonOptions & { json?: boolean }) => {
    const records = await withKeyService(options, (service) => service.list());
    const rows = records.map(describe);
    if (options.json) process.stdout.write(JSON.stringify(rows) + '\n');
    else printTable(rows, ['id', 'name', 'prefix', 'kind', 'scopes', 'created', 'revoked']);
  });

  common(policyOptions(keys.command('update').description("change a key's limits, budgets, allow-list or lane").argument('<id>', 'key id')))
    .option('--name <name>', 'new name')
    .option('--lane <lane>', "default lane: interactive or batch ('none' clears)")
    .action(async (id: string, options: CommonOptions & PolicyFlags & { name?: string; lane?: string; json?: boolean }) => {
      const { keyUpdateInput } = await import('../tenancy/principal-input.js');
      const input = checked(keyUpdateInput, { name: options.name, lane: options.lane === 'none' ? null : options.lane, ...policyFromFlags(options) });
      const record = await withTenancy(options, ({ principals }) => principals.updateKey(id, input, 'cli'));
      print(options, [{ ...describe(record), ...(record.policy ? { policy: record.policy } : {}) }]);
    });

  common(keys.command('revoke').description('revoke a key by id or prefix').argument('<key>', 'key id or prefix'))
    .action(async (id: string, options: CommonOptions & { json?: boolean }) => {
      const revoked = await withTenancy(options, ({ principals }) => principals.revokeKey(id, 'cli'));
      if (options.json) process.stdout.write(JSON.stringify({ id, revoked }) + '\n');
      else process.stderr.write(revoked ? `revoked ${id}\n` : `no active key matches ${id}\n`);
      if (!revoked) process.exitCode = 1;
    });
}
