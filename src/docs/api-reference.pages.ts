import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router, type Response } from 'express';

const REDOC_BUNDLE_FILE = require.resolve('redoc/bundles/redoc.standalone.js');
export const REDOC_VERSION = (JSON.parse(readFileSync(path.join(path.dirname(REDOC_BUNDLE_FILE), '..', 'package.json'), 'utf8')) as { version: string })
  .version;

/**
 * Redoc's standalone bundle, served from the installed package (no CDN; the version package-lock pins). Its
 * sidebar footer loads Redocly's logo from their CDN, which our policy blocks and which would tell a third party
 * who reads our reference: that one URL is replaced by an empty image. Read once, at the first request.
 */
const REDOC_LOGO_URL = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
let redocBundle: string | undefined;
function loadRedocBundle(): string {
  redocBundle ??= readFileSync(REDOC_BUNDLE_FILE, 'utf8').split(REDOC_LOGO_URL).join(EMPTY_IMAGE);
  return redocBundle;
}

/**
 * The one relaxation of the app's Content-Security-Policy this page needs: Redoc runs its search index in a
 * worker it makes from a `blob:` URL. Scripts stay `'self'` (no inline script, no eval); styles were already
 * allowed inline app-wide. Only the response of this page carries it.
 */
export function withBlobWorkers(policy: string): string {
  const directives = policy
    .split(';')
    .map((directive) => directive.trim())
    .filter((directive) => directive && !/^worker-src(\s|$)/i.test(directive));
  return [...directives, "worker-src 'self' blob:"].join(';');
}

function relaxPolicyForRedoc(res: Response): void {
  const policy = res.getHeader('content-security-policy');
  if (typeof policy === 'string') res.setHeader('content-security-policy', withBlobWorkers(policy));
}

/** `/docs/api`: a readable reference of the JSON API, rendered by Redoc in the browser from `/api/v1/openapi.json`. */
export function apiReferencePages(): Router {
  const router = Router();
  router.get('/docs/api', (_req, res) => {
    relaxPolicyForRedoc(res);
    res.render('docs/api-reference', { specUrl: '/api/v1/openapi.json', bundleUrl: `/docs/api/redoc-${REDOC_VERSION}.js` });
  });
  router.get(`/docs/api/redoc-${REDOC_VERSION}.js`, (_req, res) => {
    // The version is in the path, so browsers can keep the bundle for good.
    res.type('text/javascript').set('cache-control', 'public, max-age=31536000, immutable').send(loadRedocBundle());
  });
  return router;
}
