// The OpenAPI 3.1 document of the REST facade, served at /api/openapi.json.
// Its schemas are generated (z.toJSONSchema, JSON Schema 2020-12, which
// OpenAPI 3.1 uses as is) from the zod schemas in wire.ts that parse the
// requests and type the answers: nothing here restates a field by hand.
import { z } from 'zod';
import { CATALOG, GENERATION_MODELS } from '../../catalog.ts';
import { envelope, errorEnvelope, generateBody, generateData, statusBody, statusData } from './wire.ts';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function json(schemaName: string, description: string) {
  return { description, content: { 'application/json': { schema: ref(schemaName) } } };
}

const ERRORS = {
  '400': json('Error', 'Invalid input (the message names the field), or an Idempotency-Key reused for another request.'),
  '401': json('Error', 'API key missing, malformed, unknown, expired or revoked.'),
  '402': json('Error', "The tenant's balance cannot cover the price, or the key's credit limit is reached."),
  '403': json('Error', 'The key lacks the scope (GENERATE for /generate, READ for /status), or the tenant is suspended.'),
  '429': {
    ...json('Error', "Over one of the tenant's limits; retry after Retry-After seconds."),
    headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 }, description: 'Seconds to wait.' } },
  },
  '500': json('Error', 'A transient failure: retry with backoff. When upstream is unavailable the message says so; nothing was charged.'),
};

const security = [{ bearer: [] }];

export function buildOpenApiDocument(): Record<string, unknown> {
  const prices = GENERATION_MODELS.map((m) => `${CATALOG[m].upstreamName}: ${CATALOG[m].defaultPrice}`).join(', ');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Grok Imagine gateway: REST facade',
      version: '1.0.0',
      description:
        "The Grok Imagine generation API, served by the gateway with the tenant's own API key and billed in the tenant's credits. " +
        `Default prices in credits (a tenant may have its own): ${prices}. Task ids are the gateway's.`,
    },
    servers: [{ url: '/api' }],
    security,
    paths: {
      '/generate': {
        post: {
          operationId: 'generate',
          summary: 'Create a generation task',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: 200 },
              description: 'Retries with the same key answer the first task (Idempotent-Replayed: true); never charged twice.',
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('GenerateRequest') } } },
          responses: { '200': json('GenerateResponse', 'The task, IN_PROGRESS; its price is charged.'), ...ERRORS },
        },
      },
      '/status': {
        get: {
          operationId: 'statusByQuery',
          summary: "A task's latest record",
          parameters: [{ name: 'task_id', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '200': json('StatusResponse', 'The task.'), '404': json('Error', 'No such task of this tenant.'), ...ERRORS },
        },
        post: {
          operationId: 'statusByBody',
          summary: "A task's latest record",
          requestBody: { required: true, content: { 'application/json': { schema: ref('StatusRequest') } } },
          responses: { '200': json('StatusResponse', 'The task.'), '404': json('Error', 'No such task of this tenant.'), ...ERRORS },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A tenant API key (gk_…).' } },
      schemas: {
        GenerateRequest: jsonSchema(generateBody, 'input'),
        StatusRequest: jsonSchema(statusBody, 'input'),
        GenerateResponse: jsonSchema(envelope(generateData), 'output'),
        StatusResponse: jsonSchema(envelope(statusData), 'output'),
        Error: jsonSchema(errorEnvelope, 'output'),
      },
    },
  };
}
