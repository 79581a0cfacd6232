-- CreateEnum
CREATE TYPE "ApiKeyRole" AS ENUM ('TENANT', 'ADMIN');

-- CreateEnum
CREATE TYPE "AccountKind" AS ENUM ('TENANT', 'TOP_UP', 'REVENUE', 'UPSTREAM_SPEND');

-- CreateEnum
CREATE TYPE "TransferKind" AS ENUM ('TOP_UP', 'CHARGE', 'REFUND', 'ADJUSTMENT', 'UPSTREAM_CHARGE', 'UPSTREAM_REFUND');

-- CreateEnum
CREATE TYPE "HoldStatus" AS ENUM ('PENDING', 'POSTED', 'VOIDED');

-- CreateEnum
CREATE TYPE "GenerationModel" AS ENUM ('TEXT_TO_IMAGE', 'TEXT_TO_VIDEO', 'IMAGE_TO_VIDEO', 'UPSCALE');

-- CreateTable
CREATE TABLE "tenant" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_key" (
    "id" UUID NOT NULL,
    "role" "ApiKeyRole" NOT NULL,
    "tenant_id" UUID,
    "name" TEXT,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_key_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account" (
    "id" UUID NOT NULL,
    "kind" "AccountKind" NOT NULL,
    "tenant_id" UUID,
    "available" INTEGER NOT NULL DEFAULT 0,
    "held" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transfer" (
    "id" UUID NOT NULL,
    "kind" "TransferKind" NOT NULL,
    "amount" INTEGER NOT NULL,
    "debit_account_id" UUID NOT NULL,
    "credit_account_id" UUID NOT NULL,
    "tenant_id" UUID,
    "idempotency_key" TEXT,
    "reference" TEXT,
    "note" TEXT,
    "reverses_id" UUID,
    "hold_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transfer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "entry" (
    "id" BIGSERIAL NOT NULL,
    "transfer_id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "amount" INTEGER NOT NULL,
    "balance_after" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "entry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "hold" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" "HoldStatus" NOT NULL DEFAULT 'PENDING',
    "reference" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "hold_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "price" (
    "id" UUID NOT NULL,
    "model" "GenerationModel" NOT NULL,
    "tenant_id" UUID,
    "scope" TEXT NOT NULL,
    "credits" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "price_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_key_hash_key" ON "api_key"("hash");

-- CreateIndex
CREATE INDEX "api_key_tenant_id_idx" ON "api_key"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "account_tenant_id_key" ON "account"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "transfer_reverses_id_key" ON "transfer"("reverses_id");

-- CreateIndex
CREATE UNIQUE INDEX "transfer_hold_id_key" ON "transfer"("hold_id");

-- CreateIndex
CREATE INDEX "transfer_reference_idx" ON "transfer"("reference");

-- CreateIndex
CREATE UNIQUE INDEX "transfer_tenant_id_idempotency_key_key" ON "transfer"("tenant_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "entry_account_id_id_idx" ON "entry"("account_id", "id" DESC);

-- CreateIndex
CREATE INDEX "entry_transfer_id_idx" ON "entry"("transfer_id");

-- CreateIndex
CREATE INDEX "hold_status_created_at_idx" ON "hold"("status", "created_at");

-- CreateIndex
CREATE INDEX "hold_reference_idx" ON "hold"("reference");

-- CreateIndex
CREATE UNIQUE INDEX "price_model_scope_key" ON "price"("model", "scope");

-- AddForeignKey
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account" ADD CONSTRAINT "account_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfer" ADD CONSTRAINT "transfer_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfer" ADD CONSTRAINT "transfer_reverses_id_fkey" FOREIGN KEY ("reverses_id") REFERENCES "transfer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfer" ADD CONSTRAINT "transfer_hold_id_fkey" FOREIGN KEY ("hold_id") REFERENCES "hold"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "entry" ADD CONSTRAINT "entry_transfer_id_fkey" FOREIGN KEY ("transfer_id") REFERENCES "transfer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "entry" ADD CONSTRAINT "entry_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "hold" ADD CONSTRAINT "hold_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "hold" ADD CONSTRAINT "hold_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price" ADD CONSTRAINT "price_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Ledger invariants the Prisma schema cannot express; the ledger relies on them
-- as the last line of defence (its conditional UPDATEs come first).

-- AddCheckConstraint
ALTER TABLE "account" ADD CONSTRAINT "account_tenant_available_nonneg" CHECK ("kind" <> 'TENANT' OR "available" >= 0);

-- AddCheckConstraint
ALTER TABLE "account" ADD CONSTRAINT "account_held_nonneg" CHECK ("held" >= 0);

-- AddCheckConstraint
ALTER TABLE "account" ADD CONSTRAINT "account_tenant_has_tenant" CHECK ("kind" <> 'TENANT' OR "tenant_id" IS NOT NULL);

-- AddCheckConstraint
ALTER TABLE "transfer" ADD CONSTRAINT "transfer_amount_positive" CHECK ("amount" > 0);

-- AddCheckConstraint
ALTER TABLE "transfer" ADD CONSTRAINT "transfer_distinct_accounts" CHECK ("debit_account_id" <> "credit_account_id");

-- AddCheckConstraint
ALTER TABLE "hold" ADD CONSTRAINT "hold_amount_positive" CHECK ("amount" > 0);

-- AddCheckConstraint
ALTER TABLE "price" ADD CONSTRAINT "price_credits_nonneg" CHECK ("credits" >= 0);
