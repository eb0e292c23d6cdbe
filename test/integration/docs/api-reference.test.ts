import request from 'supertest';
import { REDOC_VERSION, withBlobWorkers } from '../../../src/docs/api-reference.pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('GET /docs/api', () => {
  useTestDatabase();

  test('when the front page is opened, then it links to the API reference and the OpenAPI document', async () => {
    const res = await request(buildTestApp().app).get('/').expect(200);
    expect(res.text).toContain('<a href="/docs/api">API reference</a>');
    expect(res.text).toContain('<a href="/api/v1/openapi.json">');
  });

  test('when the reference is opened, then it loads our own copy of Redoc for the OpenAPI document, and no inline script', async () => {
    const res = await request(buildTestApp().app).get('/docs/api').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<redoc spec-url="/api/v1/openapi.json"');
    const scripts = [...res.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map(([, attributes, body]) => ({ attributes: attributes!.trim(), body }));
    expect(scripts).toEqual([{ attributes: `src="/docs/api/redoc-${REDOC_VERSION}.js"`, body: '' }]);
  });

  test('when the bundle is fetched, then it is JavaScript kept for good under its version, with no CDN address left in it', async () => {
    const res = await request(buildTestApp().app).get(`/docs/api/redoc-${REDOC_VERSION}.js`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.text.length).toBeGreaterThan(500_000);
    expect(res.text).not.toContain('cdn.redoc.ly');
    await request(buildTestApp().app).get('/docs/api/redoc-0.0.0.js').expect(404);
  });

  test("when the page's policy is made, then only worker-src changes and every other directive of the app's policy stays", () => {
    expect(withBlobWorkers("default-src 'self';script-src 'self' https://js.stripe.com;worker-src 'none';style-src 'self'")).toBe(
      "default-src 'self';script-src 'self' https://js.stripe.com;style-src 'self';worker-src 'self' blob:",
    );
  });
});
