-- Breakwater schema 2: idempotency keys (SPEC UP-8). One row per (scope, key): in flight while its
-- owner generates (expires_at = end of the lease), then completed with the stored answer
-- (expires_at = end of the replay TTL). Failures are deleted, never stored.

CREATE TABLE idempotency (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
  owner TEXT NOT NULL,
  status INTEGER,
  body TEXT,
  headers TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_expires_at ON idempotency (expires_at);
