-- Breakwater PostgreSQL schema 5: whether any committed LLM step of a run found its upstream cold,
-- and the init work (ms) those calls paid, summed (SPEC CS-3), like SQLite schema 8.

ALTER TABLE runs ADD COLUMN cold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN init_ms DOUBLE PRECISION NOT NULL DEFAULT 0;
