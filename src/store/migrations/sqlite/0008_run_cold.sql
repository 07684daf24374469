-- Breakwater schema 8: whether any committed LLM step of a run found its upstream cold, and the
-- init work (ms) those calls paid, summed (SPEC CS-3); added to in the step's own commit.

ALTER TABLE runs ADD COLUMN cold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN init_ms REAL NOT NULL DEFAULT 0;
