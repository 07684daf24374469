-- Breakwater PostgreSQL schema 2: the routing decision of each request (SPEC RT-4, RT-6, OW-4), as
-- JSON text like the SQLite ledger keeps it.

ALTER TABLE requests ADD COLUMN route_decision TEXT;
