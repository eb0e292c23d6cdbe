import express, { type RequestHandler } from 'express';

/** The body-parser error type for a JSON body that uses a key objects treat as their prototype. */
export const RESERVED_KEY_ERROR = 'entity.key.reserved';

/**
 * JSON allows `"__proto__"` as a key; a JavaScript object does not keep it as data (assigning it replaces the
 * prototype, and Zod drops it silently). No request has a use for it: refuse the body while parsing.
 */
function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === '__proto__') throw Object.assign(new Error('The request body uses the reserved key "__proto__".'), { type: RESERVED_KEY_ERROR });
  return value;
}

/** The API's JSON body parser: strict JSON (objects and arrays), within the size limit, no `__proto__` keys. */
export function jsonBody(limit: string): RequestHandler {
  return express.json({ limit, strict: true, reviver: refuseProtoKey });
}
