-- Breakwater PostgreSQL schema 3: durable agent runs (SPEC M7 LR-1…LR-16), like SQLite schema 6.
-- A run's events must commit in the same transaction as the step they belong to, so they live
-- here (not in Redis): `streams` / `stream_events` hold run streams only; chat and Responses
-- streams stay in the shared Redis log (or in process memory without Redis).

CREATE TABLE streams (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('chat', 'responses', 'run')),
  status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'failed', 'cancelled', 'interrupted')),
  created_at BIGINT NOT NULL,
  ended_at BIGINT,
  expires_at BIGINT NOT NULL,
  meta TEXT NOT NULL
);
CREATE INDEX streams_expires_at ON streams (expires_at);
CREATE INDEX streams_active ON streams (created_at) WHERE status = 'active';

CREATE TABLE stream_events (
  stream_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  event TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (stream_id, seq)
);

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
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  ended_at BIGINT,
  epoch INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  lease_expires_at BIGINT,
  wake_at BIGINT,
  waiter TEXT,
  wait_signal TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  steps INTEGER NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  cost_micros BIGINT NOT NULL DEFAULT 0,
  result TEXT,
  error TEXT
);
CREATE UNIQUE INDEX runs_idempotency ON runs (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_tenant_created ON runs (tenant, created_at);
-- Claims scan only live runs.
CREATE INDEX runs_live ON runs (status, updated_at) WHERE status IN ('queued', 'running', 'waiting');
CREATE INDEX runs_ended ON runs (ended_at) WHERE status IN ('succeeded', 'failed', 'cancelled');

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
  started_at BIGINT NOT NULL,
  ended_at BIGINT NOT NULL,
  epoch INTEGER NOT NULL,
  PRIMARY KEY (run_id, slot)
);

-- The effect ledger: every committed tool call with its idempotency key (SPEC LR-4).
CREATE TABLE run_effects (
  run_id TEXT NOT NULL,
  step_key TEXT NOT NULL,
  tool TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  args TEXT NOT NULL,
  result TEXT,
  at BIGINT NOT NULL,
  PRIMARY KEY (run_id, step_key)
);

-- Signals and approval decisions; kept when they arrive early (SPEC LR-7).
CREATE TABLE run_signals (
  id BIGSERIAL PRIMARY KEY,
  run_id TEXT NOT NULL,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  at BIGINT NOT NULL,
  consumed_by TEXT
);
CREATE INDEX run_signals_run ON run_signals (run_id, name, id);

-- Agents the workers host, so a gateway without agents of its own can validate POST /v1/runs.
CREATE TABLE run_agents (
  name TEXT PRIMARY KEY,
  descriptor TEXT NOT NULL,
  seen_at BIGINT NOT NULL
);
