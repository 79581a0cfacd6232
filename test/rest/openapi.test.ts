// /api/openapi.json: an OpenAPI 3.1 document whose schemas are generated from
// the zod schemas that parse the requests, checked by an independent JSON
// Schema 2020-12 validator (Ajv) against real requests and real answers.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateBody } from '../../src/server/rest/wire.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rest, restGenerate, restWaitDone } from './helpers.ts';

let gw: TestGateway;
let doc: {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};
let ajv: Ajv2020;

beforeAll(async () => {
  gw = await startTestGateway();
  const res = await fetch(`${gw.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  doc = (await res.json()) as typeof doc;
  ajv = new Ajv2020({ strict: false });
  for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`);
});
afterAll(async () => {
  await gw?.stop();
});

const validator = (name: string) => ajv.getSchema(`#/components/schemas/${name}`)!;

describe('the document', () => {
  it('is OpenAPI 3.1 with both endpoints, bearer auth, and every status code of the facade', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/generate', '/status']);
    expect(Object.keys(doc.paths['/status']!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/generate']!.post!.responses).sort()).toEqual(['200', '400', '401', '402', '403', '429', '500']);
    // Every $ref points at a schema the document has.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(5);
    for (const name of refs) expect(doc.components.schemas[name], name).toBeDefined();
    // Each schema compiles as JSON Schema 2020-12.
    for (const name of Object.keys(doc.components.schemas)) expect(validator(name), name).toBeTypeOf('function');
  });

  it('is generated from the zod schema that parses /generate, not written by hand', () => {
    const { $schema: _dialect, ...generated } = z.toJSONSchema(generateBody, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
    expect(doc.components.schemas.GenerateRequest).toEqual(generated);
    const model = (doc.components.schemas.GenerateRequest!.properties as Record<string, { enum: string[]; default: string }>).model!;
    expect(model.enum).toEqual(['grok-imagine/text-to-image', 'grok-imagine/text-to-video', 'grok-imagine/image-to-video', 'grok-imagine/upscale']);
    expect(model.default).toBe('grok-imagine/text-to-image');
  });
});

describe('requests and answers validate against it', () => {
  it('takes the contract page\'s own request and refuses malformed ones, as the facade does', async () => {
    const valid = validator('GenerateRequest');
    const sample = { model: 'grok-imagine/text-to-image', input: { prompt: 'A majestic dragon flying over a neon-lit cyberpunk city' } };
    expect(valid(sample), JSON.stringify(valid.errors)).toBe(true);
    expect(valid({ input: { prompt: 'x' }, callback_url: 'https://example.com/cb', public: true })).toBe(true);
    const t = await gw.createTenant('openapi', 100);
    for (const bad of [{ input: { prompt: 'x' }, public: 'yes' }, { model: 'grok-imagine/text-to-music', input: {} }, { input: { image_urls: 'x' } }, [1, 2]]) {
      expect(valid(bad), JSON.stringify(bad)).toBe(false);
      expect((await rest(gw.url, '/generate', { key: t.key, body: bad })).status).toBe(400);
    }
    expect(validator('StatusRequest')({ task_id: 'abc' })).toBe(true);
    expect(validator('StatusRequest')({})).toBe(false);
  });

  it('describes what the facade answers: generate, status, and errors', async () => {
    const t = await gw.createTenant('openapi-answers', 100);
    const created = await rest(gw.url, '/generate', { key: t.key, body: { input: { prompt: 'described' } } });
    expect(validator('GenerateResponse')(created.json), JSON.stringify(validator('GenerateResponse').errors)).toBe(true);
    const id = await restGenerate(gw.url, t.key, { input: { prompt: 'described too' } });
    await restWaitDone(gw.url, t.key, id);
    const status = await rest(gw.url, `/status?task_id=${id}`, { key: t.key });
    expect(validator('StatusResponse')(status.json), JSON.stringify(validator('StatusResponse').errors)).toBe(true);
    const denied = await rest(gw.url, '/generate', { body: { input: { prompt: 'x' } } });
    expect(denied.status).toBe(401);
    expect(validator('Error')(denied.json)).toBe(true);
    expect(validator('StatusResponse')(denied.json)).toBe(false);
  });
});
