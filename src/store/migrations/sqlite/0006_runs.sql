-- Breakwater schema 4: durable agent runs (SPEC M7 LR-1…LR-16, §2.3 run path).
-- A run's events are a stream (kind 'run') whose id is the run id, so the stream CHECK is widened;
-- SQLite cannot alter a constraint, so the table is rebuilt.

CREATE TABLE streams_v4 (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('chat', 'responses', 'run')),
  status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'failed', 'cancelled', 'interrupted')),
  created_at INTEGER NOT NULL,
  ended_at INTEGER,
  expires_at INTEGER NOT NULL,
  meta TEXT NOT NULL
);
INSERT INTO streams_v4 SELECT id, tenant, kind, status, created_at, ended_at, expires_at, meta FROM streams;
DROP TABLE streams;
ALTER TABLE streams_v4 RENAME TO streams;
CREATE INDEX streams_expires_at ON streams (expires_at);
CREATE INDEX streams_status ON streams (status);

-- One row per run. `epoch` is the fencing token: every claim bumps it, and every write an owner
-- makes is conditional on it, so a stale owner can never commit (SPEC LR-6).
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  key_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  input TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  idempotency_key TEXT,
  request_id TEXT NOT NULL,
  limits TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER,
  epoch INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  lease_expires_at INTEGER,
  wake_at INTEGER,
  waiter TEXT,
  wait_signal TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  steps INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cost_micros INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  error TEXT
);
CREATE UNIQUE INDEX runs_idempotency ON runs (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_tenant_created ON runs (tenant, created_at);
-- Claims scan only live runs.
CREATE INDEX runs_live ON runs (status, created_at) WHERE status IN ('queued', 'running', 'waiting');

-- The step journal: a position (slot) holds at most one committed step, ever.
CREATE TABLE run_steps (
  run_id TEXT NOT NULL,
  slot TEXT NOT NULL,
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('completed', 'failed')),
  output TEXT,
  error TEXT,
  attempts INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  PRIMARY KEY (run_id, slot)
) WITHOUT ROWID;

-- The effect ledger: every committed tool call with its idempotency key (SPEC LR-4).
CREATE TABLE run_effects (
  run_id TEXT NOT NULL,
  step_key TEXT NOT NULL,
  tool TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  args TEXT NOT NULL,
  result TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_key)
) WITHOUT ROWID;

-- Signals and approval decisions; kept when they arrive early (SPEC LR-7).
CREATE TABLE run_signals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  at INTEGER NOT NULL,
  consumed_by TEXT
);
CREATE INDEX run_signals_run ON run_signals (run_id, name, id);

-- Agents the workers host, so a gateway without agents of its own can validate POST /v1/runs.
CREATE TABLE run_agents (
  name TEXT PRIMARY KEY,
  descriptor TEXT NOT NULL,
  seen_at INTEGER NOT NULL
);
