import { z } from 'zod';
import type { RouteDefinition } from './route';

const COMPONENT = (id: string): string => `#/components/schemas/${id}`;

function pascal(operationId: string): string {
  return operationId.charAt(0).toUpperCase() + operationId.slice(1);
}

/** A schema's own id (`.meta({ id })`), or the given fallback. */
function idOf(schema: z.ZodType, fallback: string): string {
  const meta = z.globalRegistry.get(schema) as { id?: string } | undefined;
  return meta?.id ?? fallback;
}

function strip(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function toParameters(object: z.ZodObject<z.ZodRawShape> | undefined, location: 'path' | 'query'): unknown[] {
  if (!object) return [];
  return Object.entries(object.shape).map(([name, field]) => {
    const schema = strip(z.toJSONSchema(field as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
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

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is not valid (each bad field is named in `errors`).',
  401: 'No valid API key.',
  404: 'Not found (or not yours: other merchants\' data is never revealed).',
  409: 'The resource is not in a state that allows this, or the request conflicts with existing data.',
  413: 'The body is too large.',
  415: 'The body is not JSON.',
  422: 'The Idempotency-Key was used with a different request.',
  429: 'Too many requests; see `Retry-After`.',
  500: 'Something went wrong on our side.',
};

/** The OpenAPI 3.1 document of the JSON API, generated from the same Zod schemas that validate it. */
export function buildOpenApiDocument(routes: RouteDefinition[], info: { version: string; serverUrl: string }): Record<string, unknown> {
  const requests = z.registry<{ id: string }>();
  const responses = z.registry<{ id: string }>();
  const requestIds = new Map<z.ZodType, string>();
  const responseIds = new Map<z.ZodType, string>();
  for (const route of routes) {
    if (route.body && !requestIds.has(route.body)) {
      const id = idOf(route.body, `${pascal(route.operationId)}Request`);
      requestIds.set(route.body, id);
      requests.add(route.body, { id });
    }
    if (!responseIds.has(route.response.schema)) {
      const id = idOf(route.response.schema, `${pascal(route.operationId)}Response`);
      responseIds.set(route.response.schema, id);
      responses.add(route.response.schema, { id });
    }
  }
  const convert = (registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output') =>
    Object.fromEntries(
      Object.entries(
        (z.toJSONSchema(registry, { io, uri: COMPONENT, unrepresentable: 'any' }) as { schemas: Record<string, Record<string, unknown>> }).schemas,
      ).map(([id, schema]) => [id, strip(schema)]),
    );

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api/v1${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
    const statuses = new Set<number>([400, 500, ...(route.errors ?? [])]);
    if (route.auth !== 'none') statuses.add(401);
    if (route.params) statuses.add(404);
    if (route.method !== 'get') statuses.add(422).add(409);
    if (route.body) statuses.add(413).add(415);
    if (route.rateLimit) statuses.add(429);
    const parameters = [
      ...toParameters(route.params, 'path'),
      ...toParameters(route.query, 'query'),
      ...(route.method === 'get'
        ? []
        : [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Makes a retry safe: a repeat with the same key returns the first result and changes nothing; the same key with a different request answers 422.',
              schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
            },
          ]),
    ];
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      security: route.auth === 'none' ? [] : [{ apiKey: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: COMPONENT(requestIds.get(route.body)!) } } } } }
        : {}),
      responses: {
        [String(route.response.status)]: {
          description: route.response.description,
          content: { 'application/json': { schema: { $ref: COMPONENT(responseIds.get(route.response.schema)!) } } },
        },
        ...Object.fromEntries(
          [...statuses].sort().map((status) => [String(status), { $ref: `#/components/responses/Problem${status}` }]),
        ),
      },
    };
  }

  const problemResponses = Object.fromEntries(
    Object.entries(STATUS_TEXT).map(([status, description]) => [
      `Problem${status}`,
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
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A secret API key (`bxk_…`).' } },
      schemas: { ...convert(requests, 'input'), ...convert(responses, 'output'), Problem: ProblemSchema },
      responses: problemResponses,
    },
  };
}
