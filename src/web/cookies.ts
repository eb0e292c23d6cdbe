import type { Request, Response } from 'express';

/** Cookies without a dependency: read the request's, set ours with the flags every page cookie needs. */

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface CookieFlags {
  /** Secure when the app is served over HTTPS (production); a plain-http localhost cannot keep a Secure cookie in every client. */
  secure: boolean;
}

/**
 * HttpOnly, SameSite=Lax, Secure over HTTPS, for `path` (default `/`; a shopper's cookie is for one store's
 * `/shop/<handle>`, so sessions at two stores live side by side); `maxAgeSeconds` absent: a session cookie.
 */
export function setCookie(res: Response, flags: CookieFlags, name: string, value: string, options: { maxAgeSeconds?: number; path?: string } = {}): void {
  res.cookie(name, value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: flags.secure,
    path: options.path ?? '/',
    ...(options.maxAgeSeconds !== undefined ? { maxAge: options.maxAgeSeconds * 1000 } : {}),
  });
}

export function clearCookie(res: Response, flags: CookieFlags, name: string, path = '/'): void {
  res.clearCookie(name, { httpOnly: true, sameSite: 'lax', secure: flags.secure, path });
}
