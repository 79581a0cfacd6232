-- The ledger's system accounts, with the fixed ids of src/ledger/accounts.ts.
-- Every database has them before its first transfer.
INSERT INTO "account" ("id", "kind", "tenant_id", "available", "held") VALUES
  ('00000000-0000-4000-8000-000000000001', 'TOP_UP', NULL, 0, 0),
  ('00000000-0000-4000-8000-000000000002', 'REVENUE', NULL, 0, 0),
  ('00000000-0000-4000-8000-000000000003', 'UPSTREAM_SPEND', NULL, 0, 0)
ON CONFLICT ("id") DO NOTHING;

