import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { documentedResponses, JSON_MEDIA_TYPE, STANDARD_PROBLEMS } from './documented-responses';
import type { RouteDefinition } from './route';

type JsonSchema = Record<string, unknown>;
type Components = Record<string, JsonSchema>;

const COMPONENT = (id: string): string => `#/components/schemas/${id}`;
/** Where Zod points a schema with its own id that is nested in registered schemas but not registered itself. */
const SHARED = `${COMPONENT('__shared')}#/$defs/`;
/** Where a standalone conversion (a parameter) points the schemas it extracted. */
const LOCAL = '#/$defs/';

function pascal(operationId: string): string {
  return operationId.charAt(0).toUpperCase() + operationId.slice(1);
}

/** A schema's own id (`.meta({ id })`), or the given fallback. */
function idOf(schema: z.ZodType, fallback: string): string {
  const meta = z.globalRegistry.get(schema) as { id?: string } | undefined;
  return meta?.id ?? fallback;
}

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** A copy of a JSON value with every `$ref` string passed through `map`. */
function mapRefs<T>(value: T, map: (ref: string) => string): T {
  if (Array.isArray(value)) return value.map((item: unknown) => mapRefs(item, map)) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, key === '$ref' && typeof item === 'string' ? map(item) : mapRefs(item, map)]),
  ) as T;
}

/** Adds a component; the same id twice must mean the same schema. */
function addComponent(components: Components, id: string, schema: JsonSchema): void {
  if (id in components && !isDeepStrictEqual(components[id], schema)) {
    throw new Error(`OpenAPI: two different schemas are both called "${id}": give one of them another id`);
  }
  components[id] = schema;
}

/**
 * The components of a set of root schemas, converted for one direction (`input`: what clients send;
 * `output`: what we answer). A schema with its own id that is nested in several roots (Eligibility in
 * PerkInput and OfferInput) is not a root: Zod files it under `__shared`, which is no place in an
 * OpenAPI document, so it becomes a component of its own and every ref to it points there.
 */
function toComponents(roots: Map<z.ZodType, string>, io: 'input' | 'output'): Components {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of roots) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, uri: COMPONENT, unrepresentable: 'any' }) as { schemas: Record<string, JsonSchema> };
  const { __shared: shared, ...own } = schemas;
  const components: Components = {};
  for (const [id, schema] of Object.entries(own)) addComponent(components, id, strip(schema));
  for (const [id, schema] of Object.entries((shared?.$defs ?? {}) as Components)) addComponent(components, id, strip(schema));
  return mapRefs(components, (ref) => (ref.startsWith(SHARED) ? COMPONENT(decodePointer(ref.slice(SHARED.length))) : ref));
}

/**
 * One set of components for both directions. A schema that reads differently as input than as output
 * (a field with a default is optional to send but always answered) keeps its id for the answer and is
 * `<id>Input` for requests. Returns the components, the id each input schema ended up with, and a function
 * that points the refs of an input schema (a parameter's) at those ids.
 */
function mergeComponents(input: Components, output: Components): { components: Components; inputId: (id: string) => string; inputRefs: <T>(value: T) => T } {
  const renamed = new Map<string, string>();
  const inputId = (id: string): string => renamed.get(id) ?? id;
  const inputRefs = <T>(value: T): T => mapRefs(value, (ref) => (ref.startsWith(COMPONENT('')) ? COMPONENT(inputId(ref.slice(COMPONENT('').length))) : ref));
  // Until nothing changes: a schema that only refers to one that was renamed reads differently too.
  for (let changed = true; changed;) {
    changed = false;
    for (const [id, schema] of Object.entries(input)) {
      if (renamed.has(id) || !(id in output) || isDeepStrictEqual(inputRefs(schema), output[id])) continue;
      const alias = `${id}Input`;
      if (alias in input || alias in output) throw new Error(`OpenAPI: "${id}" reads differently as input, and "${alias}" is taken`);
      renamed.set(id, alias);
      changed = true;
    }
  }
  const components: Components = { ...output };
  for (const [id, schema] of Object.entries(input)) addComponent(components, inputId(id), inputRefs(schema));
  return { components, inputId, inputRefs };
}

function toParameters(object: z.ZodObject<z.ZodRawShape> | undefined, location: 'path' | 'query', components: Components): unknown[] {
  if (!object) return [];
  return Object.entries(object.shape).map(([name, field]) => {
    const converted = strip(z.toJSONSchema(field as z.ZodType, { io: 'input', unrepresentable: 'any' }));
    // A parameter whose schema (or a part of it) has its own id: its definitions become input components.
    const { $defs, ...inline } = converted;
    const local = (ref: string): string => (ref.startsWith(LOCAL) ? COMPONENT(decodePointer(ref.slice(LOCAL.length))) : ref);
    for (const [id, schema] of Object.entries(($defs ?? {}) as Components)) addComponent(components, id, mapRefs(schema, local));
    const schema = mapRefs(inline, local);
    const description = typeof schema.description === 'string' ? schema.description : undefined;
    return {
      name,
      in: location,
      required: location === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema,
    };
  });
}

const ProblemSchema = {
  type: 'object',
  description: 'An RFC 9457 problem. `type` is stable; branch on it, not on `title` or `detail`.',
  properties: {
    type: { type: 'string', examples: ['/problems/invalid_state'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      description: 'For `/problems/invalid_request`: each bad field and why.',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'] },
    },
    retryAfterSeconds: { type: 'integer' },
  },
  required: ['type', 'title', 'status', 'detail', 'instance'],
};

const SECURITY = {
  merchant: [{ apiKey: [] }],
  shopper: [{ shopperSession: [] }],
  none: [],
} as const satisfies Record<RouteDefinition['auth'], unknown[]>;

/** The OpenAPI 3.1 document of the JSON API, generated from the same Zod schemas that validate it. */
export function buildOpenApiDocument(routes: RouteDefinition[], info: { version: string; serverUrl: string }): Record<string, unknown> {
  const requestIds = new Map<z.ZodType, string>();
  const responseIds = new Map<z.ZodType, string>();
  for (const route of routes) {
    if (route.body && !requestIds.has(route.body)) requestIds.set(route.body, idOf(route.body, `${pascal(route.operationId)}Request`));
    if (!responseIds.has(route.response.schema)) {
      responseIds.set(route.response.schema, idOf(route.response.schema, `${pascal(route.operationId)}Response`));
    }
  }
  const inputComponents = toComponents(requestIds, 'input');
  const parameters = new Map(
    routes.map((route) => [route, [...toParameters(route.params, 'path', inputComponents), ...toParameters(route.query, 'query', inputComponents)]]),
  );
  const { components: schemas, inputId, inputRefs } = mergeComponents(inputComponents, toComponents(responseIds, 'output'));
  addComponent(schemas, 'Problem', ProblemSchema);

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api/v1${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
    const operationParameters = [
      ...inputRefs(parameters.get(route) ?? []),
      ...(route.method === 'get'
        ? []
        : [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'Makes a retry safe: a repeat with the same key returns the first result and changes nothing; the same key with a different request answers 422.',
              schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
            },
          ]),
    ];
    const responses = Object.fromEntries(
      documentedResponses(route).map((answer): [string, unknown] => {
        if (answer.standard) return [String(answer.status), { $ref: `#/components/responses/${answer.standard}` }];
        const content = Object.fromEntries(
          answer.mediaTypes.map((mediaType) => [
            mediaType,
            {
              schema:
                mediaType === JSON_MEDIA_TYPE
                  ? { $ref: COMPONENT(responseIds.get(route.response.schema)!) }
                  : answer.status === route.response.status
                    ? { type: 'string' }
                    : { $ref: COMPONENT('Problem') },
            },
          ]),
        );
        return [String(answer.status), { description: answer.description, content }];
      }),
    );
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      security: SECURITY[route.auth],
      ...(operationParameters.length ? { parameters: operationParameters } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { [JSON_MEDIA_TYPE]: { schema: { $ref: COMPONENT(inputId(requestIds.get(route.body)!)) } } } } }
        : {}),
      responses,
    };
  }

  const problemResponses = Object.fromEntries(
    Object.entries(STANDARD_PROBLEMS).map(([name, { description }]) => [
      name,
      { description, content: { 'application/problem+json': { schema: { $ref: COMPONENT('Problem') } } } },
    ]),
  );

  return {
    openapi: '3.1.0',
    info: {
      title: 'Boxcycle API',
      version: info.version,
      description:
        'Subscription boxes: merchants, catalog, customers and subscriptions. Money is integer minor units with an ISO 4217 currency; instants are UTC ISO 8601.',
    },
    servers: [{ url: info.serverUrl }],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A secret API key (`bxk_…`), or a session key from `POST /merchants/login`.' },
        shopperSession: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A shopper session key from `POST /customers/{id}/shopper-sessions`: acts for that one customer, only on the `/shopper` operations, for 24 hours.',
        },
      },
      schemas,
      responses: problemResponses,
    },
  };
}
