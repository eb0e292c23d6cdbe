import { formatMoney, isCurrency } from '../../shared/money';

/**
 * What a fact about a shopper's subscription, boxes, points, referral or surprise gift says, in the shopper's
 * words: a lower-case fragment that reads after "Done: " on a receipt and, capitalised, as a line of the
 * activity page ("the box of May 18, 2026 was skipped"). Dates are written for people, in the shopper's
 * locale; an instant in the store's time zone. Internal names (ids, Stripe's) never show. A fact written
 * before a field existed reads without it rather than with a blank.
 */
export interface FactWording {
  /** BCP 47; default en-US. */
  locale?: string;
  /** The store's IANA zone, for instants; default UTC. */
  timezone?: string;
}

/** Facts about a surprise not yet on its way: the activity page leaves them out (a surprise stays one). */
export const SECRET_FACTS: readonly string[] = ['gift.granted', 'gift.returned'];

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function describeFact(type: string, data: Record<string, unknown>, how: FactWording = {}): string {
  const locale = how.locale ?? 'en-US';
  const timezone = how.timezone ?? 'UTC';
  const text = (key: string): string | undefined => (typeof data[key] === 'string' && data[key] !== '' ? data[key] : undefined);
  const num = (key: string): number | undefined => (typeof data[key] === 'number' && Number.isFinite(data[key]) ? data[key] : undefined);
  /** A calendar date (`YYYY-MM-DD`) or an instant, as "May 18, 2026". */
  const date = (value: unknown): string | undefined => readableDate(value, locale, timezone);
  const on = (key: string) => date(data[key]);
  const box = (key = 'cycleKey') => (on(key) ? `the box of ${on(key)}` : 'a box');
  const yourBox = (key = 'cycleKey') => (on(key) ? `your box of ${on(key)}` : 'your box');
  const amount = (minorKey: string, currencyKey = 'currency') => {
    const minor = num(minorKey);
    const currency = text(currencyKey)?.toUpperCase();
    return minor !== undefined && Number.isSafeInteger(minor) && currency && isCurrency(currency) ? formatMoney(minor, currency, locale) : undefined;
  };
  const points = (n: number | undefined) => (n === undefined ? 'points' : `${n.toLocaleString(locale)} ${Math.abs(n) === 1 ? 'point' : 'points'}`);

  switch (type) {
    // A subscription
    case 'subscription.created':
      return 'the subscription was made';
    case 'subscription.activated':
      return text('to') === 'trialing' ? 'the free trial started' : text('via') === 'checkout' ? 'the subscription started' : 'the subscription became active';
    case 'subscription.skipped':
      return `${box()} was skipped`;
    case 'subscription.unskipped':
      return `${box()} was brought back`;
    case 'subscription.paused':
      if (data.involuntary === true) return `the subscription was paused from ${on('startsOn') ?? 'the next box'}, as a payment could not be taken`;
      return `the subscription was paused from ${on('startsOn') ?? 'the next box'}${on('resumeOn') ? `; it resumes with the box of ${on('resumeOn')}` : ''}`;
    case 'subscription.resumed':
      return data.automatic === true ? 'the pause ended and boxes come again' : 'the subscription was resumed';
    case 'subscription.swapped':
      return `what comes in the boxes was changed${on('effectiveCycleKey') ? `, from the box of ${on('effectiveCycleKey')}` : ''}`;
    case 'subscription.swap_applied':
      return `the new choice of box started${on('effectiveCycleKey') ? ` with the box of ${on('effectiveCycleKey')}` : ''}`;
    case 'subscription.cadence_changed':
      return `how often boxes come was changed from ${cadenceWords(text('from'), 'its old rhythm')} to ${cadenceWords(text('to'), 'a new rhythm')}`;
    case 'subscription.charge_date_changed':
      return `the charge date was moved from ${on('from') ?? 'its date'} to ${on('to') ?? 'another date'}`;
    case 'subscription.addon_added':
      return text('kind') === 'recurring'
        ? `an extra was added to every box${on('cycleKey') ? ` from ${on('cycleKey')}` : ''}`
        : `an extra was added to ${box()}`;
    case 'subscription.addon_removed':
      return 'an extra was removed';
    case 'subscription.second_choice_set':
      return data.variantId === null ? 'the second choice was removed' : 'a second choice was set, for when the first is out of stock';
    case 'subscription.save_offer_accepted':
      return num('percentOff') !== undefined ? `${num('percentOff')}% off ${box()} was taken, to stay` : 'an offer to stay was taken';
    case 'subscription.save_offer_shown':
      return 'an offer to stay was shown, on the way to cancelling';
    case 'subscription.promo_code_applied': {
      const off = num('percentOff') !== undefined ? `${num('percentOff')}% off` : amount('amountOffMinor') ? `${amount('amountOffMinor')} off` : 'a discount';
      const code = text('code') ? `the promo code ${text('code')}` : 'a promo code';
      return `${code} was applied: ${off}${on('fromCycleKey') ? ` from the box of ${on('fromCycleKey')}` : ''}`;
    }
    case 'subscription.box_address_set': {
      const to: Record<string, unknown> = typeof data.address === 'object' && data.address !== null ? { ...data.address } : {};
      return typeof to.line1 === 'string' && typeof to.city === 'string'
        ? `${box()} was sent to ${to.line1}, ${to.city}`
        : `${box()} was sent to the account's address again`;
    }
    case 'subscription.price_migrated':
      return `the boxes moved to the store's current price${on('effectiveCycleKey') ? `, from the box of ${on('effectiveCycleKey')}` : ''}`;
    case 'subscription.cancellation_scheduled':
      return `the subscription was set to end${on('effectiveAt') ? ` on ${on('effectiveAt')}` : ''}`;
    case 'subscription.cancelled':
      if (text('reason') === 'payment_failed') return 'the subscription ended, as its payment could not be taken';
      return 'the subscription was cancelled';
    case 'subscription.reactivated':
      return 'the cancellation was taken back: the subscription goes on';
    case 'subscription.payment_failed':
      return num('attempt') !== undefined && num('attempt')! > 1 ? `a payment did not go through (try ${num('attempt')})` : 'a payment did not go through';
    case 'subscription.recovered':
      return 'the payment that had failed was made: all is in order';
    case 'subscription.dunning_ended':
      return text('outcome') === 'pause'
        ? 'the payment could not be taken after several tries, so the subscription was paused'
        : 'the payment could not be taken after several tries, so the subscription ended';
    case 'subscription.box_skipped':
      return text('reason') === 'declined_adjusted_box' ? `${box()} was skipped, as you declined it` : `${box()} was skipped: nothing could be sent for it`;
    case 'subscription.status_synced':
      return `the subscription is now ${STATUS_WORDS[text('to') ?? ''] ?? 'updated'}`;

    // A box
    case 'box.reserved':
      return `${yourBox()} was put together${amount('amountDueMinor') ? ` (${amount('amountDueMinor')})` : ''}`;
    case 'box.adjusted':
      return data.chosenByShopper === true ? `${yourBox()} will have what you chose instead` : `${yourBox()} was changed: something was out of stock`;
    case 'box.back_ordered':
      return `${yourBox()} waits for stock before it ships`;
    case 'box.paid':
      return `${yourBox()} was paid${amount('amountPaidMinor') ? ` (${amount('amountPaidMinor')})` : ''}`;
    case 'box.held':
      return `${yourBox()} waits for its payment`;
    case 'box.packed':
      return `${yourBox()} was packed`;
    case 'box.shipped':
      return `${yourBox()} was shipped${text('carrier') ? ` with ${text('carrier')}` : ''}`;
    case 'box.delivered':
      return `${yourBox()} was delivered`;
    case 'box.rated':
      return `${yourBox()} was rated ${num('score') ?? '?'}/5`;
    case 'box.cancelled':
      return text('reason') === 'out_of_stock' ? `${yourBox()} was cancelled: it was out of stock` : `${yourBox()} was cancelled`;
    case 'box.refunded':
      return `${yourBox()} was refunded${amount('amountRefundedMinor') ? ` (${amount('amountRefundedMinor')})` : ''}`;
    case 'box.payment_refunded':
      return `${amount('increaseMinor') ?? 'part of a payment'} of ${yourBox()} was refunded`;
    case 'box.charged_after_cancel':
      return `${yourBox()} was charged after it was cancelled; the store will refund it`;

    // Points
    case 'loyalty.tier_changed':
      if (text('direction') === 'promoted') return `you reached ${text('tier') ?? 'a new tier'}`;
      return text('tier') ? `your tier is now ${text('tier')}` : 'your tier has lapsed for now';
    case 'loyalty.points_expiring':
      return `${points(num('points'))} expire on ${on('expiresAt') ?? on('expiresOn') ?? 'a coming date'}`;
    case 'loyalty.points_adjusted': {
      const n = num('points');
      const why = text('reason') ? ` (${text('reason')})` : '';
      return n !== undefined && n < 0 ? `${points(-n)} were taken off${why}` : `${points(n)} were added${why}`;
    }
    case 'loyalty.points_redeemed':
      return `${points(num('points'))} were turned into ${amount('creditMinor') ?? 'credit'} of credit for the coming boxes`;

    // A referral (of this shopper, by a friend)
    case 'referral.attributed':
      return "you subscribed with a friend's referral code";
    case 'referral.held':
      return 'the store is checking the referral';
    case 'referral.approved':
      return 'the store approved the referral';
    case 'referral.rejected':
      return 'the store did not accept the referral; your welcome offer stays yours';
    case 'referral.rewarded':
      return 'your friend got their reward for referring you';

    // A surprise gift
    case 'gift.granted':
      return `a surprise was set aside for ${box()}`;
    case 'gift.delivered':
      return `your surprise gift${text('description') ? `, ${text('description')},` : ''} came with ${box()}`;
    case 'gift.returned':
      return `the surprise for ${box()} could not be sent`;
    // A shopper
    case 'customer.address_changed':
      return 'the shipping address was changed';
    // A merchant's make-good for a mistake: the apology's subject and what was given
    case 'make_good.given': {
      const gift = (data.gift ?? {}) as Record<string, unknown>;
      const what =
        gift.type === 'points' && typeof gift.points === 'number'
          ? points(gift.points)
          : gift.type === 'credit' && typeof gift.creditMinor === 'number' && typeof gift.currency === 'string' && isCurrency(gift.currency.toUpperCase())
            ? `${formatMoney(gift.creditMinor, gift.currency.toUpperCase(), locale)} of credit on the next box`
            : gift.type === 'free_addon'
              ? `${typeof gift.addonName === 'string' ? gift.addonName : 'an extra'}, free in the next box`
              : 'a make-good';
      return text('subject') ? `the store apologised ("${text('subject')}") and gave ${what}` : `the store apologised and gave ${what}`;
    }
    // A birthday or anniversary reward
    case 'reward.granted': {
      const reward = (data.reward ?? {}) as Record<string, unknown>;
      const occasion = data.occasion === 'birthday' ? 'a birthday reward' : data.occasion === 'anniversary' ? 'an anniversary reward' : 'a reward';
      const what =
        reward.type === 'points' && typeof reward.points === 'number'
          ? points(reward.points)
          : reward.type === 'credit' &&
              typeof reward.creditMinor === 'number' &&
              typeof reward.currency === 'string' &&
              isCurrency(reward.currency.toUpperCase())
            ? `${formatMoney(reward.creditMinor, reward.currency.toUpperCase(), locale)} of credit`
            : reward.type === 'free_addon'
              ? 'a free extra in your next box'
              : undefined;
      return what ? `${occasion} was given: ${what}` : `${occasion} was given`;
    }
    default:
      return 'a change';
  }
}

/** Who made a fact true, for a shopper looking at their own subscription. */
export function whoDid(actor: { kind: string; id?: string | null }, customerId: string): string {
  switch (actor.kind) {
    case 'shopper':
      return actor.id === customerId || !actor.id ? 'You' : 'Another shopper';
    case 'merchant':
      return 'The store';
    case 'stripe':
      return 'Stripe (payments)';
    default:
      return 'The system';
  }
}

const STATUS_WORDS: Record<string, string> = {
  incomplete: 'waiting for its first payment',
  trialing: 'in its free trial',
  active: 'active',
  paused: 'paused',
  past_due: 'waiting for a payment',
  cancelled: 'cancelled',
};

/** `month-1` → "every month", `week-2` → "every 2 weeks". */
function cadenceWords(key: string | undefined, otherwise: string): string {
  const match = key ? /^(week|month|year|day)-(\d{1,2})$/.exec(key) : null;
  if (!match) return otherwise;
  const count = Number(match[2]);
  return count === 1 ? `every ${match[1]}` : `every ${count} ${match[1]}s`;
}

/** "May 18, 2026": a calendar date as it is, an instant in `timezone`; undefined for anything else. */
export function readableDate(value: unknown, locale: string, timezone: string): string | undefined {
  if (typeof value !== 'string' && !(value instanceof Date)) return undefined;
  const local = typeof value === 'string' ? LOCAL_DATE.exec(value) : null;
  const format = (instant: number, zone: string) => {
    try {
      return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', timeZone: zone }).format(instant);
    } catch {
      return new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }).format(instant);
    }
  };
  if (local) return format(Date.UTC(Number(local[1]), Number(local[2]) - 1, Number(local[3])), 'UTC');
  const instant = new Date(value).getTime();
  return Number.isNaN(instant) ? undefined : format(instant, timezone);
}
