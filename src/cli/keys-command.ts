import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { KeyRecord, KeyScope } from '../store/interfaces.js';
import type { KeyService } from '../tenancy/key-service.js';
import { configOverridesFrom, type CommonOptions } from './common-options.js';
import { printTable } from './output.js';

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
  };
}

/** `breakwater keys create|list|revoke`. */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke virtual keys');
  const common = (cmd: Command) =>
    cmd.option('-c, --config <file>', 'config file').option('--data-dir <dir>', 'state directory').option('--json', 'machine-readable output');

  common(keys.command('create').description('create a key and print it once'))
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .option('--admin', 'create an admin key (manages the gateway; cannot call models)')
    .option('--scopes <list>', 'comma-separated scopes (default chat,embeddings,runs)')
    .option('--models <list>', 'comma-separated model allow-list (default: all)')
    .option('--expires-in-days <n>', 'expire after this many days')
    .action(async (options: CommonOptions & { name: string; admin?: boolean; scopes?: string; models?: string; expiresInDays?: string; json?: boolean }) => {
      const created = await withKeyService(options, (service) =>
        service.create({
          name: options.name,
          kind: options.admin ? 'admin' : 'virtual',
          scopes: options.scopes ? (options.scopes.split(',').map((s) => s.trim()) as KeyScope[]) : undefined,
          allowedModels: options.models ? options.models.split(',').map((s) => s.trim()) : undefined,
          expiresAt: options.expiresInDays ? Date.now() + Number(options.expiresInDays) * 86_400_000 : undefined,
        }),
      );
      if (options.json) process.stdout.write(JSON.stringify({ key: created.key, ...describe(created.record) }) + '\n');
      else process.stdout.write(`${created.key}\n`), process.stderr.write(`created key ${created.record.id} (${created.record.name}); it is shown only once\n`);
    });

  common(keys.command('list').description('list keys (never the keys themselves)')).action(async (options: CommonOptions & { json?: boolean }) => {
    const records = await withKeyService(options, (service) => service.list());
    const rows = records.map(describe);
    if (options.json) process.stdout.write(JSON.stringify(rows) + '\n');
    else printTable(rows, ['id', 'name', 'prefix', 'kind', 'scopes', 'created', 'revoked']);
  });

  common(keys.command('revoke').description('revoke a key by id or prefix').argument('<key>', 'key id or prefix'))
    .action(async (id: string, options: CommonOptions & { json?: boolean }) => {
      const revoked = await withKeyService(options, (service) => service.revoke(id));
      if (options.json) process.stdout.write(JSON.stringify({ id, revoked }) + '\n');
      else process.stderr.write(revoked ? `revoked ${id}\n` : `no active key matches ${id}\n`);
      if (!revoked) process.exitCode = 1;
    });
}
