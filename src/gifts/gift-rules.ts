/**
 * The pure rules of surprise gifts: who is drawn by a seeded share, who is in the top spenders, when a
 * campaign applies, how far back the gap reaches. No database, no clock: unit-tested on their own.
 */
import { createHash } from 'node:crypto';
import { cycleAt, type BillingSchedule, type Cycle } from '../shared/calendar';
import { derivedId } from '../shared/ids';

/** The one award id a box can have: (subscription, cycle), whichever campaign gives it. */
export function giftAwardId(subscriptionId: string, cycleKey: string): string {
  return derivedId('gaw', `${subscriptionId}:${cycleKey}`);
}

/**
 * A number in [0, 100) drawn from (seed, subscription, cycle): the same inputs always draw the same number,
 * so a dry run predicts the job exactly, and a box's draw does not depend on who else is eligible.
 */
export function shareDraw(seed: string, subscriptionId: string, cycleKey: string): number {
  const digest = createHash('sha256').update(`${seed}\u0000${subscriptionId}\u0000${cycleKey}`).digest();
  // 48 bits: exact in a double, and fine-grained enough for whole percents.
  return (digest.readUIntBE(0, 6) / 2 ** 48) * 100;
}

/** Whether a box is drawn into a `percent`% share (1..100). */
export function isDrawn(seed: string, percent: number, subscriptionId: string, cycleKey: string): boolean {
  return shareDraw(seed, subscriptionId, cycleKey) < percent;
}

/**
 * The shoppers in the top `percent`% by spend: among those with spend (> 0), ranked highest first (the
 * ranking's order), the first ceil(n × percent / 100).
 */
export function topSpenders(ranking: Array<{ customerId: string; spendMinor: number }>, percent: number): Set<string> {
  const spenders = ranking.filter((row) => row.spendMinor > 0);
  const take = Math.ceil((spenders.length * percent) / 100);
  return new Set(spenders.slice(0, take).map((row) => row.customerId));
}

/** Whether the campaign applies to a box charged on `chargeOn` (local dates compare as text). */
export function appliesOn(campaign: { startsOn: string; endsOn?: string | undefined }, chargeOn: string): boolean {
  return campaign.startsOn <= chargeOn && (campaign.endsOn === undefined || chargeOn <= campaign.endsOn);
}

/**
 * The key of the earliest cycle the gap looks back to: a gift on any cycle from this key up to (not
 * including) `cycle` makes `cycle` ineligible. Counted on the subscription's own schedule.
 */
export function gapStartKey(schedule: BillingSchedule, cycle: Cycle, minGapCycles: number): string {
  if (minGapCycles <= 0) return cycle.cycleKey;
  return cycleAt(schedule, Math.max(0, cycle.index - minGapCycles)).cycleKey;
}

/** Whether an earlier gift (its cycle key) falls inside the gap before `cycle`. */
export function isWithinGap(giftCycleKey: string, gapStart: string, cycle: Cycle): boolean {
  return giftCycleKey >= gapStart && giftCycleKey < cycle.cycleKey;
}

/**
 * The add-on given: the first of the campaign's add-ons (in the merchant's order) that is active and not
 * known to be out of stock; else the first active one (the box build then leaves it out and the grant is
 * given back); none when no add-on is active.
 */
export function chooseGiftAddon<A extends { _id: string; status: string; stock: { tracked: boolean; onHand: number } }>(
  giftAddonIds: string[],
  addons: A[],
): A | undefined {
  const byId = new Map(addons.map((addon) => [addon._id, addon]));
  const active = giftAddonIds.map((id) => byId.get(id)).filter((addon): addon is A => addon?.status === 'active');
  return active.find((addon) => !addon.stock.tracked || addon.stock.onHand > 0) ?? active[0];
}
