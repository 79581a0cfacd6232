-- CreateTable
CREATE TABLE "rate_limit" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "rate_limit_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "live_slot" (
    "tenant_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "process_id" UUID NOT NULL,
    "slots" INTEGER NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "live_slot_pkey" PRIMARY KEY ("tenant_id","kind","process_id")
);

-- CreateIndex
CREATE INDEX "live_slot_expires_at_idx" ON "live_slot"("expires_at");

-- Counters, not records: after a crash, windows start afresh and every live
-- process writes its leases again at its next heartbeat, so neither table
-- needs the write-ahead log.
ALTER TABLE "rate_limit" SET UNLOGGED;
ALTER TABLE "live_slot" SET UNLOGGED;
ALTER TABLE "live_slot" ADD CONSTRAINT "live_slot_slots_check" CHECK ("slots" >= 0);
