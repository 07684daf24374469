-- Breakwater schema 3: resumable stream logs and stored responses (SPEC ST-1, ST-12, ST-13, API-4).
-- One producer writes each stream; events are group-committed per event-loop turn.

CREATE TABLE streams (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('chat', 'responses')),
  status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'failed', 'cancelled', 'interrupted')),
  created_at INTEGER NOT NULL,
  ended_at INTEGER,
  expires_at INTEGER NOT NULL,
  meta TEXT NOT NULL
);

CREATE INDEX streams_expires_at ON streams (expires_at);
CREATE INDEX streams_status ON streams (status);

CREATE TABLE stream_events (
  stream_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (stream_id, seq)
) WITHOUT ROWID;

CREATE TABLE responses (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  conversation TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE INDEX responses_expires_at ON responses (expires_at);
