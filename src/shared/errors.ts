/**
 * Operational errors: expected failures with a stable problem type. The problem handler turns them into
 * RFC 9457 `application/problem+json`; anything else is a programmer or infrastructure error (500, logged).
 */
export abstract class AppError extends Error {
  abstract readonly status: number;
  /** Stable machine-readable code; the problem `type` is `/problems/<code>`. */
  abstract readonly code: string;
  abstract readonly title: string;
  /** Extra members added to the problem body (e.g. `errors` for validation). */
  readonly extensions: Record<string, unknown> = {};

  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = new.target.name;
  }
}

export interface FieldIssue {
  /** Where the bad value is: `body.email`, `query.limit`, `header.idempotency-key`. */
  field: string;
  message: string;
}

/** Bad inputs, each named with what is wrong with it: a 400 listing them in `errors`. */
abstract class InputIssuesError extends AppError {
  readonly status = 400;
  readonly code = 'invalid_request';
  readonly title = 'The request is not valid';

  constructor(
    readonly issues: FieldIssue[],
    detail = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; '),
  ) {
    super(detail);
    this.extensions.errors = issues;
  }
}

/** Inputs refused at the edge, each named where it is in the request: `body.email`, `query.limit`. */
export class ValidationError extends InputIssuesError {}

/**
 * A value given to a use case breaks one of its rules ("the date is too soon: its box would already be
 * locked"). Services name the input in the domain's words (`date`, `cycleKey`); the edge says where it came
 * from (the API router turns it into a ValidationError on `body.date`, a page shows it beside the field).
 */
export class InvalidInputError extends InputIssuesError {}

/** One input of a use case breaks its rule. */
export function invalidInput(field: string, message: string): InvalidInputError {
  return new InvalidInputError([{ field, message }]);
}

export class MalformedBodyError extends AppError {
  readonly status = 400;
  readonly code = 'malformed_body';
  readonly title = 'The request body could not be parsed';
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly code = 'unauthorized';
  readonly title = 'Authentication is required';
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = 'forbidden';
  readonly title = 'This cannot be done from here';
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'not_found';
  readonly title = 'Not found';
}

export class InvalidStateError extends AppError {
  readonly status = 409;
  readonly code = 'invalid_state';
  readonly title = 'The resource is not in a state that allows this';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'payload_too_large';
  readonly title = 'The request body is too large';
}

export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
  readonly title = 'The request body must be JSON';
}

export class ServiceUnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'service_unavailable';
  readonly title = 'The service is not available right now';
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly code: string = 'conflict';
  readonly title: string = 'The request conflicts with existing data';
}

/** Nothing that could fill the box is on hand (a variant and its substitutes). */
export class OutOfStockError extends AppError {
  readonly status = 409;
  readonly code = 'out_of_stock';
  readonly title = 'Out of stock';
}

/** A debit larger than the points or credit the shopper has. */
export class InsufficientBalanceError extends AppError {
  readonly status = 409;
  readonly code = 'insufficient_balance';
  readonly title = 'Not enough points or credit';
}

/** A referral code that cannot be used by this shopper (their own, or a second referral). */
export class ReferralRefusedError extends AppError {
  readonly status = 422;
  readonly code = 'referral_refused';
  readonly title = 'This referral code cannot be used';
}

/** Why a promo code cannot be used here, as a stable word for clients (the detail says it in words). */
export type PromoCodeRefusal =
  'unknown' | 'archived' | 'expired' | 'used_up' | 'first_box_only' | 'currency' | 'better_discount' | 'already_used' | 'one_at_a_time' | 'unavailable';

/** A promo code that cannot be used on this subscription (unknown, expired, used up, for new subscribers only…). */
export class PromoCodeRefusedError extends AppError {
  readonly status = 422;
  readonly code = 'promo_code_refused';
  readonly title = 'This promo code cannot be used';

  constructor(
    detail: string,
    readonly reason: PromoCodeRefusal,
  ) {
    super(detail);
    this.extensions.reason = reason;
  }
}

export class IdempotencyInProgressError extends AppError {
  readonly status = 409;
  readonly code = 'idempotency_in_progress';
  readonly title = 'A request with this Idempotency-Key is still being processed';
}

export class IdempotencyKeyReusedError extends AppError {
  readonly status = 422;
  readonly code = 'idempotency_key_reused';
  readonly title = 'This Idempotency-Key was used with a different request';
}

export class RateLimitedError extends AppError {
  readonly status = 429;
  readonly code = 'rate_limited';
  readonly title = 'Too many requests';

  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(detail);
    this.extensions.retryAfterSeconds = retryAfterSeconds;
  }
}

export class InvalidSignatureError extends AppError {
  readonly status = 400;
  readonly code = 'invalid_signature';
  readonly title = 'The webhook signature is not valid';
}
