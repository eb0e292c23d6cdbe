import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, MalformedBodyError, NotFoundError, PayloadTooLargeError, RateLimitedError, UnsupportedMediaTypeError } from './errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId?: string;
  [extension: string]: unknown;
}

/** Errors raised by Express's body parsers carry a `type`; map them to our own operational errors. */
function fromBodyParser(error: unknown): AppError | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  const type = (error as { type: unknown }).type;
  if (type === 'entity.too.large') return new PayloadTooLargeError('The request body exceeds the size limit.');
  if (type === 'entity.parse.failed') return new MalformedBodyError('The request body is not valid JSON.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new UnsupportedMediaTypeError('The request body encoding is not supported.');
  }
  return undefined;
}

export function toProblem(error: AppError, instance: string, requestId?: string): Problem {
  return {
    type: `/problems/${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    instance,
    ...(requestId ? { requestId } : {}),
    ...error.extensions,
  };
}

/** Browsers asking for a page get an HTML error page; API clients, webhooks and probes get problem+json. */
function wantsPage(req: Request): boolean {
  if (/^\/(api|webhooks|healthz|readyz)(\/|$)/.test(req.path)) return false;
  return req.accepts(['json', 'html']) === 'html';
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`No route for ${req.method} ${req.path}.`));
};

/** The one place errors become responses: RFC 9457 problem+json with a stable `type`. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    const known = error instanceof AppError ? error : fromBodyParser(error);
    let problem: Problem;
    if (known) {
      problem = toProblem(known, req.originalUrl, requestId);
      (req.log ?? logger).info({ err: known, problem: problem.type }, 'request refused');
    } else {
      (req.log ?? logger).error({ err: error }, 'unhandled error');
      problem = {
        type: '/problems/internal_error',
        title: 'Something went wrong on our side',
        status: 500,
        detail: 'The request could not be completed. It has been logged; quote the request id if you contact support.',
        instance: req.originalUrl,
        ...(requestId ? { requestId } : {}),
      };
    }
    res.status(problem.status);
    if (known instanceof RateLimitedError) res.set('retry-after', String(known.retryAfterSeconds));
    if (wantsPage(req)) {
      res.render('errors/error', { ...problem, requestId: requestId ?? null });
      return;
    }
    res.type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  };
}
