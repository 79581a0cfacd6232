-- CreateEnum
CREATE TYPE "TenantStatus" AS ENUM ('ACTIVE', 'SUSPENDED');

-- CreateEnum
CREATE TYPE "AuditActorKind" AS ENUM ('ADMIN_TOKEN', 'ADMIN_KEY', 'TENANT_KEY');

-- AlterEnum
ALTER TYPE "AccountKind" ADD VALUE 'ADJUSTMENT';

-- AlterTable
ALTER TABLE "tenant" ADD COLUMN     "status" "TenantStatus" NOT NULL DEFAULT 'ACTIVE',
ADD COLUMN     "suspended_at" TIMESTAMPTZ(3),
ADD COLUMN     "suspended_reason" TEXT;

-- CreateTable
CREATE TABLE "audit_event" (
    "id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "actor_kind" "AuditActorKind" NOT NULL,
    "actor_key_id" UUID,
    "actor_prefix" TEXT,
    "tenant_id" UUID,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_event_tenant_id_created_at_id_idx" ON "audit_event"("tenant_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "audit_event_created_at_id_idx" ON "audit_event"("created_at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A suspended tenant always says why; an active one carries no reason.
ALTER TABLE "tenant" ADD CONSTRAINT "tenant_suspension_check"
  CHECK (("status" = 'SUSPENDED') = ("suspended_reason" IS NOT NULL AND "suspended_at" IS NOT NULL));
