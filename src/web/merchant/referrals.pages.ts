import { Router, type Request, type Response } from 'express';
import { customersByIds } from '../../customers/customer.queries';
import { ReferralProgramBody, ReviewReferralBody, type ReferralProgramView, type ReferralView } from '../../referrals/referral.schemas';
import {
  approveReferral,
  getReferral,
  getReferralProgram,
  listReferrals,
  rejectReferral,
  saveReferralProgram,
  type ReferralDeps,
} from '../../referrals/referral.service';
import { InvalidStateError, NotFoundError } from '../../shared/errors';
import { formatMoney, toDecimalString } from '../../shared/money';
import { readForm, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { dateTimeIn } from '../shop/portal-format';
import { localeOf } from '../shop/shop-view';
import { merchantActor, requireMerchant, signedInMerchant, signedInStore } from './merchant-session';
import { afterOf, idOf, placeIssues, receiptOf, stringFields, typedAmount, typedWhole, type FormValues, type RetentionForm } from './retention-forms';

/**
 * Referrals (`/merchant/retention/referrals`): the programme (the API's GET/PUT /referral-program), the
 * referrals filtered by status with cursor pagination, and the review of held ones (approve; reject, with a
 * reason for the record, confirmed). Same services as the API (src/referrals/referral.service.ts), as the merchant.
 */
const BASE = '/merchant/retention/referrals';
const PAGE_SIZE = 25;
const STATUSES = ['held', 'pending', 'rewarded', 'rejected'] as const;
type Status = (typeof STATUSES)[number];

const STATUS_WORDS: Record<Status, string> = { held: 'Waiting for review', pending: 'Waiting for the first box', rewarded: 'Rewarded', rejected: 'Rejected' };
const HOLD_WORDS: Record<string, string> = {
  same_shipping_address: 'the friend ships to the referrer’s address',
  referrer_velocity: 'the referrer made many referrals in 30 days',
  similar_email: 'the friend’s e-mail looks like the referrer’s',
};

const DONE: Record<string, string> = {
  saved: 'The referral programme is saved. Referrals already made keep what they were made with.',
  approved: 'The referral is approved: the referrer is rewarded once the friend’s first box is paid (now, if it is already).',
  rejected: 'The referral is rejected: the referrer gets no reward; the friend keeps their welcome offer.',
};

const PROGRAM_FIELDS = ['enabled', 'welcomeType', 'welcomeValue', 'rewardType', 'rewardValue', 'maxReferralsPer30Days'] as const;
const PROGRAM_FIELD_OF: Record<string, string> = {
  enabled: 'enabled',
  welcomeOffer: 'welcomeType',
  'welcomeOffer.type': 'welcomeType',
  'welcomeOffer.percentOff': 'welcomeValue',
  'welcomeOffer.amountOffMinor': 'welcomeValue',
  referrerReward: 'rewardType',
  'referrerReward.type': 'rewardType',
  'referrerReward.points': 'rewardValue',
  'referrerReward.creditMinor': 'rewardValue',
  review: 'maxReferralsPer30Days',
  'review.maxReferralsPer30Days': 'maxReferralsPer30Days',
};
const PROGRAM_WORDS: Record<string, string> = {
  welcomeType: 'Choose a percent or an amount off',
  rewardType: 'Choose points or credit',
  maxReferralsPer30Days: 'Type a whole number from 1 to 10,000',
};

/** The programme form → the API's ReferralProgramBody; amounts in the store's currency. */
export function readProgramForm(body: unknown, currency: string): RetentionForm<ReferralProgramBody> {
  const { values, errors } = stringFields(body, PROGRAM_FIELDS);
  const welcomeType = values.welcomeType;
  const rewardType = values.rewardType;
  const welcomeValue =
    welcomeType === 'amount'
      ? typedAmount(values, 'welcomeValue', currency, errors)
      : typedWhole(values, 'welcomeValue', errors, 'Type a whole percent from 1 to 100');
  const rewardValue =
    rewardType === 'credit'
      ? typedAmount(values, 'rewardValue', currency, errors)
      : typedWhole(values, 'rewardValue', errors, 'Type a whole number of points from 1 to 1,000,000');
  const words: Record<string, string> = {
    ...PROGRAM_WORDS,
    welcomeValue: welcomeType === 'amount' ? 'Type the amount off the first box, such as 5.00' : 'Type a whole percent from 1 to 100',
    rewardValue: rewardType === 'credit' ? 'Type the credit, such as 10.00' : 'Type a whole number of points from 1 to 1,000,000',
  };
  const max = typedWhole(values, 'maxReferralsPer30Days', errors, PROGRAM_WORDS.maxReferralsPer30Days!);
  const input = {
    enabled: values.enabled === 'on',
    welcomeOffer: welcomeType === 'amount' ? { type: 'amount', amountOffMinor: welcomeValue } : { type: welcomeType, percentOff: welcomeValue },
    referrerReward: rewardType === 'credit' ? { type: 'credit', creditMinor: rewardValue } : { type: rewardType, points: rewardValue },
    review: { maxReferralsPer30Days: max ?? 10 },
  };
  const parsed = ReferralProgramBody.safeParse(input);
  if (!parsed.success) placeIssues(parsed.error, PROGRAM_FIELD_OF, words, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}

function programValues(program: ReferralProgramView | null): FormValues {
  if (!program) return { welcomeType: 'percent', rewardType: 'points', maxReferralsPer30Days: '10' };
  const welcome = program.welcomeOffer;
  const reward = program.referrerReward;
  return {
    ...(program.enabled ? { enabled: 'on' } : {}),
    welcomeType: welcome.type,
    welcomeValue: welcome.type === 'percent' ? String(welcome.percentOff) : toDecimalString(welcome.amountOffMinor, program.currency),
    rewardType: reward.type,
    rewardValue: reward.type === 'points' ? String(reward.points) : toDecimalString(reward.creditMinor, program.currency),
    maxReferralsPer30Days: String(program.review.maxReferralsPer30Days),
  };
}

function programWords(program: ReferralProgramView | null, locale: string): string[] {
  if (!program) return ['No referral programme is set up yet: shoppers have no code to share.'];
  const welcome = program.welcomeOffer;
  const reward = program.referrerReward;
  return [
    program.enabled ? 'On: shoppers can share their code.' : 'Off: codes are not accepted.',
    `The friend gets ${welcome.type === 'percent' ? `${welcome.percentOff}% off` : `${formatMoney(welcome.amountOffMinor, program.currency, locale)} off`} their first box.`,
    `The referrer gets ${reward.type === 'points' ? `${reward.points.toLocaleString('en-US')} points` : `${formatMoney(reward.creditMinor, program.currency, locale)} of credit`} once that box is paid.`,
    `From ${program.review.maxReferralsPer30Days} referrals in 30 days, a referrer’s next ones wait for your review.`,
  ];
}

async function programOf(merchantId: string): Promise<ReferralProgramView | null> {
  return getReferralProgram(merchantId).catch((error: unknown) => {
    if (error instanceof NotFoundError) return null;
    throw error;
  });
}

function rewardWords(referral: ReferralView, locale: string): string {
  const reward = referral.reward;
  return reward.type === 'points' ? `${reward.points.toLocaleString('en-US')} points` : `${formatMoney(reward.creditMinor, reward.currency, locale)} credit`;
}

async function referralRows(merchantId: string, referrals: ReferralView[], timezone: string, locale: string) {
  const people = new Map(
    (
      await customersByIds(
        merchantId,
        referrals.flatMap((r) => [r.referrerCustomerId, r.friendCustomerId]),
      )
    ).map((c) => [c._id, c.name || c.email]),
  );
  return referrals.map((referral) => ({
    id: referral.id,
    referrer: people.get(referral.referrerCustomerId) ?? 'A shopper',
    friend: people.get(referral.friendCustomerId) ?? 'A shopper',
    friendSubscriptionId: referral.friendSubscriptionId,
    code: referral.code,
    status: referral.status,
    statusWords: STATUS_WORDS[referral.status],
    why: referral.heldReasons.map((reason) => HOLD_WORDS[reason] ?? reason),
    reward: rewardWords(referral, locale),
    note: referral.reviewNote,
    at: dateTimeIn(referral.createdAt, timezone, locale),
    canReject: referral.status === 'held' || referral.status === 'pending',
  }));
}

export function referralPages(deps: ReferralDeps): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  router.get(BASE, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const status = STATUSES.find((s) => s === req.query.status);
    const [profile, program, page] = await Promise.all([
      signedInStore(res),
      programOf(merchantId),
      firstPageOnBadCursor((startingAfter) => listReferrals(merchantId, { limit: PAGE_SIZE, startingAfter, status }), afterOf(req)),
    ]);
    const locale = localeOf(req);
    res.render('merchant/retention/referrals', {
      title: 'Referrals',
      receipt: receiptOf(req, DONE),
      program: programWords(program, locale),
      status: status ?? '',
      statuses: STATUSES.map((s) => ({ value: s, words: STATUS_WORDS[s] })),
      referrals: await referralRows(merchantId, page.data, profile.timezone, locale),
      older: page.hasMore && page.nextCursor ? `${BASE}?${status ? `status=${status}&` : ''}after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  async function renderProgram(res: Response, values: FormValues | null, errors: FieldErrors, status = 200): Promise<void> {
    const profile = await signedInStore(res);
    const program = await programOf(profile._id);
    res.status(status).render('merchant/retention/referral-program', {
      title: 'Referral programme',
      currency: program?.currency ?? profile.defaultCurrency,
      values: values ?? programValues(program),
      errors,
    });
  }

  router.get(`${BASE}/programme`, async (_req, res) => {
    await renderProgram(res, null, {});
  });

  router.post(`${BASE}/programme`, async (req, res) => {
    const profile = await signedInStore(res);
    // Amounts are in the store's default currency (what the service saves the programme in).
    const form = readProgramForm(req.body, profile.defaultCurrency);
    if (!form.ok) return renderProgram(res, form.values, form.errors, 400);
    await saveReferralProgram(deps.clock, profile._id, form.body);
    res.redirect(303, `${BASE}?done=saved#receipt`);
  });

  router.post(`${BASE}/:id/approve`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const referral = await getReferral(merchantId, idOf(req.params.id));
    try {
      await approveReferral(deps, merchantId, referral.id, {}, merchantActor(res));
    } catch (error) {
      if (!(error instanceof InvalidStateError)) throw error;
      return res.status(409).render('merchant/retention/refused', { title: 'Not done', message: error.message, back: BASE });
    }
    res.redirect(303, `${BASE}?status=held&done=approved#receipt`);
  });

  async function renderReject(req: Request, res: Response, referral: ReferralView, values: FormValues, errors: FieldErrors, status = 200) {
    const profile = await signedInStore(res);
    const [row] = await referralRows(profile._id, [referral], profile.timezone, localeOf(req));
    res.status(status).render('merchant/retention/referral-reject', { title: 'Reject this referral?', referral: row, values, errors });
  }

  router.get(`${BASE}/:id/reject`, async (req, res) => {
    const referral = await getReferral(signedInMerchant(res).merchantId, idOf(req.params.id));
    await renderReject(req, res, referral, {}, {});
  });

  router.post(`${BASE}/:id/reject`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const referral = await getReferral(merchantId, idOf(req.params.id));
    const fields = (req.body ?? {}) as Record<string, unknown>;
    const note = typeof fields.note === 'string' ? fields.note.trim() : fields.note;
    const form = readForm(ReviewReferralBody, { ...fields, note: note === '' ? undefined : note });
    if (!form.ok) {
      const values = { note: typeof fields.note === 'string' ? fields.note : '' };
      const errors = form.errors.note ? { note: 'Keep the reason under 500 characters' } : form.errors;
      return renderReject(req, res, referral, values, errors, 400);
    }
    try {
      await rejectReferral(deps.clock, merchantId, referral.id, form.value, merchantActor(res));
    } catch (error) {
      if (!(error instanceof InvalidStateError)) throw error;
      return res.status(409).render('merchant/retention/refused', { title: 'Not done', message: error.message, back: BASE });
    }
    res.redirect(303, `${BASE}?done=rejected#receipt`);
  });

  return router;
}
