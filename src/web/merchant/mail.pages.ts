import { Router } from 'express';
import { z } from 'zod';
import { getCaughtMail, listCaughtMail } from '../../messages/caught-mail.service';
import { NotFoundError } from '../../shared/errors';
import { mailDetail, mailRow, sendMailHtml } from '../mail-view';
import { firstPageOnBadCursor } from '../forms';
import { requireMerchant, signedInMerchant } from './merchant-session';

const MailId = z.string().regex(/^cm_[0-9a-z]{20}$/);
const Page = z.object({ after: z.string().max(200).optional() });

/**
 * The store's caught mail (`/merchant/mail`): while no SMTP_URL is set, every message the store sent is kept on
 * this machine, and its merchant reads it here, as a shopper would have received it.
 */
export function merchantMailPages(deps: { mailCaught: boolean }): Router {
  const router = Router();
  // With SMTP_URL set nothing is caught: there is no such page.
  router.use('/merchant/mail', (_req, _res, next) => next(deps.mailCaught ? undefined : new NotFoundError('Not found.')));
  const idOf = (value: unknown) => {
    const id = MailId.safeParse(value);
    if (!id.success) throw new NotFoundError('No such mail.');
    return id.data;
  };

  router.get('/merchant/mail', requireMerchant, async (req, res) => {
    const merchant = signedInMerchant(res);
    const query = Page.safeParse(req.query);
    const scope = { merchantId: merchant.merchantId };
    const page = await firstPageOnBadCursor(
      (startingAfter) => listCaughtMail(scope, { limit: 50, startingAfter }),
      query.success ? query.data.after : undefined,
    );
    res.render('merchant/mail-list', {
      title: 'Mail',
      mailCaught: deps.mailCaught,
      mails: page.data.map((mail) => mailRow(mail, `/merchant/mail/${mail.id}`)),
      older: page.hasMore && page.nextCursor ? `/merchant/mail?after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  router.get('/merchant/mail/:id', requireMerchant, async (req, res) => {
    const id = idOf(req.params.id);
    const mail = await getCaughtMail({ merchantId: signedInMerchant(res).merchantId }, id);
    res.render('merchant/mail', { title: mail.subject ?? 'Mail', mail: mailDetail(mail, `/merchant/mail/${id}/html`) });
  });

  router.get('/merchant/mail/:id/html', requireMerchant, async (req, res) => {
    sendMailHtml(res, await getCaughtMail({ merchantId: signedInMerchant(res).merchantId }, idOf(req.params.id)));
  });
  return router;
}
