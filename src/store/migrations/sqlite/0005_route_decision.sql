-- Breakwater schema 5: the routing decision of each request (rule, tier, score, escalation,
-- strong-tier counterfactual cost, shadow billing) as JSON (SPEC RT-4, RT-6, OW-4).

ALTER TABLE requests ADD COLUMN route_decision TEXT;
