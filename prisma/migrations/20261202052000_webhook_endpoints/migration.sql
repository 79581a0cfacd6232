-- A tenant's own webhook endpoint (setWebhookEndpoint): where task.succeeded,
-- task.failed, balance.low and balance.recovered go, besides a task's own
-- callbackUrl. `events` holds the dotted event names it wants.
CREATE TABLE "webhook_endpoint" (
    "tenant_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "events" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_endpoint_pkey" PRIMARY KEY ("tenant_id")
);

ALTER TABLE "webhook_endpoint" ADD CONSTRAINT "webhook_endpoint_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Whether a tenant's balance was last announced low (balance.low) or not
-- (balance.recovered): the conditional update of this row is what sends each
-- once (src/events/balance-alerts.ts).
CREATE TABLE "balance_alert" (
    "tenant_id" UUID NOT NULL,
    "low" BOOLEAN NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "balance_alert_pkey" PRIMARY KEY ("tenant_id")
);

ALTER TABLE "balance_alert" ADD CONSTRAINT "balance_alert_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A balance event's delivery is about no task.
ALTER TABLE "webhook_delivery" ALTER COLUMN "task_id" DROP NOT NULL;
