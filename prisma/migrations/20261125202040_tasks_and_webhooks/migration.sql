-- CreateEnum
CREATE TYPE "TaskStatus" AS ENUM ('SUBMITTING', 'IN_PROGRESS', 'SUCCESS', 'FAILED');

-- CreateEnum
CREATE TYPE "WebhookDeliveryStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED');

-- AlterTable
ALTER TABLE "account" ADD COLUMN     "in_flight" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "tenant" ADD COLUMN     "webhook_secret" TEXT,
ADD COLUMN     "webhook_secret_rotated_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "task" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "model" "GenerationModel" NOT NULL,
    "status" "TaskStatus" NOT NULL DEFAULT 'SUBMITTING',
    "prompt" TEXT,
    "image_urls" TEXT[],
    "source_task_id" UUID,
    "callback_url" TEXT,
    "public" BOOLEAN NOT NULL DEFAULT false,
    "idempotency_key" TEXT,
    "request_hash" TEXT NOT NULL,
    "callback_token" TEXT NOT NULL,
    "upstream_task_id" TEXT,
    "hold_id" UUID,
    "charge_id" UUID,
    "upstream_charge_id" UUID,
    "credits_charged" INTEGER NOT NULL,
    "upstream_credits" INTEGER,
    "refunded" BOOLEAN NOT NULL DEFAULT false,
    "result_urls" TEXT[],
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submitted_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "next_poll_at" TIMESTAMPTZ(3),
    "poll_attempts" INTEGER NOT NULL DEFAULT 0,
    "lease_until" TIMESTAMPTZ(3),

    CONSTRAINT "task_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_delivery" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" "WebhookDeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_attempt_at" TIMESTAMPTZ(3),
    "last_response_code" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "lease_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_delivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_attempt" (
    "id" BIGSERIAL NOT NULL,
    "delivery_id" UUID NOT NULL,
    "attempted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "response_code" INTEGER,
    "error" TEXT,
    "duration_ms" INTEGER NOT NULL,

    CONSTRAINT "webhook_attempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "task_upstream_task_id_key" ON "task"("upstream_task_id");

-- CreateIndex
CREATE UNIQUE INDEX "task_hold_id_key" ON "task"("hold_id");

-- CreateIndex
CREATE UNIQUE INDEX "task_charge_id_key" ON "task"("charge_id");

-- CreateIndex
CREATE UNIQUE INDEX "task_upstream_charge_id_key" ON "task"("upstream_charge_id");

-- CreateIndex
CREATE INDEX "task_tenant_id_created_at_id_idx" ON "task"("tenant_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "task_status_next_poll_at_idx" ON "task"("status", "next_poll_at");

-- CreateIndex
CREATE UNIQUE INDEX "task_tenant_id_idempotency_key_key" ON "task"("tenant_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "webhook_delivery_status_next_attempt_at_idx" ON "webhook_delivery"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_delivery_tenant_id_created_at_id_idx" ON "webhook_delivery"("tenant_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "webhook_delivery_task_id_idx" ON "webhook_delivery"("task_id");

-- CreateIndex
CREATE INDEX "webhook_attempt_delivery_id_idx" ON "webhook_attempt"("delivery_id");

-- AddForeignKey
ALTER TABLE "task" ADD CONSTRAINT "task_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task" ADD CONSTRAINT "task_source_task_id_fkey" FOREIGN KEY ("source_task_id") REFERENCES "task"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_delivery" ADD CONSTRAINT "webhook_delivery_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_delivery" ADD CONSTRAINT "webhook_delivery_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "task"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_attempt" ADD CONSTRAINT "webhook_attempt_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "webhook_delivery"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddCheckConstraint
ALTER TABLE "account" ADD CONSTRAINT "account_in_flight_nonneg" CHECK ("in_flight" >= 0);

-- AddCheckConstraint
ALTER TABLE "task" ADD CONSTRAINT "task_credits_nonneg" CHECK ("credits_charged" >= 0);
