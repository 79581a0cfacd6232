import { NotFoundError } from '../errors.ts';
import { setWebhookEndpoint, WEBHOOK_EVENTS, type WebhookEventName } from '../events/webhook-endpoints.ts';
import { redeliverWebhook } from '../events/webhook-outbox.ts';
import { rotateWebhookSecret } from '../events/webhook-secrets.ts';
import { z } from 'zod';
import { builder } from './builder.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { counted } from './connections.ts';
import { createdConnection } from './cursors.ts';
import { InputError } from './errors.ts';
import { TaskRef } from './tasks/types.ts';
import { tenantOfCaller } from './tenants/access.ts';
import { TenantRef } from './tenants/types.ts';

// Tenant webhooks: deliveries for a tenant to inspect, and the signing
// secret, which admins see once, when they rotate it.

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  values: {
    PENDING: { description: 'Not delivered yet; will be (re)tried at nextAttemptAt' },
    DELIVERED: { description: 'A 2xx answer was received' },
    FAILED: { description: 'Gave up: the retry schedule ran out, or the URL is not allowed' },
  } as const,
});

const WebhookDeliveryRef = builder.prismaNode('WebhookDelivery', {
  id: { field: 'id' },
  fields: (t) => ({
    task: t.relation('task', { nullable: true, description: 'The task it is about; null for balance.low and balance.recovered' }),
    url: t.exposeString('url'),
    eventType: t.exposeString('eventType'),
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    lastResponseCode: t.exposeInt('lastResponseCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null) }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    attemptLog: t.relation('attemptLog', {
      description: 'Every attempt, oldest first: when, what the receiver answered, what went wrong',
      query: { orderBy: { id: 'asc' } },
    }),
  }),
});

builder.prismaObject('WebhookAttempt', {
  description: 'One delivery attempt',
  fields: (t) => ({
    attemptedAt: t.expose('attemptedAt', { type: 'DateTime' }),
    responseCode: t.exposeInt('responseCode', { nullable: true, description: "The receiver's HTTP status; null when none came" }),
    error: t.exposeString('error', {
      nullable: true,
      description: "A network error, or the start of a non-2xx answer's body (a safe, bounded rendition)",
    }),
    durationMs: t.exposeInt('durationMs'),
  }),
});

const RedeliverWebhookInput = builder.inputType('RedeliverWebhookInput', {
  fields: (t) => ({ deliveryId: t.globalID({ required: true, for: WebhookDeliveryRef }) }),
});

builder.mutationField('redeliverWebhook', (t) =>
  t.field({
    type: WebhookDeliveryRef,
    description:
      'Sends one of your deliveries again from the start of its schedule (a FAILED or DELIVERED one; a PENDING one is on its way already).',
    authScopes: { webhooks: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: RedeliverWebhookInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const delivery = await redeliverWebhook(ctx.store, ctx.tenantId(), input.deliveryId.id);
      if (!delivery) throw new NotFoundError('Webhook delivery not found');
      return delivery;
    },
  }),
);

const WebhookDeliveryConnectionRef = builder.connectionObject(
  { type: WebhookDeliveryRef, name: 'WebhookDeliveryConnection' },
  { name: 'WebhookDeliveryEdge' },
);

builder.queryField('webhookDeliveries', (t) =>
  t.connection(
    {
      type: WebhookDeliveryRef,
      description: 'Your webhook deliveries, newest first, optionally for one task',
      authScopes: { webhooks: true },
      args: { taskId: t.arg.globalID({ for: TaskRef }) },
      // An unknown or foreign task id simply has no deliveries.
      resolve: (_root, args, ctx, info) => {
        const tenantId = ctx.tenantId();
        const where = { tenantId, ...(args.taskId ? { taskId: args.taskId.id } : {}) };
        return counted(
          createdConnection({ list: 'webhookDeliveries', caller: tenantId }, args, (page) =>
            ctx.db.webhookDelivery.findMany({
              ...queryFromInfo({ context: ctx, info, typeName: 'WebhookDelivery', paths: [['edges', 'node'], ['nodes']] }),
              where: { ...where, ...page.where },
              orderBy: page.orderBy,
              take: page.take,
            }),
          ),
          () => ctx.db.webhookDelivery.count({ where }),
        );
      },
    },
    WebhookDeliveryConnectionRef,
  ),
);

// The events an endpoint may ask for: GraphQL enum values, each the dotted
// name its deliveries carry (eventType, and `type` in the body).
const WebhookEventEnum = builder.enumType('WebhookEvent', {
  values: {
    TASK_SUCCEEDED: { value: 'task.succeeded', description: 'task.succeeded: a task ended with its results' },
    TASK_FAILED: { value: 'task.failed', description: 'task.failed: a task failed (and was refunded)' },
    BALANCE_LOW: { value: 'balance.low', description: 'balance.low: available fell below the low-balance threshold' },
    BALANCE_RECOVERED: { value: 'balance.recovered', description: 'balance.recovered: available is back at or above it' },
  } as const satisfies Record<string, { value: WebhookEventName; description: string }>,
});

const WebhookEndpointRef = builder.prismaObject('WebhookEndpoint', {
  description: "The tenant's own webhook endpoint: every event it names is delivered there, signed and retried",
  fields: (t) => ({
    url: t.exposeString('url'),
    events: t.field({
      type: [WebhookEventEnum],
      resolve: (e) => WEBHOOK_EVENTS.filter((name) => e.events.includes(name)),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.prismaObjectField('Tenant', 'webhookEndpoint', (t) =>
  t.relation('webhookEndpoint', { nullable: true, description: 'Where this tenant receives its events (setWebhookEndpoint); null: nowhere' }),
);

const SetWebhookEndpointInput = builder.inputType('SetWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({
      required: true,
      description: 'A public http(s) URL; checked now and on every send',
      validate: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048),
    }),
    events: t.field({
      type: [WebhookEventEnum],
      required: true,
      description: 'What to send there; [] keeps the endpoint and sends it nothing',
    }),
  }),
});

builder.mutationField('setWebhookEndpoint', (t) =>
  t.field({
    type: WebhookEndpointRef,
    description:
      "Sets your webhook endpoint: task.succeeded, task.failed, balance.low and balance.recovered, as you choose, signed with your " +
      'webhook secret and retried like task callbacks. Replaces the one set before. A balance already low is announced at once.',
    authScopes: { webhooks: true },
    // A tenant key sets its own tenant's endpoint: no id to miss, so no NotFoundError.
    errors: { types: [InputError] },
    args: { input: t.arg({ type: SetWebhookEndpointInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      setWebhookEndpoint(
        ctx.store,
        { tenantId: ctx.tenantId(), url: input.url, events: input.events },
        { ssrfPolicy: ctx.tasks.ssrfPolicy, actor: ctx.actor() },
      ),
  }),
);

const WebhookSecretRef = builder.objectRef<{ secret: string; rotatedAt: Date }>('WebhookSecret').implement({
  fields: (t) => ({
    secret: t.exposeString('secret', { description: 'whsec_…: shown once; deliveries are signed with it from now on' }),
    rotatedAt: t.expose('rotatedAt', { type: 'DateTime' }),
  }),
});

const RotateWebhookSecretInput = builder.inputType('RotateWebhookSecretInput', {
  fields: (t) => ({ tenantId: t.globalID({ required: true, for: TenantRef }) }),
});

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: WebhookSecretRef,
    description:
      "Replaces a tenant's webhook signing secret and returns it, once. Admins for any tenant; a tenant key with MANAGE_KEYS for its own.",
    authScopes: { admin: true, manageKeys: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: RotateWebhookSecretInput, required: true }) },
    resolve: (_root, { input }, ctx) => rotateWebhookSecret(ctx.db, tenantOfCaller(ctx, input.tenantId.id), ctx.actor()),
  }),
);
