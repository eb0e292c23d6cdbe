import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { RESERVED_KEY_ERROR } from './json-body';
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

/** A client error raised below our code (the body parser) whose status is none of the ones we name. */
class ClientRequestError extends AppError {
  readonly code = 'bad_request';
  readonly title = 'The request could not be read';

  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

const BODY_ERRORS: Record<string, () => AppError> = {
  'entity.too.large': () => new PayloadTooLargeError('The request body exceeds the size limit.'),
  'entity.parse.failed': () => new MalformedBodyError('The request body is not valid JSON.'),
  'entity.verify.failed': () => new MalformedBodyError('The request body could not be verified.'),
  'encoding.unsupported': () => new UnsupportedMediaTypeError('The request body encoding is not supported.'),
  'charset.unsupported': () => new UnsupportedMediaTypeError('The request body charset is not supported.'),
  [RESERVED_KEY_ERROR]: () => new MalformedBodyError('The request body uses the reserved key "__proto__".'),
  'request.aborted': () => new MalformedBodyError('The request was aborted before its body was received.'),
  'request.size.invalid': () => new MalformedBodyError('The request body is not as long as its Content-Length says.'),
};

function statusOf(error: object): number | undefined {
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/**
 * Errors raised by Express's body parsers (body-parser, raw-body, zlib) before our code runs. Those with a
 * known `type` map to our own errors; any other one the parser marks as the client's (an http-errors 4xx,
 * which carries `expose: true`: a body that is not in its declared Content-Encoding, a zlib stream cut short)
 * keeps its 4xx status. Errors of our dependencies that merely carry a status (a Stripe 4xx is our fault,
 * not the client's) have no `expose` and stay 500.
 */
export function fromBodyParser(error: unknown): AppError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const type = (error as { type?: unknown }).type;
  if (typeof type === 'string' && Object.hasOwn(BODY_ERRORS, type)) return BODY_ERRORS[type]!();
  const status = statusOf(error);
  if ((error as { expose?: unknown }).expose !== true || status === undefined || status < 400 || status > 499) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(Z_|ERR_BROTLI|ERR_ZSTD|ERR_ZLIB)/.test(code)) {
    return new MalformedBodyError('The request body is not in the encoding its Content-Encoding header declares.');
  }
  if (status === 413) return new PayloadTooLargeError('The request body exceeds the size limit.');
  if (status === 415) return new UnsupportedMediaTypeError('The request body encoding is not supported.');
  if (status === 400) return new MalformedBodyError('The request body could not be read.');
  return new ClientRequestError(status, 'The request could not be read.');
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
