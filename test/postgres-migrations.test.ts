import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { configSchema } from '../src/config/schema.js';
import { migrate, SchemaTooNewError } from '../src/store/migrator.js';
import { POSTGRES_MIGRATIONS } from '../src/store/migrations/postgres.js';
import { openStores } from '../src/store/stores.js';
import { dropSchema, freshSchema, POSTGRES_URL, servicesMissing } from './helpers/services.js';

const skip = await servicesMissing();

describe('PostgreSQL migrations (SPEC STO-4)', { skip }, () => {
  it('three replicas starting together apply each migration exactly once (advisory lock)', async () => {
    const { schema, url } = freshSchema();
    try {
      const config = configSchema.parse({ store: { kind: 'postgres', url } });
      const opened = await Promise.all([openStores(config), openStores(config), openStores(config)]);
      await Promise.all(opened.map((stores) => stores.ping()));
      await Promise.all(opened.map((stores) => stores.close()));
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      const { rows } = await client.query(`SELECT version, name FROM ${schema}.schema_migrations ORDER BY version`);
      await client.end();
      assert.deepEqual(rows, POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      const again = await migrate({ dialect: 'postgres', url });
      assert.deepEqual(again.applied, [], 'nothing left to apply');
    } finally {
      await dropSchema(schema);
    }
  });

  it('refuses a schema written by a newer Breakwater', async () => {
    const { schema, url } = freshSchema();
    try {
      await migrate({ dialect: 'postgres', url });
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES (999, '0999_future', 0)`);
      await client.end();
      await assert.rejects(migrate({ dialect: 'postgres', url }), (error: unknown) => error instanceof SchemaTooNewError && error.databaseVersion === 999);
    } finally {
      await dropSchema(schema);
    }
  });
});
