import type { Migration } from '../migrator.js';

// The .sql files in ./sqlite are the reviewable source; they are embedded here because tsc does not
// copy .sql files into dist/. test/stores.test.ts fails when the two drift apart.

/** SQLite migrations, oldest first; append only, never edit one that shipped. */
export const SQLITE_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: '0001_init',
    sql: `-- Breakwater schema 1: metadata, keys and the request ledger.

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('virtual', 'admin')),
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  org_id TEXT,
  team_id TEXT,
  user_id TEXT,
  allowed_models TEXT
);

CREATE INDEX keys_prefix ON keys (prefix);

CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  dialect TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  requested_model TEXT NOT NULL,
  served_by TEXT,
  provider TEXT,
  status INTEGER NOT NULL,
  error_code TEXT,
  stream INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  usage_estimated INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL,
  price_missing INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttft_ms INTEGER,
  overhead_ms INTEGER,
  tags TEXT,
  end_user TEXT
);

CREATE INDEX requests_created_at ON requests (created_at);
CREATE INDEX requests_key_created_at ON requests (key_id, created_at);
`,
  },
]);
