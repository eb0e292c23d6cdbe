import type { Express } from 'express';
import request from 'supertest';

/** A browser-like client for the server-rendered pages: keeps cookies, reads each form's CSRF token. */
export function pageClient(app: Express) {
  const agent = request.agent(app);
  let lastToken: string | undefined;
  const tokenIn = (html: string): string | undefined => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  return {
    agent,
    /** GET a page (as a browser asks for HTML); remembers its form token. */
    async get(path: string) {
      const res = await agent.get(path).set('accept', 'text/html');
      lastToken = tokenIn(res.text) ?? lastToken;
      return res;
    },
    /** POST a form with the last page's CSRF token (or `csrf` given, or none with `csrf: null`). */
    async post(path: string, fields: Record<string, string>, options: { csrf?: string | null } = {}) {
      const token = options.csrf === undefined ? lastToken : options.csrf;
      const res = await agent
        .post(path)
        .set('accept', 'text/html')
        .type('form')
        .send({ ...fields, ...(token ? { _csrf: token } : {}) });
      lastToken = tokenIn(res.text) ?? lastToken;
      return res;
    },
  };
}
