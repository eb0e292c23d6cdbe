import { z } from 'zod';
import type { MessageAudience, MessageCategory } from './message-contract';
import type { MessageFormat } from './message-format';

/**
 * Every message Boxcycle sends, with what it needs: who it is for (`audience`), its category (the contract's
 * meaning: transactional mail is always delivered; reminders and marketing go in the recipient's daytime,
 * with a one-click unsubscribe), whether the merchant may turn it off and whether it is on until they say,
 * the merchant's number of days that times it, its subject, the data its template reads (checked before
 * rendering) and sample data for previews. Its words are in views/emails/<name>.html.ejs and .text.ejs.
 */

/** The merchant's numbers of days that time messages (message settings). */
export const DAY_SETTINGS = {
  upcomingBoxDaysBeforeCutoff: { min: 1, max: 14, default: 2, description: 'The upcoming-box reminder goes this many days before the box locks (its cut-off)' },
  winBackDaysAfterCancelling: { min: 1, max: 365, default: 30, description: 'The win-back message goes this many days after a subscription ended' },
  rateRequestDaysAfterDelivery: { min: 1, max: 60, default: 3, description: 'The request to rate a box goes this many days after it was delivered' },
  delayToleranceDays: { min: 1, max: 30, default: 3, description: 'A paid box not shipped this many days after its ship date gets a delay notice' },
} as const;
export type DaySetting = keyof typeof DAY_SETTINGS;

export interface TemplateDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  audience: MessageAudience;
  category: MessageCategory;
  /** What it says and when it is sent, for the merchant's list. */
  summary: string;
  /** The merchant may turn it off; `defaultOn`: whether it is sent until they choose. Absent: always sent. */
  optional?: { defaultOn: boolean };
  /** The merchant's number of days that times it. */
  days?: DaySetting;
  data: S;
  subject(data: z.output<S>, fmt: MessageFormat): string;
  /** The line mail clients show after the subject (default: the subject). */
  preheader?(data: z.output<S>, fmt: MessageFormat): string;
  /** Sentences worked out from the data for both parts (so the HTML and the text say the same). */
  words?(data: z.output<S>, fmt: MessageFormat): Record<string, unknown>;
  /** Data for previews and test sends (checked like any other: a test renders every sample). */
  sample(links: { publicUrl: string }): unknown;
}

function defineTemplate<S extends z.ZodType>(template: TemplateDefinition<S>): TemplateDefinition {
  return template;
}

// ---------------------------------------------------------------------------------------------------------
// What templates read
// ---------------------------------------------------------------------------------------------------------

const Money = z.strictObject({ amountMinor: z.number().int(), currency: z.string().regex(/^[A-Z]{3}$/) });
const Url = z.url({ protocol: /^https?$/ });
const Instant = z.iso.datetime();
const LocalDate = z.iso.date();
const Cadence = z.strictObject({ interval: z.enum(['week', 'month']), intervalCount: z.number().int().min(1) });
const Text = z.string().max(500);
/** A line of a box: what it is, how many, and what it costs (null: not shown). */
const BoxLine = z.strictObject({ description: Text, quantity: z.number().int(), amount: Money.nullable() });
const Address = z.strictObject({
  line1: Text,
  line2: Text.optional(),
  city: Text,
  region: Text.optional(),
  postalCode: Text,
  country: Text,
});
const Reward = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('points'), points: z.number().int() }),
  z.strictObject({ type: z.literal('credit'), credit: Money }),
  z.strictObject({ type: z.literal('free_addon'), addonName: Text, quantity: z.number().int() }),
]);

/** How a reward reads: "300 points", "$15.00 of credit", "Mug (free)". */
export function rewardWords(reward: z.output<typeof Reward>, fmt: MessageFormat): string {
  if (reward.type === 'points') return fmt.count(reward.points, 'point', 'points');
  if (reward.type === 'credit') return `${fmt.money(reward.credit)} of credit`;
  return reward.quantity === 1 ? `${reward.addonName}, free in your next box` : `${reward.quantity} × ${reward.addonName}, free in your next box`;
}

/** A change of a subscription (or the shopper's address) a confirmation tells of. */
export const SubscriptionChange = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('skipped'), cycleKey: LocalDate, chargeAt: Instant }),
  z.strictObject({ kind: z.literal('unskipped'), cycleKey: LocalDate, chargeAt: Instant }),
  z.strictObject({ kind: z.literal('paused'), startsOn: LocalDate, resumeOn: LocalDate.nullable(), involuntary: z.boolean() }),
  z.strictObject({ kind: z.literal('resumed'), automatic: z.boolean(), nextChargeAt: Instant.nullable() }),
  z.strictObject({ kind: z.literal('swapped'), from: Text, to: Text, effectiveCycleKey: LocalDate }),
  z.strictObject({ kind: z.literal('cadence_changed'), from: Cadence.nullable(), to: Cadence, fromCycleKey: LocalDate }),
  z.strictObject({ kind: z.literal('charge_date_changed'), from: LocalDate, to: LocalDate }),
  z.strictObject({ kind: z.literal('addon_added'), addonName: Text, quantity: z.number().int(), recurring: z.boolean(), cycleKey: LocalDate }),
  z.strictObject({ kind: z.literal('addon_removed'), addonName: Text }),
  z.strictObject({ kind: z.literal('reactivated') }),
  z.strictObject({ kind: z.literal('address_changed'), to: Address }),
  z.strictObject({ kind: z.literal('box_address_set'), cycleKey: LocalDate, to: Address.nullable() }),
  z.strictObject({ kind: z.literal('promo_code_applied'), code: Text, description: Text, fromCycleKey: LocalDate }),
]);
export type SubscriptionChange = z.output<typeof SubscriptionChange>;

/** An address on one line. */
function addressWords(address: z.output<typeof Address>): string {
  return [address.line1, address.line2, address.postalCode, address.city, address.region, address.country].filter(Boolean).join(', ');
}

/** What a change confirmation says: its subject and its sentence. */
export function changeWords(change: SubscriptionChange, fmt: MessageFormat): { subject: string; sentence: string } {
  switch (change.kind) {
    case 'skipped':
      return {
        subject: 'Your box is skipped',
        sentence: `You skipped the box of ${fmt.date(change.cycleKey)}: it will not be sent, and you will not be charged for it.`,
      };
    case 'unskipped':
      return {
        subject: 'Your box is back on',
        sentence: `The box of ${fmt.date(change.cycleKey)} is no longer skipped: it will be charged on ${fmt.day(change.chargeAt)} and sent as usual.`,
      };
    case 'paused':
      return {
        subject: 'Your subscription is paused',
        sentence: `${change.involuntary ? 'As your payment could not be taken, your' : 'Your'} subscription is paused from the box of ${fmt.date(change.startsOn)}${
          change.resumeOn ? ` until ${fmt.date(change.resumeOn)}, when boxes start again` : ' until you resume it'
        }. You will not be charged while it is paused.`,
      };
    case 'resumed':
      return {
        subject: 'Your subscription has resumed',
        sentence: `${change.automatic ? 'Your pause is over: your' : 'Your'} subscription is active again.${
          change.nextChargeAt ? ` Your next box is charged on ${fmt.day(change.nextChargeAt)}.` : ''
        }`,
      };
    case 'swapped':
      return {
        subject: 'Your box is changed',
        sentence: `From the box of ${fmt.date(change.effectiveCycleKey)}, you will receive ${change.to} instead of ${change.from}.`,
      };
    case 'cadence_changed':
      return {
        subject: 'Your delivery schedule is changed',
        sentence: `From the box of ${fmt.date(change.fromCycleKey)}, your boxes come ${fmt.cadence(change.to)}${change.from ? ` instead of ${fmt.cadence(change.from)}` : ''}.`,
      };
    case 'charge_date_changed':
      return {
        subject: 'Your charge date is changed',
        sentence: `Your next box moves from ${fmt.date(change.from)} to ${fmt.date(change.to)}, and the boxes after it follow on the same rhythm.`,
      };
    case 'addon_added':
      return {
        subject: 'An extra is added to your box',
        sentence: change.recurring
          ? `${change.quantity} × ${change.addonName} will be in every box from the box of ${fmt.date(change.cycleKey)}.`
          : `${change.quantity} × ${change.addonName} will be in your box of ${fmt.date(change.cycleKey)}.`,
      };
    case 'addon_removed':
      return { subject: 'An extra is removed from your box', sentence: `${change.addonName} is no longer in your coming boxes.` };
    case 'reactivated':
      return { subject: 'Your subscription continues', sentence: 'Your subscription will not end: it continues as before, with no gap.' };
    case 'box_address_set':
      return change.to
        ? {
            subject: 'Your box goes to another address',
            sentence: `Your box of ${fmt.date(change.cycleKey)} will go to: ${addressWords(change.to)}. The boxes after it go to your usual address.`,
          }
        : { subject: 'Your box goes to your usual address', sentence: `Your box of ${fmt.date(change.cycleKey)} will go to your usual address.` };
    case 'promo_code_applied':
      return {
        subject: 'Your promo code is applied',
        sentence: `The promo code ${change.code} (${change.description}) applies from your box of ${fmt.date(change.fromCycleKey)}.`,
      };
    case 'address_changed':
      return {
        subject: 'Your shipping address is changed',
        sentence: `Boxes not paid yet will go to: ${addressWords(change.to)}.`,
      };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Samples
// ---------------------------------------------------------------------------------------------------------

const sampleLink = (publicUrl: string, what: string) => `${publicUrl}/a/sample-${what}`;
const sampleManage = (publicUrl: string) => `${publicUrl}/shop/sample-store/subscriptions/sub_sample`;
const USD = (amountMinor: number) => ({ amountMinor, currency: 'USD' });
const SAMPLE_LINES = [
  { description: 'Coffee box: Whole bean', quantity: 1, amount: USD(2600) },
  { description: 'Ceramic mug', quantity: 1, amount: USD(1200) },
];

// ---------------------------------------------------------------------------------------------------------
// The templates
// ---------------------------------------------------------------------------------------------------------

export const TEMPLATES: readonly TemplateDefinition[] = [
  defineTemplate({
    name: 'subscription.confirmation',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a subscription starts: the terms (price, how often, the next charge) and how to cancel.',
    data: z.strictObject({
      planName: Text,
      variantName: Text,
      price: Money,
      cadence: Cadence,
      nextChargeAt: Instant.nullable(),
      trialEndsAt: Instant.nullable(),
      firstBoxOffer: Text.nullable(),
      cutoffDays: z.number().int().min(0),
      manageUrl: Url,
    }),
    subject: (d) => `Your ${d.planName} subscription is confirmed`,
    sample: ({ publicUrl }) => ({
      planName: 'Coffee box',
      variantName: 'Whole bean',
      price: USD(2600),
      cadence: { interval: 'month', intervalCount: 1 },
      nextChargeAt: '2026-05-01T13:00:00.000Z',
      trialEndsAt: null,
      firstBoxOffer: '20% off your first box',
      cutoffDays: 3,
      manageUrl: sampleManage(publicUrl),
    }),
  }),
  defineTemplate({
    name: 'subscription.upcoming_box',
    audience: 'shopper',
    category: 'reminder',
    summary: 'Before a box locks: what is in it, what it costs and when it is charged, with links to skip it, change it or add an extra.',
    optional: { defaultOn: true },
    days: 'upcomingBoxDaysBeforeCutoff',
    data: z.strictObject({
      cycleKey: LocalDate,
      chargeAt: Instant,
      cutoffAt: Instant,
      lines: z.array(BoxLine),
      total: Money,
      skipUrl: Url,
      swapUrl: Url,
      addExtraUrl: Url,
    }),
    subject: (d, f) => `Your next box: charged on ${f.day(d.chargeAt)}`,
    sample: ({ publicUrl }) => ({
      cycleKey: '2026-05-01',
      chargeAt: '2026-05-01T13:00:00.000Z',
      cutoffAt: '2026-04-28T13:00:00.000Z',
      lines: SAMPLE_LINES,
      total: USD(3800),
      skipUrl: sampleLink(publicUrl, 'skip'),
      swapUrl: sampleLink(publicUrl, 'swap'),
      addExtraUrl: sampleLink(publicUrl, 'add-extra'),
    }),
  }),
  defineTemplate({
    name: 'box.receipt',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a box is paid: what was charged, line by line.',
    optional: { defaultOn: true },
    data: z.strictObject({ shipOn: LocalDate, paidAt: Instant, lines: z.array(BoxLine), amountPaid: Money, address: Address }),
    subject: (d, f) => `Your receipt: ${f.money(d.amountPaid)} for your box of ${f.date(d.shipOn)}`,
    sample: () => ({
      shipOn: '2026-05-01',
      paidAt: '2026-05-01T13:00:05.000Z',
      lines: [...SAMPLE_LINES, { description: 'Shipping', quantity: 1, amount: USD(500) }],
      amountPaid: USD(4300),
      address: { line1: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' },
    }),
  }),
  defineTemplate({
    name: 'box.shipped',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a box ships: the carrier and the tracking link.',
    optional: { defaultOn: true },
    data: z.strictObject({ shipOn: LocalDate, carrier: Text, trackingNumber: Text, trackingUrl: Url.nullable() }),
    subject: () => 'Your box is on its way',
    sample: () => ({
      shipOn: '2026-05-01',
      carrier: 'UPS',
      trackingNumber: '1Z999AA10123456784',
      trackingUrl: 'https://www.ups.com/track?tracknum=1Z999AA10123456784',
    }),
  }),
  defineTemplate({
    name: 'box.delayed',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a paid box has not shipped some days after its ship date: an apology, and when it should leave.',
    optional: { defaultOn: true },
    days: 'delayToleranceDays',
    data: z.strictObject({ shipOn: LocalDate, expectedBy: LocalDate }),
    subject: () => 'Your box is running late: we are sorry',
    sample: () => ({ shipOn: '2026-05-01', expectedBy: '2026-05-07' }),
  }),
  defineTemplate({
    name: 'box.delivered',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a box is delivered.',
    optional: { defaultOn: true },
    data: z.strictObject({ shipOn: LocalDate }),
    subject: () => 'Your box has arrived',
    sample: () => ({ shipOn: '2026-05-01' }),
  }),
  defineTemplate({
    name: 'box.rate_request',
    audience: 'shopper',
    category: 'reminder',
    summary: 'Some days after a box was delivered: a request to rate it.',
    optional: { defaultOn: false },
    days: 'rateRequestDaysAfterDelivery',
    data: z.strictObject({ shipOn: LocalDate, rateUrl: Url }),
    subject: () => 'How was your box?',
    sample: ({ publicUrl }) => ({ shipOn: '2026-05-01', rateUrl: sampleLink(publicUrl, 'rate') }),
  }),
  defineTemplate({
    name: 'payment.failed',
    audience: 'shopper',
    category: 'transactional',
    summary: 'On the first failed payment of a box: a link to pay or update the card.',
    data: z.strictObject({ updateUrl: Url, cycleKey: LocalDate.nullable() }),
    subject: () => 'We could not take your payment',
    sample: () => ({ updateUrl: 'https://invoice.stripe.com/i/acct_sample/in_sample', cycleKey: '2026-05-01' }),
  }),
  defineTemplate({
    name: 'payment.recovered',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a failed payment has gone through after all.',
    optional: { defaultOn: true },
    data: z.strictObject({ amountPaid: Money.nullable() }),
    subject: () => 'Thank you: your payment went through',
    sample: () => ({ amountPaid: USD(2600) }),
  }),
  defineTemplate({
    name: 'payment.card_expiring',
    audience: 'shopper',
    category: 'transactional',
    summary: 'In the month a card expires: a link to give a new one.',
    optional: { defaultOn: true },
    data: z.strictObject({
      brand: Text,
      last4: z.string().regex(/^\d{4}$/),
      expMonth: z.number().int().min(1).max(12),
      expYear: z.number().int(),
      updateUrl: Url,
    }),
    subject: (d) => `Your card ending in ${d.last4} expires soon`,
    sample: ({ publicUrl }) => ({ brand: 'visa', last4: '4242', expMonth: 5, expYear: 2026, updateUrl: sampleLink(publicUrl, 'update-card') }),
  }),
  defineTemplate({
    name: 'subscription.changed',
    audience: 'shopper',
    category: 'transactional',
    summary:
      'After every change (skip, pause, resume, swap, schedule, charge date, extras, address): what changed, with a link to undo it while that is possible.',
    data: z.strictObject({ change: SubscriptionChange, undoUrl: Url.nullable(), undoUntil: Instant.nullable(), manageUrl: Url.nullable() }),
    subject: (d, f) => changeWords(d.change, f).subject,
    words: (d, f) => ({ sentence: changeWords(d.change, f).sentence }),
    sample: ({ publicUrl }) => ({
      change: { kind: 'skipped', cycleKey: '2026-05-01', chargeAt: '2026-05-01T13:00:00.000Z' },
      undoUrl: sampleLink(publicUrl, 'unskip'),
      undoUntil: '2026-04-28T13:00:00.000Z',
      manageUrl: sampleManage(publicUrl),
    }),
  }),
  defineTemplate({
    name: 'subscription.cancelled',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a subscription is cancelled (or set to end): when it ends, with a link to reactivate it.',
    data: z.strictObject({
      planName: Text,
      scheduled: z.boolean(),
      effectiveAt: Instant,
      involuntary: z.boolean(),
      reactivateUrl: Url.nullable(),
      reactivateUntil: Instant.nullable(),
    }),
    subject: (d, f) => (d.scheduled ? `Your subscription ends on ${f.day(d.effectiveAt)}` : 'Your subscription has ended'),
    sample: ({ publicUrl }) => ({
      planName: 'Coffee box',
      scheduled: true,
      effectiveAt: '2026-05-01T13:00:00.000Z',
      involuntary: false,
      reactivateUrl: sampleLink(publicUrl, 'reactivate'),
      reactivateUntil: '2026-05-01T13:00:00.000Z',
    }),
  }),
  defineTemplate({
    name: 'box.stock_adjusted',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a box is built with a substitute, or without something out of stock, before it is charged: with links to choose another variant or skip.',
    data: z.strictObject({
      shipOn: LocalDate,
      chargeAt: Instant.nullable(),
      substituted: z.array(z.strictObject({ chosen: Text, sent: Text, secondChoice: z.boolean() })),
      omitted: z.array(z.strictObject({ description: Text, quantity: z.number().int() })),
      chooseVariantUrl: Url.nullable(),
      skipUrl: Url.nullable(),
    }),
    subject: () => 'A change to your next box',
    sample: ({ publicUrl }) => ({
      shipOn: '2026-05-01',
      chargeAt: '2026-05-01T13:00:00.000Z',
      substituted: [{ chosen: 'Coffee box: Whole bean', sent: 'Coffee box: Filter', secondChoice: true }],
      omitted: [{ description: 'Ceramic mug', quantity: 1 }],
      chooseVariantUrl: sampleLink(publicUrl, 'choose-variant'),
      skipUrl: sampleLink(publicUrl, 'skip'),
    }),
  }),
  defineTemplate({
    name: 'box.skipped_out_of_stock',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When nothing in a box can be sent for want of stock: the box is skipped, not charged; with a link to choose another variant.',
    data: z.strictObject({ shipOn: LocalDate, description: Text, chooseVariantUrl: Url.nullable() }),
    subject: () => 'Your next box is skipped: no charge',
    sample: ({ publicUrl }) => ({ shipOn: '2026-05-01', description: 'Coffee box: Whole bean', chooseVariantUrl: sampleLink(publicUrl, 'swap') }),
  }),
  defineTemplate({
    name: 'box.back_ordered',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a paid box waits for stock.',
    data: z.strictObject({ shipOn: LocalDate, short: z.array(z.strictObject({ description: Text, quantity: z.number().int() })) }),
    subject: () => 'Part of your box is on back-order',
    sample: () => ({ shipOn: '2026-05-01', short: [{ description: 'Ceramic mug', quantity: 1 }] }),
  }),
  defineTemplate({
    name: 'subscription.win_back',
    audience: 'shopper',
    category: 'marketing',
    summary: 'Some days after a subscription ended, when the merchant has a comeback offer: the offer, with a link to come back.',
    optional: { defaultOn: true },
    days: 'winBackDaysAfterCancelling',
    data: z.strictObject({
      planName: Text,
      offerName: Text,
      percentOff: z.number().int().min(1).max(100).nullable(),
      amountOff: Money.nullable(),
      offerEndsAt: Instant,
      comeBackUrl: Url,
    }),
    subject: (d, f) => `We miss you: ${d.percentOff !== null ? `${d.percentOff}%` : d.amountOff ? f.money(d.amountOff) : 'a treat'} off your first box back`,
    sample: ({ publicUrl }) => ({
      planName: 'Coffee box',
      offerName: 'Welcome back',
      percentOff: 20,
      amountOff: null,
      offerEndsAt: '2026-06-01T13:00:00.000Z',
      comeBackUrl: sampleLink(publicUrl, 'reactivate'),
    }),
  }),
  defineTemplate({
    name: 'loyalty.tier_changed',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When the shopper moves up or down a membership tier, and why.',
    optional: { defaultOn: true },
    data: z.strictObject({ direction: z.enum(['promoted', 'demoted']), tier: Text.nullable(), reason: Text }),
    subject: (d) => (d.direction === 'promoted' ? `Welcome to ${d.tier ?? 'your new tier'}` : 'Your membership tier changed'),
    sample: () => ({ direction: 'promoted', tier: 'Gold', reason: 'Reached Gold: 6 paid boxes in the last 12 months' }),
  }),
  defineTemplate({
    name: 'loyalty.points_expiring',
    audience: 'shopper',
    category: 'transactional',
    summary: 'Before points expire: how many, and when.',
    optional: { defaultOn: true },
    data: z.strictObject({ points: z.number().int().min(1), expiresAt: Instant }),
    subject: (d, f) => `${f.count(d.points, 'point', 'points')} expire on ${f.day(d.expiresAt)}`,
    sample: () => ({ points: 300, expiresAt: '2026-06-01T00:00:00.000Z' }),
  }),
  defineTemplate({
    name: 'perk.unlocked',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a paid box makes the subscription eligible for perks it did not have.',
    optional: { defaultOn: true },
    data: z.strictObject({ perks: z.array(z.strictObject({ name: Text, description: Text.nullable() })).min(1) }),
    subject: (d) => (d.perks.length === 1 ? `You unlocked a perk: ${d.perks[0]!.name}` : `You unlocked ${d.perks.length} perks`),
    sample: () => ({ perks: [{ name: 'Free shipping', description: 'Every box ships free from your 6th box on' }] }),
  }),
  defineTemplate({
    name: 'referral.rewarded',
    audience: 'shopper',
    category: 'transactional',
    summary: "When a friend the shopper referred received their first box: the referrer's reward.",
    optional: { defaultOn: true },
    data: z.strictObject({ reward: Reward }),
    subject: () => 'Your friend joined: your reward is here',
    words: (d, f) => ({ rewardText: rewardWords(d.reward, f) }),
    sample: () => ({ reward: { type: 'credit', credit: USD(1500) } }),
  }),
  defineTemplate({
    name: 'reward.granted',
    audience: 'shopper',
    category: 'transactional',
    summary: 'A birthday or subscription-anniversary reward, when it is granted.',
    optional: { defaultOn: true },
    data: z.strictObject({ occasion: z.enum(['birthday', 'anniversary']), years: z.number().int().min(1).nullable(), offerName: Text, reward: Reward }),
    subject: (d) =>
      d.occasion === 'birthday' ? 'Happy birthday: a gift for you' : `Happy anniversary: ${d.years ?? 1} year${(d.years ?? 1) > 1 ? 's' : ''} together`,
    words: (d, f) => ({ rewardText: rewardWords(d.reward, f) }),
    sample: () => ({ occasion: 'birthday', years: null, offerName: 'Birthday treat', reward: { type: 'points', points: 500 } }),
  }),
  defineTemplate({
    name: 'make_good.apology',
    audience: 'shopper',
    category: 'transactional',
    summary:
      'When the store owns a mistake with a box: its apology in its own words, and the make-good it gives (points, credit on the next box, or a free extra).',
    data: z.strictObject({ subject: z.string().min(1).max(150), body: z.string().min(1).max(2000), gift: Reward }),
    subject: (d) => d.subject,
    words: (d, f) => ({
      giftText: rewardWords(d.gift, f),
      paragraphs: d.body
        .split(/\r?\n\s*\r?\n/)
        .map((p) => p.trim())
        .filter(Boolean),
    }),
    sample: () => ({
      subject: 'Sorry about your last box',
      body: 'Some of last week’s boxes left us with the wrong beans. That is on us, and we are sorry.\n\nTo make it up to you, here is something from us.',
      gift: { type: 'credit', credit: USD(500) },
    }),
  }),
  defineTemplate({
    name: 'gift.thank_you',
    audience: 'shopper',
    category: 'transactional',
    summary: 'After a box with a surprise gift was delivered: a thank-you.',
    optional: { defaultOn: true },
    data: z.strictObject({ shipOn: LocalDate, description: Text, campaignName: Text }),
    subject: () => 'A little something, to say thank you',
    sample: () => ({ shipOn: '2026-05-01', description: 'Tasting spoon', campaignName: 'Spring thank-you' }),
  }),
  defineTemplate({
    name: 'subscription.yearly_terms',
    audience: 'shopper',
    category: 'reminder',
    summary: 'Once a year, on the day the subscription started: its terms and how to cancel (automatic-renewal laws ask for it).',
    data: z.strictObject({
      planName: Text,
      variantName: Text,
      price: Money,
      cadence: Cadence,
      startedAt: Instant,
      years: z.number().int().min(1),
      nextChargeAt: Instant.nullable(),
      manageUrl: Url,
    }),
    subject: (d) => `Your ${d.planName} subscription: a yearly reminder of its terms`,
    sample: ({ publicUrl }) => ({
      planName: 'Coffee box',
      variantName: 'Whole bean',
      price: USD(2600),
      cadence: { interval: 'month', intervalCount: 1 },
      startedAt: '2025-05-01T13:00:00.000Z',
      years: 1,
      nextChargeAt: '2026-05-01T13:00:00.000Z',
      manageUrl: sampleManage(publicUrl),
    }),
  }),
  defineTemplate({
    name: 'shopper.sign_in',
    audience: 'shopper',
    category: 'transactional',
    summary: 'When a shopper asks to sign in to their account: a link that works once for 15 minutes, and a 6-digit code.',
    data: z.strictObject({ link: Url, code: z.string().regex(/^\d{6}$/), expiresAt: Instant }),
    subject: (data) => `Your sign-in code is ${data.code}`,
    preheader: () => 'Sign in with the button, or type the code on the device that asked.',
    sample: ({ publicUrl }) => ({ link: `${publicUrl}/shop/sample/sign-in/sample-token`, code: '482913', expiresAt: '2026-05-01T13:15:00.000Z' }),
  }),
  defineTemplate({
    name: 'merchant.sign_up_confirmation',
    audience: 'merchant',
    category: 'transactional',
    summary: 'To an address that asked to open a store: the confirmation token.',
    data: z.strictObject({ token: z.string().min(1).max(200), expiresAt: Instant, apiUrl: Url, confirmUrl: Url }),
    subject: () => 'Confirm your e-mail address to open your Boxcycle store',
    sample: ({ publicUrl }) => ({
      token: 'bxc_sampleTokenForPreviewsOnly0000000',
      expiresAt: '2026-05-02T13:00:00.000Z',
      apiUrl: `${publicUrl}/api/v1`,
      confirmUrl: `${publicUrl}/merchant/confirm?token=bxc_sampleTokenForPreviewsOnly0000000`,
    }),
  }),
  defineTemplate({
    name: 'merchant.sign_up_attempted',
    audience: 'merchant',
    category: 'transactional',
    summary: 'To an address that already has a store, when someone tries to sign up with it.',
    data: z.strictObject({ apiUrl: Url, signInUrl: Url }),
    subject: () => 'Someone tried to sign up with your e-mail address',
    sample: ({ publicUrl }) => ({ apiUrl: `${publicUrl}/api/v1`, signInUrl: `${publicUrl}/merchant/sign-in` }),
  }),
];

export const TEMPLATE_NAMES = TEMPLATES.map((template) => template.name);

/** The messages a merchant may turn off. */
export const OPTIONAL_TEMPLATES = TEMPLATES.filter((template) => template.optional);

export function findTemplate(name: string): TemplateDefinition | undefined {
  return TEMPLATES.find((template) => template.name === name);
}

export function templateNamed(name: string): TemplateDefinition {
  const template = findTemplate(name);
  if (!template) throw new Error(`no message template named ${name}`);
  return template;
}
