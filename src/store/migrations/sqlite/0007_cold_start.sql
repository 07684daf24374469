-- Breakwater schema 7: whether a request found its upstream cold (the first after an idle period
-- or before warm-up) and the one-off init work it paid, in ms (SPEC CS-3).

ALTER TABLE requests ADD COLUMN cold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN init_ms REAL NOT NULL DEFAULT 0;
