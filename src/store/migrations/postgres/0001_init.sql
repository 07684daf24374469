-- Breakwater PostgreSQL schema 1 (scale-out, SPEC STO-3): metadata, principals and keys, the
-- admin audit trail, the request ledger and stored responses. Column names and encodings match
-- the SQLite schema (JSON as text, 0/1 flags, integer ms) so both stores map rows the same way.
-- Stream logs and idempotency keys live in Redis when replicas share state.

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE keys (
  seq BIGSERIAL,
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('virtual', 'admin')),
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  org_id TEXT,
  team_id TEXT,
  user_id TEXT,
  allowed_models TEXT,
  policy TEXT
);

CREATE INDEX keys_prefix ON keys (prefix);

CREATE TABLE principals (
  seq BIGSERIAL,
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('org', 'team', 'user')),
  name TEXT NOT NULL,
  org_id TEXT NOT NULL,
  team_id TEXT,
  policy TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE INDEX principals_kind ON principals (kind, created_at);

CREATE TABLE audit (
  seq BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT
);

CREATE INDEX audit_at ON audit (at);

CREATE TABLE requests (
  seq BIGSERIAL,
  id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  key_id TEXT NOT NULL,
  dialect TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  requested_model TEXT NOT NULL,
  served_by TEXT,
  provider TEXT,
  status INTEGER NOT NULL,
  error_code TEXT,
  stream INTEGER NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cache_read_tokens BIGINT NOT NULL,
  cache_write_tokens BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL,
  usage_estimated INTEGER NOT NULL,
  cost_micros BIGINT NOT NULL,
  price_missing INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  latency_ms DOUBLE PRECISION NOT NULL,
  ttft_ms DOUBLE PRECISION,
  overhead_ms DOUBLE PRECISION,
  tags TEXT,
  end_user TEXT,
  org_id TEXT,
  team_id TEXT,
  user_id TEXT,
  lane TEXT,
  route TEXT,
  queue_ms DOUBLE PRECISION
);

CREATE INDEX requests_created_at ON requests (created_at);
CREATE INDEX requests_key_created_at ON requests (key_id, created_at);
CREATE INDEX requests_org_created_at ON requests (org_id, created_at);
CREATE INDEX requests_team_created_at ON requests (team_id, created_at);

CREATE TABLE responses (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  conversation TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE INDEX responses_expires_at ON responses (expires_at);
