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

/** HttpOnly, SameSite=Lax, path /, Secure over HTTPS; `maxAgeSeconds` absent: a session cookie (gone when the browser closes). */
export function setCookie(res: Response, flags: CookieFlags, name: string, value: string, maxAgeSeconds?: number): void {
  res.cookie(name, value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: flags.secure,
    path: '/',
    ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds * 1000 } : {}),
  });
}

export function clearCookie(res: Response, flags: CookieFlags, name: string): void {
  res.clearCookie(name, { httpOnly: true, sameSite: 'lax', secure: flags.secure, path: '/' });
}
