-- A key's credit limit: at most `credits` spent per DAY or MONTH (UTC) through
-- the keys that share it (a key and its rotations). `spent` counts the
-- current window, which starts at `window_start`; the submit statement moves
-- it, and a task that ends without charge gives its credits back.
CREATE TYPE "CreditLimitPeriod" AS ENUM ('DAY', 'MONTH');

CREATE TABLE "key_credit_limit" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "credits" INTEGER NOT NULL,
    "period" "CreditLimitPeriod" NOT NULL,
    "window_start" TIMESTAMPTZ(3),
    "spent" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "key_credit_limit_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "key_credit_limit_credits_positive" CHECK ("credits" > 0),
    CONSTRAINT "key_credit_limit_spent_in_range" CHECK ("spent" >= 0 AND "spent" <= "credits")
);

CREATE INDEX "key_credit_limit_tenant_id_idx" ON "key_credit_limit"("tenant_id");

ALTER TABLE "key_credit_limit" ADD CONSTRAINT "key_credit_limit_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "api_key" ADD COLUMN "credit_limit_id" UUID;
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_credit_limit_id_fkey" FOREIGN KEY ("credit_limit_id") REFERENCES "key_credit_limit"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE INDEX "api_key_credit_limit_id_idx" ON "api_key"("credit_limit_id");

-- The limit a task counted against, so a task that ends unpaid gives back to the same one.
ALTER TABLE "task" ADD COLUMN "credit_limit_id" UUID;
ALTER TABLE "task" ADD CONSTRAINT "task_credit_limit_id_fkey" FOREIGN KEY ("credit_limit_id") REFERENCES "key_credit_limit"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
