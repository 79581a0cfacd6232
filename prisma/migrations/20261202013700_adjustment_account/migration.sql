-- The system account adjustments move credits against (src/ledger/accounts.ts).
-- Its own migration: a new enum value cannot be used in the transaction that
-- adds it.
INSERT INTO "account" ("id", "kind", "tenant_id", "available", "held") VALUES
  ('00000000-0000-4000-8000-000000000004', 'ADJUSTMENT', NULL, 0, 0);
