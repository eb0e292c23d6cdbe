import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { apiRoutes } from '../../src/api';
import { documentedResponses } from '../../src/shared/http/documented-responses';
import { FakeClock } from '../../src/shared/time';
import { buildTestApp } from '../helpers/test-app';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Operation {
  operationId: string;
  requestBody?: unknown;
  security: Array<Record<string, string[]>>;
  responses: Record<string, { $ref?: string; description?: string; content?: Record<string, unknown> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Json>;
    responses: Record<string, { description: string; content: Record<string, unknown> }>;
    securitySchemes: Record<string, unknown>;
  };
}

/** Every `$ref` in the document, with where it stands. */
function refsOf(node: Json, at = '#'): Array<{ at: string; ref: string }> {
  if (Array.isArray(node)) return node.flatMap((item, i) => refsOf(item, `${at}/${i}`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string' ? [{ at, ref: value }] : refsOf(value, `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`),
  );
}

/** Follows a local JSON Pointer (`#/a/b`) through the document; undefined when it leads nowhere. */
function resolve(document: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json | undefined = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, Json>)[key];
  }
  return node;
}

function routes() {
  return apiRoutes({
    clock: new FakeClock(),
    logger: silentLogger,
    stripe: createStripeGateway(testStripe()),
    version: 'test',
    publicUrl: 'http://localhost',
    checkResponses: true,
  });
}

const openApiPath = (path: string): string => `/api/v1${path.replace(/:(\w+)/g, '{$1}')}`;

describe('GET /api/v1/openapi.json', () => {
  useTestDatabase();
  let document: Document;

  beforeAll(async () => {
    const { app } = buildTestApp();
    document = (await request(app).get('/api/v1/openapi.json').expect(200)).body as Document;
  });

  test('when the document is fetched, then it is valid OpenAPI 3.1 and lists every route with its schemas', async () => {
    expect(document.openapi).toBe('3.1.0');

    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);

    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => `${method} ${path} ${operation.operationId}`),
    );
    const expected = routes().map((route) => `${route.method} ${openApiPath(route.path)} ${route.operationId}`);
    expect(documented.sort()).toEqual(expected.sort());
    for (const route of routes().filter((r) => r.body)) {
      expect(document.paths[openApiPath(route.path)]?.[route.method]?.requestBody).toBeDefined();
    }
  });

  test('when every $ref of the document is followed, then each one leads to a definition in the document', () => {
    const refs = refsOf(document as unknown as Json);
    expect(refs.length).toBeGreaterThan(100);
    const dangling = refs.filter(({ ref }) => resolve(document as unknown as Json, ref) === undefined);
    expect(dangling).toEqual([]);
    expect(Object.keys(document.components.schemas).filter((id) => !/^[A-Za-z0-9._-]+$/.test(id))).toEqual([]);
  });

  test('when an operation lists its answers, then they are exactly the statuses and media types its route can give (what check mode enforces)', () => {
    for (const route of routes()) {
      const operation = document.paths[openApiPath(route.path)]![route.method]!;
      const listed = Object.entries(operation.responses).map(([status, answer]) => {
        const resolved = answer.$ref ? document.components.responses[answer.$ref.replace('#/components/responses/', '')] : answer;
        expect(resolved?.description).toEqual(expect.any(String));
        return { operationId: route.operationId, status: Number(status), mediaTypes: Object.keys(resolved?.content ?? {}) };
      });
      const expected = documentedResponses(route).map((answer) => ({ operationId: route.operationId, status: answer.status, mediaTypes: answer.mediaTypes }));
      expect(listed).toEqual(expected);
    }
  });

  test('when schemas with their own id are nested in several others, then each is a component of its own', () => {
    const schemas = document.components.schemas;
    for (const id of ['Eligibility', 'PerkBenefit', 'GiftEligibility', 'GiftAward', 'Message']) {
      expect({ id, keys: Object.keys((schemas[id] ?? {}) as object).filter((key) => ['type', 'oneOf', 'anyOf'].includes(key)) }).toEqual({
        id,
        keys: [expect.any(String)],
      });
    }
    expect(JSON.stringify(schemas.PerkInput)).toContain('"#/components/schemas/PerkBenefit"');
    expect(JSON.stringify(schemas.PerkBenefit)).toContain('free_addon');
  });

  test('when an operation is for shoppers, then it asks for a shopper session; merchant operations ask for an API key; public ones for nothing', () => {
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKey', 'shopperSession']);
    for (const route of routes()) {
      const operation = document.paths[openApiPath(route.path)]![route.method]!;
      const expected = { merchant: [{ apiKey: [] }], shopper: [{ shopperSession: [] }], none: [] }[route.auth];
      expect({ operationId: route.operationId, security: operation.security }).toEqual({ operationId: route.operationId, security: expected });
    }
  });

  test('when the pick list is documented, then its CSV answer and the query that asks for it are described', () => {
    const operation = document.paths['/api/v1/pick-list']!.get!;
    expect(Object.keys(operation.responses['200']!.content!)).toEqual(['application/json', 'text/csv']);
  });

  test('when a referral code is refused, then the 422 of createSubscription says so', () => {
    const operation = document.paths['/api/v1/subscriptions']!.post!;
    const answer = operation.responses['422']!;
    const description = answer.description ?? document.components.responses[answer.$ref!.split('/').pop()!]!.description;
    expect(description).toContain('/problems/referral_refused');
    expect(description).toContain('/problems/idempotency_key_reused');
  });

  test('when a request schema is documented, then unknown fields are refused there too', () => {
    const signUp = document.components.schemas.SignUpRequest as { additionalProperties: unknown; required: string[] };
    expect(signUp.additionalProperties).toBe(false);
    expect(signUp.required).toEqual(expect.arrayContaining(['name', 'email', 'password', 'defaultCurrency', 'timezone']));
  });
});
