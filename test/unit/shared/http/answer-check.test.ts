import express from 'express';
import request from 'supertest';
import { z } from 'zod';
import { givenAnswers, takeUndocumentedAnswers } from '../../../../src/shared/http/answer-check';
import { apiRouter } from '../../../../src/shared/http/api-router';
import { defineRoute } from '../../../../src/shared/http/route';
import { InvalidStateError, NotFoundError } from '../../../../src/shared/errors';
import { problemHandler } from '../../../../src/shared/problem';
import { FakeClock } from '../../../../src/shared/time';
import { silentLogger } from '../../../helpers/test-env';

const Answer = z.strictObject({ ok: z.boolean() });
const Query = z.strictObject({ as: z.enum(['json', 'csv', 'tsv', 'gone', 'conflict']).default('json') });

const report = defineRoute({
  operationId: 'unitReport',
  method: 'get',
  path: '/report',
  tag: 'Unit',
  summary: 'A report',
  auth: 'none',
  query: Query,
  response: { status: 200, description: 'The report', schema: Answer, alternatives: [{ mediaType: 'text/csv', description: 'with `as=csv`' }] },
  errors: [404],
  handler: async ({ query }) => {
    if (query.as === 'gone') throw new NotFoundError('gone');
    if (query.as === 'conflict') throw new InvalidStateError('not now');
    if (query.as === 'json') return { body: { ok: true } };
    return { body: { ok: true }, text: { contentType: query.as === 'csv' ? 'text/csv; charset=utf-8' : 'text/tab-separated-values', content: 'ok\r\n' } };
  },
});

const archive = defineRoute({
  operationId: 'unitArchive',
  method: 'post',
  path: '/report/archive',
  tag: 'Unit',
  summary: 'Archive the report',
  auth: 'none',
  response: { status: 200, description: 'Archived', schema: Answer },
  handler: async () => ({ body: { ok: true } }),
});

function appWith(checkResponses: boolean) {
  const app = express();
  app.use(apiRouter([report, archive], { clock: new FakeClock(), checkResponses, authenticate: async () => undefined }));
  app.use(problemHandler(silentLogger));
  return app;
}

describe('the answer check (check mode of the API router)', () => {
  test('when a route answers a documented status and media type, then nothing is reported', async () => {
    const app = appWith(true);
    await request(app).get('/report').expect(200);
    await request(app)
      .get('/report?as=csv')
      .expect(200)
      .expect('content-type', /^text\/csv/);
    await request(app).get('/report?as=gone').expect(404);
    await request(app).get('/report?as=nonsense').expect(400);
    expect(takeUndocumentedAnswers()).toEqual([]);
    expect(givenAnswers()).toEqual(
      expect.arrayContaining([
        { operationId: 'unitReport', status: 200, mediaType: 'application/json' },
        { operationId: 'unitReport', status: 200, mediaType: 'text/csv' },
        { operationId: 'unitReport', status: 404, mediaType: 'application/problem+json' },
        { operationId: 'unitReport', status: 400, mediaType: 'application/problem+json' },
      ]),
    );
  });

  test('when a route answers a media type or a status its definition does not document, then the process is warned once per kind of answer and every such answer is reported', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const app = appWith(true);
    await request(app).get('/report?as=tsv').expect(200);
    await request(app).get('/report?as=conflict').expect(409);
    await request(app).get('/report?as=conflict').expect(409);
    expect(warn.mock.calls).toEqual([
      ['GET /report (unitReport) answered 200 text/tab-separated-values, which its route definition does not document', 'UndocumentedAnswer'],
      ['GET /report (unitReport) answered 409 application/problem+json, which its route definition does not document', 'UndocumentedAnswer'],
    ]);
    warn.mockRestore();
    expect(takeUndocumentedAnswers()).toEqual([
      { operationId: 'unitReport', status: 200, mediaType: 'text/tab-separated-values' },
      { operationId: 'unitReport', status: 409, mediaType: 'application/problem+json' },
      { operationId: 'unitReport', status: 409, mediaType: 'application/problem+json' },
    ]);
  });

  test('when a write that reads no body is sent one that is not JSON, then its 415 is a documented answer', async () => {
    await request(appWith(true)).post('/report/archive').set('content-type', 'text/plain').send('hello').expect(415);
    expect(takeUndocumentedAnswers()).toEqual([]);
  });

  test('when check mode is off (production), then answers are neither watched nor reported', async () => {
    const app = appWith(false);
    const before = givenAnswers().length;
    await request(app).get('/report?as=tsv').expect(200);
    expect(takeUndocumentedAnswers()).toEqual([]);
    expect(givenAnswers()).toHaveLength(before);
  });
});
