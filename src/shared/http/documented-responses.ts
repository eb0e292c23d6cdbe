import { PROBLEM_CONTENT_TYPE } from '../problem';
import type { RouteDefinition } from './route';

export const JSON_MEDIA_TYPE = 'application/json';

/** A problem answer whose meaning is the same wherever it is given: documented once, under this name. */
export const STANDARD_PROBLEMS = {
  Problem400: {
    status: 400,
    description:
      'The request is not valid (`/problems/invalid_request`: each bad field is named in `errors`), or its body is not JSON (`/problems/malformed_body`).',
  },
  Problem401: { status: 401, description: 'No valid API key (`/problems/unauthorized`); a shopper session cannot call merchant operations.' },
  Problem401Shopper: { status: 401, description: 'No valid shopper session key (`/problems/unauthorized`); a secret API key cannot call shopper operations.' },
  Problem401Credentials: { status: 401, description: 'The credentials are not right (`/problems/unauthorized`).' },
  Problem404: { status: 404, description: "Not found (`/problems/not_found`), or not yours: other merchants' data is never revealed." },
  Problem409: {
    status: 409,
    description:
      'The resource is not in a state that allows this, or the request conflicts with existing data, or a request with this Idempotency-Key is still being processed.',
  },
  Problem413: { status: 413, description: 'The body is too large (`/problems/payload_too_large`).' },
  Problem415: { status: 415, description: 'The body is not JSON (`/problems/unsupported_media_type`).' },
  Problem422: { status: 422, description: 'The Idempotency-Key was used with a different request (`/problems/idempotency_key_reused`).' },
  Problem429: { status: 429, description: 'Too many requests (`/problems/rate_limited`); see `Retry-After`.' },
  Problem500: { status: 500, description: 'Something went wrong on our side (`/problems/internal_error`).' },
} as const satisfies Record<string, { status: number; description: string }>;

export type StandardProblem = keyof typeof STANDARD_PROBLEMS;

/** One status an operation can answer, with the media types it can carry. */
export interface DocumentedResponse {
  status: number;
  description: string;
  /** Media types without parameters: the success answer's are JSON and the route's alternatives; problems are problem+json. */
  mediaTypes: string[];
  /** Set when the answer means exactly what the standard problem of this name means. */
  standard?: StandardProblem;
}

function standardFor(route: RouteDefinition, status: number): StandardProblem {
  if (status === 401) return route.auth === 'shopper' ? 'Problem401Shopper' : route.auth === 'none' ? 'Problem401Credentials' : 'Problem401';
  const name = `Problem${status}`;
  if (!(name in STANDARD_PROBLEMS)) {
    throw new Error(`${route.operationId}: status ${status} has no standard meaning; declare it in \`errors\` as { status, code, when }`);
  }
  return name as StandardProblem;
}

/**
 * Every status and media type an operation can answer, derived from its definition: the OpenAPI document is
 * generated from this, and in check mode the API router reports any other answer (see answer-check.ts).
 */
export function documentedResponses(route: RouteDefinition): DocumentedResponse[] {
  const standard = new Map<number, StandardProblem>();
  const specific = new Map<number, string[]>();
  const addStandard = (status: number): void => {
    standard.set(status, standardFor(route, status));
  };
  addStandard(400);
  addStandard(500);
  if (route.auth !== 'none') addStandard(401);
  if (route.params) addStandard(404);
  if (route.method !== 'get') {
    addStandard(409);
    addStandard(422);
    // Any write may carry a body, whether it reads one or not: too large or not JSON, it is refused.
    addStandard(413);
    addStandard(415);
  }
  if (route.rateLimit) addStandard(429);
  for (const error of route.errors ?? []) {
    if (typeof error === 'number') addStandard(error);
    else specific.set(error.status, [...(specific.get(error.status) ?? []), `\`/problems/${error.code}\`: ${error.when}`]);
  }

  const problems = [...new Set([...standard.keys(), ...specific.keys()])]
    .sort((a, b) => a - b)
    .map((status): DocumentedResponse => {
      const name = standard.get(status);
      const extra = specific.get(status);
      if (name && !extra) return { status, description: STANDARD_PROBLEMS[name].description, mediaTypes: [PROBLEM_CONTENT_TYPE], standard: name };
      const parts = [...(name ? [STANDARD_PROBLEMS[name].description] : []), ...(extra ?? [])];
      const description = parts.length === 1 ? parts[0]! : parts.map((part) => `- ${part}`).join('\n');
      return { status, description, mediaTypes: [PROBLEM_CONTENT_TYPE] };
    });
  const alternatives = route.response.alternatives ?? [];
  const success: DocumentedResponse = {
    status: route.response.status,
    description: alternatives.length
      ? `${route.response.description}\n\n${alternatives.map((alternative) => `- As \`${alternative.mediaType}\`: ${alternative.description}`).join('\n')}`
      : route.response.description,
    mediaTypes: [JSON_MEDIA_TYPE, ...alternatives.map((alternative) => alternative.mediaType)],
  };
  if (problems.some((problem) => problem.status === success.status))
    throw new Error(`${route.operationId}: status ${success.status} is both its success and a problem`);
  return [success, ...problems];
}

/** A Content-Type without its parameters, lower case (`text/csv; charset=utf-8` → `text/csv`). */
export function mediaTypeOf(contentType: string | number | readonly string[] | undefined): string {
  const value: unknown = Array.isArray(contentType) ? (contentType as readonly string[])[0] : contentType;
  return typeof value === 'string' ? (value.split(';')[0] ?? '').trim().toLowerCase() : '';
}
