import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { getCaughtMail, listCaughtMail } from '../../messages/caught-mail.service';
import { NotFoundError } from '../../shared/errors';
import { Email } from '../../shared/schemas';
import { mailDetail, mailRow, sendMailHtml } from '../mail-view';

const MailId = z.string().regex(/^cm_[0-9a-z]{20}$/);
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * `/local/mail`: the installation's own mail (no store sent it: a merchant's sign-up confirmation), caught on
 * this machine while no SMTP_URL is set, read by address. Only from this machine (the loopback address) and
 * only while mail is caught: anywhere else it does not exist.
 */
export function localMailPages(deps: { mailCaught: boolean }): Router {
  const router = Router();
  const onlyHere = (req: Request, _res: Response, next: NextFunction) => {
    if (!deps.mailCaught || !LOOPBACK.has(req.ip ?? '')) return next(new NotFoundError('Not found.'));
    next();
  };
  const addressOf = (req: Request): string | undefined => {
    const to = Email.safeParse(req.query.to);
    return to.success ? to.data : undefined;
  };
  const idOf = (value: unknown) => {
    const id = MailId.safeParse(value);
    if (!id.success) throw new NotFoundError('No such mail.');
    return id.data;
  };

  router.get('/local/mail', onlyHere, async (req, res) => {
    const to = addressOf(req);
    const mails = to ? (await listCaughtMail({ recipient: to }, { limit: 50 })).data : [];
    res.render('local/mail-list', {
      title: 'Mail on this machine',
      to: to ?? (typeof req.query.to === 'string' ? req.query.to.slice(0, 200) : ''),
      invalid: req.query.to !== undefined && !to,
      mails: mails.map((mail) => mailRow(mail, `/local/mail/${mail.id}?to=${encodeURIComponent(to!)}`)),
    });
  });

  router.get('/local/mail/:id', onlyHere, async (req, res) => {
    const to = addressOf(req);
    if (!to) throw new NotFoundError('No such mail.');
    const id = idOf(req.params.id);
    const mail = await getCaughtMail({ recipient: to }, id);
    res.render('local/mail', { title: mail.subject ?? 'Mail', to, mail: mailDetail(mail, `/local/mail/${id}/html?to=${encodeURIComponent(to)}`) });
  });

  router.get('/local/mail/:id/html', onlyHere, async (req, res) => {
    const to = addressOf(req);
    if (!to) throw new NotFoundError('No such mail.');
    sendMailHtml(res, await getCaughtMail({ recipient: to }, idOf(req.params.id)));
  });
  return router;
}
