import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { actors } from '../../events/fact-types';
import { getLoyaltyProgress, listLoyaltyEntries, redeemPoints, type LoyaltyProgress } from '../../loyalty/loyalty.service';
import { activePerks } from '../../perks/perk.service';
import { referrerStandingOf, type ReferrerStanding } from '../../referrals/referral.service';
import { AppError, InsufficientBalanceError } from '../../shared/errors';
import { getSubscriptionRewards } from '../../shoppers/shopper-rewards.service';
import type { SubscriptionRewardsView } from '../../shoppers/shopper.schemas';
import type { SubscriptionDeps } from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { describeFact } from './fact-wording';
import { sentence, subscriptionHeader } from './history-view';
import { portalPlace, shopperSubscription, type PortalPlace } from './portal-access';
import { dateIn } from './portal-format';
import { localeOf, longDate, money } from './shop-view';

/**
 * `/shop/<handle>/subscriptions/<id>/rewards`: the shopper's points (and what they are worth), redeeming them
 * for credit on the coming boxes (a per-form nonce keys the redemption, so a double submit redeems once), their
 * tier and what the next one brings, the perks of this subscription (and for those not yet theirs, why not),
 * what recent boxes got, and their referral code and link with how their referrals stand.
 */
export interface RewardsPageDeps {
  subscriptions: SubscriptionDeps;
  /** Where this site is, for the shareable referral link. */
  publicUrl: string;
}

const MAX_CHOICES = 20;

const RedeemForm = z.strictObject({
  points: z
    .string({ error: 'Choose how many points' })
    .regex(/^\d{1,9}$/, { error: 'Choose how many points' })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: 'Choose how many points' })),
  /** A per-form nonce: submitting the same form twice redeems once. */
  attempt: z
    .string({ error: 'This form is incomplete: reload the page' })
    .regex(/^[A-Za-z0-9_-]{16,40}$/, { error: 'This form is incomplete: reload the page' }),
});
const RewardsQuery = z.object({
  redeemed: z
    .string()
    .regex(/^lye_[0-9a-z]{20}$/)
    .optional(),
});

export function rewardsPages(deps: RewardsPageDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;
  const pathOf = (place: PortalPlace, id: string) => `/shop/${place.store.handle}/subscriptions/${id}/rewards`;

  async function showRewards(req: Request, res: Response, place: PortalPlace, view: SubscriptionView, status = 200, errors: FieldErrors = {}) {
    const locale = localeOf(req);
    const merchantId = place.store._id;
    const customerId = place.shopper.customerId;
    const [rewards, progress, referral, perks] = await Promise.all([
      getSubscriptionRewards(clock, merchantId, view.id, customerId),
      getLoyaltyProgress(clock, merchantId, customerId),
      referrerStandingOf(clock, merchantId, customerId),
      activePerks(merchantId),
    ]);
    const query = RewardsQuery.safeParse(req.query);
    const receipt = query.success && query.data.redeemed ? await redemptionReceipt(merchantId, customerId, query.data.redeemed, locale) : null;
    const nextTierPerks = progress?.nextTier
      ? perks.filter((perk) => perk.eligibility.tierKeys?.includes(progress.nextTier!.key)).map((perk) => perk.name)
      : [];
    res.status(status).render('shop/rewards', {
      title: `Rewards · ${view.box.planName}`,
      ...subscriptionHeader(place, view, 'rewards'),
      action: pathOf(place, view.id),
      receipt,
      errors,
      loyalty: progress && rewards.loyalty ? loyaltyModel(progress, rewards.loyalty, nextTierPerks, locale, place.store.timezone) : null,
      perks: rewards.perks.map((perk) => ({
        name: perk.name,
        description: perk.description,
        state: perk.inNextBox ? 'next' : perk.eligible ? 'yours' : 'not-yet',
        why: perk.eligible ? (perk.inNextBox ? null : perk.whyNotInNextBox) : perk.condition,
      })),
      nextBox: rewards.nextBox ? { number: rewards.nextBox.number, date: longDate(rewards.nextBox.shipOn, locale) } : null,
      paidBoxes: rewards.paidBoxes,
      granted: grantedModel(rewards.granted, locale),
      referral: referral ? referralModel(referral, `${deps.publicUrl}/shop/${place.store.handle}?ref=${referral.code}`, locale) : null,
      attempt: randomBytes(16).toString('base64url'),
    });
  }

  /** The receipt of a redemption this shopper just made (their own ledger entry, or nothing). */
  async function redemptionReceipt(merchantId: string, customerId: string, entryId: string, locale: string): Promise<string | null> {
    const recent = await listLoyaltyEntries(merchantId, customerId, { limit: 10 });
    const entry = recent.data.find((e) => e.id === entryId && e.kind === 'redeem');
    if (!entry) return null;
    return `${sentence(describeFact('loyalty.points_redeemed', { points: -entry.points, creditMinor: entry.credit.amountMinor, currency: entry.credit.currency }, { locale }))}.`;
  }

  router.get('/shop/:handle/subscriptions/:id/rewards', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    await showRewards(req, res, place, await shopperSubscription(deps.subscriptions, place, req.params.id));
  });

  router.post('/shop/:handle/subscriptions/:id/rewards/redeem', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const view = await shopperSubscription(deps.subscriptions, place, req.params.id);
    const form = readForm(RedeemForm, req.body);
    if (!form.ok) return showRewards(req, res, place, view, 400, form.errors);
    let entryId: string;
    try {
      const entry = await redeemPoints(clock, place.store._id, place.shopper.customerId, form.value.points, `portal:${form.value.attempt}`, {
        actor: actors.shopper(place.shopper.customerId),
        subscriptionId: view.id,
      });
      entryId = entry.id;
    } catch (error) {
      const fields = errorsOf(error);
      if (fields) return showRewards(req, res, place, view, 400, fields);
      if (error instanceof InsufficientBalanceError) return showRewards(req, res, place, view, 409, { points: 'You do not have that many points.' });
      if (error instanceof AppError && error.status < 500) return showRewards(req, res, place, view, error.status, { _form: error.message });
      throw error;
    }
    res.redirect(303, `${pathOf(place, view.id)}?redeemed=${entryId}#points`);
  });

  return router;
}

function loyaltyModel(
  progress: LoyaltyProgress,
  account: NonNullable<SubscriptionRewardsView['loyalty']>,
  nextTierPerks: string[],
  locale: string,
  timezone: string,
) {
  const block = progress.redemption;
  const blocks = Math.floor(account.points / block.points);
  const counts = Array.from({ length: Math.min(blocks, MAX_CHOICES) }, (_, i) => i + 1);
  if (blocks > MAX_CHOICES) counts.push(blocks);
  const multiplier = (percent: number) => `${(percent / 100).toLocaleString(locale, { maximumFractionDigits: 2 })}×`;
  const plural = (n: number, one: string, many: string) => `${n.toLocaleString(locale)} ${n === 1 ? one : many}`;
  const next = progress.nextTier;
  const howFar = !next
    ? null
    : next.remaining === 0
      ? 'You have reached it: it becomes yours at the next daily review.'
      : progress.basis === 'paid_boxes'
        ? `${plural(next.remaining, 'more paid box', 'more paid boxes')} within 12 months to get there.`
        : `${money(next.remaining, progress.currency, locale)} more spent within 12 months to get there.`;
  return {
    points: account.points.toLocaleString(locale),
    credit: account.credit.amountMinor > 0 ? money(account.credit.amountMinor, account.credit.currency, locale) : null,
    rate: `Every ${plural(block.points, 'point', 'points')} give ${money(block.creditMinor, progress.currency, locale)} off your coming boxes.`,
    earning: `You earn ${plural(progress.pointsPerUnit, 'point', 'points')} per ${money(10 ** currencyDigits(progress.currency), progress.currency, locale)} paid${progress.tier ? `, ${multiplier(progress.tier.earnMultiplierPercent)} as a ${progress.tier.name} member` : ''}.`,
    expiring: account.expiringSoon
      ? `${plural(account.expiringSoon.points, 'point expires', 'points expire')} by ${dateIn(account.expiringSoon.by, timezone, locale)}: redeem them before.`
      : null,
    choices: counts.map((count) => ({
      points: count * block.points,
      label: `${(count * block.points).toLocaleString(locale)} points for ${money(count * block.creditMinor, progress.currency, locale)} of credit`,
    })),
    short:
      blocks === 0
        ? `Collect ${plural(block.points - account.points, 'more point', 'more points')} to redeem your first ${money(block.creditMinor, progress.currency, locale)}.`
        : null,
    tier: progress.tier ? progress.tier.name : null,
    standing:
      progress.basis === 'paid_boxes'
        ? `${plural(progress.standing.paidBoxes, 'paid box', 'paid boxes')} in the last 12 months`
        : `${money(progress.standing.spendMinor, progress.currency, locale)} spent in the last 12 months`,
    nextTier: next
      ? {
          name: next.name,
          brings: [`${multiplier(next.earnMultiplierPercent)} points on every box`, ...nextTierPerks],
          howFar,
        }
      : null,
  };
}

/** 2 for USD, 0 for JPY: one whole unit of the currency, in minor units, is 10^digits. */
function currencyDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

function grantedModel(granted: SubscriptionRewardsView['granted'], locale: string) {
  return granted.map((line) => ({
    date: longDate(line.shipOn, locale),
    description: line.description,
    amount: line.amountMinor === 0 ? null : money(line.amountMinor, line.currency, locale),
    reason: line.reason,
  }));
}

function referralModel(standing: ReferrerStanding, link: string, locale: string) {
  const offer =
    standing.welcomeOffer.type === 'percent'
      ? `${standing.welcomeOffer.percentOff}% off their first box`
      : `${money(standing.welcomeOffer.amountOffMinor, standing.welcomeOffer.currency, locale)} off their first box`;
  const reward =
    standing.reward.type === 'points'
      ? `${standing.reward.points.toLocaleString(locale)} points`
      : `${money(standing.reward.creditMinor, standing.reward.currency, locale)} of credit`;
  const { total, waiting, rewarded, declined } = standing.referrals;
  const friends = (n: number) => `${n} ${n === 1 ? 'friend' : 'friends'}`;
  const parts = [
    rewarded > 0 ? `${rewarded} rewarded` : null,
    waiting > 0 ? `${waiting} waiting for their first box to be paid` : null,
    declined > 0 ? `${declined} not accepted by the store` : null,
  ].filter(Boolean);
  const earned = [
    standing.earned.points > 0 ? `${standing.earned.points.toLocaleString(locale)} points` : null,
    standing.earned.creditMinor > 0 ? `${money(standing.earned.creditMinor, standing.earned.currency, locale)} of credit` : null,
  ].filter(Boolean);
  return {
    code: standing.code,
    link,
    terms: `Friends get ${offer}; you get ${reward} once their first box is paid.`,
    status: total === 0 ? 'No friend has subscribed with your code yet.' : `${friends(total)} subscribed with your code: ${parts.join(', ')}.`,
    earned: earned.length > 0 ? `You have earned ${earned.join(' and ')} from referrals.` : null,
  };
}
