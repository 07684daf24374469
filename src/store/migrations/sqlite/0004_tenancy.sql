-- Breakwater schema 5: the principal tree (orgs, teams, users), key policies, the admin audit
-- trail and the ledger's principal chain, lane and route (SPEC MT-1, MT-2, MT-7).

CREATE TABLE principals (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('org', 'team', 'user')),
  name TEXT NOT NULL,
  org_id TEXT NOT NULL,
  team_id TEXT,
  policy TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE INDEX principals_kind ON principals (kind, created_at);

CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT
);

CREATE INDEX audit_at ON audit (at);

ALTER TABLE keys ADD COLUMN policy TEXT;

ALTER TABLE requests ADD COLUMN org_id TEXT;
ALTER TABLE requests ADD COLUMN team_id TEXT;
ALTER TABLE requests ADD COLUMN user_id TEXT;
ALTER TABLE requests ADD COLUMN lane TEXT;
ALTER TABLE requests ADD COLUMN route TEXT;
ALTER TABLE requests ADD COLUMN queue_ms REAL;

CREATE INDEX requests_org_created_at ON requests (org_id, created_at);
CREATE INDEX requests_team_created_at ON requests (team_id, created_at);
