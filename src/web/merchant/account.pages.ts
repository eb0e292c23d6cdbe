import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { changeMerchantPassword, createApiKey, listApiKeys, revokeApiKey } from '../../merchants/merchant.service';
import { NotFoundError } from '../../shared/errors';
import type { Clock } from '../../shared/time';
import type { CookieFlags } from '../cookies';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { endAllWebSessions } from '../web-session.service';
import { requireMerchant, signedInMerchant, signInMerchantBrowser } from './merchant-session';

/**
 * The merchant's account (`/merchant/account`): the password (the current one asked; every other browser signed
 * out after a change) and the store's API keys — a new key's secret shown once, each key's prefix and use,
 * revoking behind a confirmation.
 */
const PasswordForm = z.strictObject({
  currentPassword: z.string().min(1, { error: 'Enter your current password' }).max(256),
  newPassword: z.string().min(1, { error: 'Enter a new password' }).max(256),
});
const NewKeyForm = z.strictObject({ name: z.string().trim().min(1, { error: 'Name the key (what uses it)' }).max(100) });
const KeyId = z.string().regex(/^key_[0-9a-z]{20}$/);
const RevokeForm = z.strictObject({ confirm: z.literal('yes', { error: 'Tick the box to confirm' }) });

export function merchantAccountPages(deps: { clock: Clock; cookies: CookieFlags }): Router {
  const router = Router();
  const { clock } = deps;

  async function show(
    req: Request,
    res: Response,
    status = 200,
    model: { errors?: FieldErrors; newKey?: { name: string; secret: string } | null; notice?: string | null } = {},
  ) {
    const keys = await listApiKeys(signedInMerchant(res).merchantId);
    res.status(status).render('merchant/account', {
      title: 'Account and API keys',
      email: signedInMerchant(res).email,
      keys: keys
        .filter((key) => key.kind === 'secret' && !key.revokedAt)
        .map((key) => ({
          id: key.id,
          name: key.name,
          prefix: key.prefix,
          createdAt: key.createdAt.slice(0, 10),
          lastUsedAt: key.lastUsedAt?.slice(0, 10) ?? null,
        })),
      revoked: keys.filter((key) => key.kind === 'secret' && key.revokedAt).length,
      errors: model.errors ?? {},
      newKey: model.newKey ?? null,
      notice:
        model.notice ??
        (req.query.done === 'password'
          ? 'Your password is changed; other browsers are signed out.'
          : req.query.done === 'revoked'
            ? 'The key is revoked: it works no more.'
            : null),
    });
  }

  router.get('/merchant/account', requireMerchant, async (req, res) => show(req, res));

  router.post('/merchant/account/password', requireMerchant, async (req, res) => {
    const form = readForm(PasswordForm, req.body);
    if (!form.ok) return show(req, res, 400, { errors: form.errors });
    const me = signedInMerchant(res);
    try {
      await changeMerchantPassword(clock, me.merchantId, form.value);
    } catch (error) {
      const fields = errorsOf(error);
      if (fields) return show(req, res, 400, { errors: fields });
      throw error;
    }
    // Every browser of this address is signed out; this one signs in again with a new session.
    await endAllWebSessions(clock, { audience: 'merchant', merchantId: me.merchantId });
    await signInMerchantBrowser(clock, deps.cookies, req, res, { id: me.merchantId, email: me.email });
    res.redirect(303, '/merchant/account?done=password');
  });

  router.post('/merchant/account/keys', requireMerchant, async (req, res) => {
    const form = readForm(NewKeyForm, req.body);
    if (!form.ok) return show(req, res, 400, { errors: form.errors });
    const key = await createApiKey(clock, signedInMerchant(res).merchantId, form.value.name);
    // Shown on this answer only (the page is not cached, and the secret is never stored).
    await show(req, res, 201, { newKey: { name: key.name, secret: key.secret! } });
  });

  router.get('/merchant/account/keys/:id/revoke', requireMerchant, async (req, res) => {
    const key = await ownKey(res, req.params.id);
    res.render('merchant/revoke-key', { title: 'Revoke a key', key: { id: key.id, name: key.name, prefix: key.prefix }, errors: {} });
  });

  router.post('/merchant/account/keys/:id/revoke', requireMerchant, async (req, res) => {
    const key = await ownKey(res, req.params.id);
    const form = readForm(RevokeForm, req.body);
    if (!form.ok)
      return res
        .status(400)
        .render('merchant/revoke-key', { title: 'Revoke a key', key: { id: key.id, name: key.name, prefix: key.prefix }, errors: form.errors });
    await revokeApiKey(clock, signedInMerchant(res).merchantId, key.id);
    res.redirect(303, '/merchant/account?done=revoked');
  });

  async function ownKey(res: Response, id: unknown) {
    const parsed = KeyId.safeParse(id);
    const key = parsed.success ? (await listApiKeys(signedInMerchant(res).merchantId)).find((k) => k.id === parsed.data && k.kind === 'secret') : undefined;
    if (!key) throw new NotFoundError('There is no such key.');
    return key;
  }

  return router;
}
