import type { Response } from 'express';
import { documentedResponses, mediaTypeOf } from './documented-responses';
import type { RouteDefinition } from './route';

/** One answer the API gave: the operation, its status and its media type (without parameters). */
export interface GivenAnswer {
  operationId: string;
  status: number;
  mediaType: string;
}

const documented = new WeakMap<RouteDefinition, Map<number, string[]>>();
const given = new Map<string, GivenAnswer>();
const undocumented: GivenAnswer[] = [];

function documentedOf(route: RouteDefinition): Map<number, string[]> {
  let answers = documented.get(route);
  if (!answers) {
    answers = new Map(documentedResponses(route).map((answer) => [answer.status, answer.mediaTypes]));
    documented.set(route, answers);
  }
  return answers;
}

/** Whether the route's definition (and so the OpenAPI document) says it can answer this. */
export function isDocumentedAnswer(route: RouteDefinition, status: number, mediaType: string): boolean {
  return documentedOf(route).get(status)?.includes(mediaType) ?? false;
}

/**
 * Check mode (development and tests): notes the status and media type of this request's answer the moment
 * its head is written, whoever writes it (the route, the idempotency replay, the problem handler), and
 * reports any answer the route's definition does not document: a warning on the process, and a record
 * that tests read with `takeUndocumentedAnswers()` (each Jest worker has its own).
 */
export function watchAnswer(route: RouteDefinition, res: Response): void {
  const writeHead = res.writeHead.bind(res) as (...rest: unknown[]) => Response;
  res.writeHead = function watchedWriteHead(this: Response, ...args: unknown[]) {
    const status = typeof args[0] === 'number' ? args[0] : this.statusCode;
    const headers = args.find((arg, i) => i > 0 && typeof arg === 'object' && arg !== null && !Array.isArray(arg)) as Record<string, unknown> | undefined;
    const contentType = (headers?.['content-type'] ?? headers?.['Content-Type'] ?? this.getHeader('content-type')) as string | undefined;
    const answer: GivenAnswer = { operationId: route.operationId, status, mediaType: mediaTypeOf(contentType) };
    const key = `${answer.operationId} ${answer.status} ${answer.mediaType}`;
    const firstTime = !given.has(key);
    given.set(key, answer);
    if (!isDocumentedAnswer(route, answer.status, answer.mediaType)) {
      undocumented.push(answer);
      if (firstTime)
        process.emitWarning(
          `${route.method.toUpperCase()} ${route.path} (${route.operationId}) answered ${answer.status} ${answer.mediaType || '(no content type)'}, which its route definition does not document`,
          'UndocumentedAnswer',
        );
    }
    return writeHead(...args);
  } as Response['writeHead'];
}

/** The distinct answers given so far in this process, in the order first seen. */
export function givenAnswers(): GivenAnswer[] {
  return [...given.values()];
}

/** The undocumented answers given since the last call (and forgets them). */
export function takeUndocumentedAnswers(): GivenAnswer[] {
  return undocumented.splice(0, undocumented.length);
}
