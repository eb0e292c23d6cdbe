import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { apiRoutes } from '../../src/api';
import { FakeClock } from '../../src/shared/time';
import { buildTestApp } from '../helpers/test-app';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

describe('GET /api/v1/openapi.json', () => {
  useTestDatabase();

  test('when the document is fetched, then it is valid OpenAPI 3.1 and lists every route with its schemas', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/api/v1/openapi.json').expect(200);
    const document = res.body as { openapi: string; paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>> };
    expect(document.openapi).toBe('3.1.0');

    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);

    const routes = apiRoutes({ clock: new FakeClock(), logger: silentLogger, stripe: createStripeGateway(testStripe()), version: 'test', publicUrl: 'http://localhost', checkResponses: true });
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => `${method} ${path} ${operation.operationId}`),
    );
    const expected = routes.map((route) => `${route.method} /api/v1${route.path.replace(/:(\w+)/g, '{$1}')} ${route.operationId}`);
    expect(documented.sort()).toEqual(expected.sort());
    for (const route of routes.filter((r) => r.body)) {
      const path = `/api/v1${route.path.replace(/:(\w+)/g, '{$1}')}`;
      expect(document.paths[path]?.[route.method]?.requestBody).toBeDefined();
    }
  });

  test('when a request schema is documented, then unknown fields are refused there too', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/api/v1/openapi.json').expect(200);
    const signUp = res.body.components.schemas.SignUpRequest;
    expect(signUp.additionalProperties).toBe(false);
    expect(signUp.required).toEqual(expect.arrayContaining(['name', 'email', 'password', 'defaultCurrency', 'timezone']));
  });
});
