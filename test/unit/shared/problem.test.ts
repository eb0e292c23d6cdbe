import { fromBodyParser } from '../../../src/shared/problem';

/** Errors shaped as body-parser and raw-body make them (http-errors: status, statusCode, expose, type). */
function parserError(status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error('parser said no'), { status, statusCode: status, expose: status < 500, ...extra });
}

describe('fromBodyParser', () => {
  test.each([
    ['entity.too.large', 413, 413, '/problems/payload_too_large'],
    ['entity.parse.failed', 400, 400, '/problems/malformed_body'],
    ['entity.verify.failed', 403, 400, '/problems/malformed_body'],
    ['encoding.unsupported', 415, 415, '/problems/unsupported_media_type'],
    ['charset.unsupported', 415, 415, '/problems/unsupported_media_type'],
    ['request.aborted', 400, 400, '/problems/malformed_body'],
    ['request.size.invalid', 400, 400, '/problems/malformed_body'],
  ])('when the body parser fails with type %s (status %s), then it answers %s %s', (type, status, expected, problemType) => {
    const known = fromBodyParser(parserError(status, { type }));
    expect(known?.status).toBe(expected);
    expect(`/problems/${known?.code}`).toBe(problemType);
  });

  test('when zlib fails on a body that is not in its declared encoding, then it is a 400 malformed body', () => {
    const zlibError = parserError(400, { code: 'Z_DATA_ERROR', errno: -3 });
    expect(fromBodyParser(zlibError)).toMatchObject({ status: 400, code: 'malformed_body' });
    expect(fromBodyParser(parserError(400, { code: 'ERR_BROTLI_DECOMPRESSION_FAILED' }))).toMatchObject({ status: 400, code: 'malformed_body' });
  });

  test('when an exposed 4xx of an unknown kind comes from below, then its status is kept', () => {
    expect(fromBodyParser(parserError(411))).toMatchObject({ status: 411, code: 'bad_request' });
    expect(fromBodyParser(parserError(400))).toMatchObject({ status: 400, code: 'malformed_body' });
  });

  test('when an error is ours to fix (a 5xx of the parser, a dependency error with a status but no expose), then it stays unknown (500)', () => {
    expect(fromBodyParser(parserError(500, { type: 'stream.encoding.set' }))).toBeUndefined();
    expect(fromBodyParser(Object.assign(new Error('No such price'), { statusCode: 400, type: 'StripeInvalidRequestError' }))).toBeUndefined();
    expect(fromBodyParser(new Error('boom'))).toBeUndefined();
    expect(fromBodyParser(null)).toBeUndefined();
    expect(fromBodyParser('text')).toBeUndefined();
  });
});
