import type { Eligibility } from './perk.model';

/** What eligibility is judged on: the subscription's plan, its tenure, the shopper's tier, the box's charge date. */
export interface Standing {
  planId: string;
  paidBoxes: number;
  tierKey: string | undefined;
  chargeOn: string;
}

/** Whether a standing meets every condition set; the first unmet one, in words, when it does not. */
export function unmetCondition(eligibility: Eligibility, standing: Standing): string | undefined {
  if (eligibility.planIds?.length && !eligibility.planIds.includes(standing.planId)) return 'another plan';
  if (eligibility.minPaidBoxes !== undefined && standing.paidBoxes < eligibility.minPaidBoxes) {
    return `after ${eligibility.minPaidBoxes} paid boxes (${standing.paidBoxes} so far)`;
  }
  if (eligibility.tierKeys?.length && (!standing.tierKey || !eligibility.tierKeys.includes(standing.tierKey)))
    return `for ${eligibility.tierKeys.join(', ')} members`;
  if (eligibility.startsOn && standing.chargeOn < eligibility.startsOn) return `from ${eligibility.startsOn}`;
  if (eligibility.endsOn && standing.chargeOn > eligibility.endsOn) return `ended ${eligibility.endsOn}`;
  return undefined;
}

export function isEligible(eligibility: Eligibility, standing: Standing): boolean {
  return unmetCondition(eligibility, standing) === undefined;
}
