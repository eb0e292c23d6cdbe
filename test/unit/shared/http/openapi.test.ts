import { z } from 'zod';
import { buildOpenApiDocument } from '../../../../src/shared/http/openapi';
import { defineRoute, type RouteDefinition } from '../../../../src/shared/http/route';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function danglingRefs(document: Json): string[] {
  const refs: string[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string') refs.push(value);
        else walk(value);
      }
    }
  };
  walk(document);
  return refs.filter((ref) => {
    let node: Json | undefined = document;
    for (const key of ref
      .replace(/^#\//, '')
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))) {
      node = node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    }
    return !ref.startsWith('#/') || node === undefined;
  });
}

const build = (routes: RouteDefinition[]) =>
  buildOpenApiDocument(routes, { version: 'test', serverUrl: 'http://localhost' }) as unknown as Json & Record<string, any>;

// Ids are global (Zod's registry): unique names per test file keep them apart from the app's.
const Window = z.strictObject({ fromOn: z.string(), days: z.number().int().default(7) }).meta({ id: 'UnitTestWindow' });
const Rule = z.strictObject({ window: Window, note: z.string() }).meta({ id: 'UnitTestRule' });
const Pattern = z
  .string()
  .regex(/^[a-z]+$/)
  .meta({ id: 'UnitTestSlug' });

const routes = [
  defineRoute({
    operationId: 'createThing',
    method: 'post',
    path: '/things',
    tag: 'Things',
    summary: 'Create',
    auth: 'merchant',
    body: z.strictObject({ rule: Rule, other: z.array(Rule) }).meta({ id: 'UnitTestCreateThing' }),
    response: { status: 201, description: 'The thing', schema: z.strictObject({ rules: z.array(Rule), window: Window }).meta({ id: 'UnitTestThing' }) },
    handler: async () => ({ body: { rules: [], window: { fromOn: 'x', days: 7 } } }),
  }),
  defineRoute({
    operationId: 'listThings',
    method: 'get',
    path: '/things/:slug',
    tag: 'Things',
    summary: 'List',
    auth: 'shopper',
    params: z.strictObject({ slug: Pattern }),
    query: z.strictObject({ window: z.string().optional() }),
    response: {
      status: 200,
      description: 'The things',
      schema: z.strictObject({ window: Window }),
      alternatives: [{ mediaType: 'text/csv', description: 'with `format=csv`' }],
    },
    errors: [{ status: 410, code: 'gone', when: 'the thing was removed' }],
    handler: async () => ({ body: { window: { fromOn: 'x', days: 7 } } }),
  }),
];

describe('buildOpenApiDocument', () => {
  test('when a schema with its own id is nested in several others, then it is a component and every ref resolves', () => {
    const document = build(routes);
    expect(danglingRefs(document)).toEqual([]);
    expect(Object.keys(document.components.schemas)).not.toContain('__shared');
    expect(document.components.schemas.UnitTestRule).toBeDefined();
  });

  test('when a shared schema reads differently as input (a default), then requests use `<id>Input` and answers keep the id', () => {
    const { components } = build(routes);
    expect(components.schemas.UnitTestWindow.required).toEqual(['fromOn', 'days']);
    expect(components.schemas.UnitTestWindowInput.required).toEqual(['fromOn']);
    expect(components.schemas.UnitTestRuleInput.properties.window).toEqual({ $ref: '#/components/schemas/UnitTestWindowInput' });
    expect(components.schemas.UnitTestRule.properties.window).toEqual({ $ref: '#/components/schemas/UnitTestWindow' });
    expect(components.schemas.UnitTestCreateThing.properties.rule).toEqual({ $ref: '#/components/schemas/UnitTestRuleInput' });
  });

  test('when a parameter has a schema with its own id, then the parameter refers to its component', () => {
    const operation = build(routes).paths['/api/v1/things/{slug}'].get;
    expect(operation.parameters[0]).toEqual(expect.objectContaining({ name: 'slug', in: 'path', schema: { $ref: '#/components/schemas/UnitTestSlug' } }));
    expect(build(routes).components.schemas.UnitTestSlug).toEqual(expect.objectContaining({ type: 'string', pattern: '^[a-z]+$' }));
  });

  test("when a route declares another media type and a problem of its own, then both are documented with the route's security", () => {
    const operation = build(routes).paths['/api/v1/things/{slug}'].get;
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '404', '410', '500']);
    expect(Object.keys(operation.responses['200'].content)).toEqual(['application/json', 'text/csv']);
    expect(operation.responses['410'].description).toContain('`/problems/gone`: the thing was removed');
    expect(operation.responses['401']).toEqual({ $ref: '#/components/responses/Problem401Shopper' });
    expect(operation.security).toEqual([{ shopperSession: [] }]);
  });

  test('when a route lists a bare status with no standard meaning, then the document is not built', () => {
    const route = defineRoute({ ...(routes[1] as RouteDefinition), operationId: 'teapot', errors: [418] });
    expect(() => build([route])).toThrow('teapot: status 418 has no standard meaning');
  });
});
