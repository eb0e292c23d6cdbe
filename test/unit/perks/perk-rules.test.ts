import type { Standing } from '../../../src/perks/eligibility';
import { addonIdsGivenBy, applyPerk, applyPerks, type PerkBox } from '../../../src/perks/perk-rules';
import type { Perk, PerkBenefit } from '../../../src/perks/perk.model';
import type { BoxLine } from '../../../src/subscriptions/subscription.service';

const at = new Date('2026-01-01T00:00:00Z');
const perk = (id: string, benefit: PerkBenefit, eligibility: Perk['eligibility'] = {}): Perk => ({
  _id: id,
  merchantId: 'mer_1',
  name: `Perk ${id}`,
  status: 'active',
  eligibility,
  benefit,
  createdAt: at,
  updatedAt: at,
});
const standing: Standing = { planId: 'plan_1', paidBoxes: 2, tierKey: undefined, chargeOn: '2026-03-01' };
const plan: BoxLine = { kind: 'plan', key: 'plan', description: 'Coffee', quantity: 1, unitAmountMinor: 2600 };
const mug: BoxLine = { kind: 'addon', key: 'addon:l1', description: 'Mug', quantity: 2, unitAmountMinor: 600, addonId: 'addon_mug' };
const shipping: BoxLine = { kind: 'shipping', key: 'shipping', description: 'Shipping', quantity: 1, unitAmountMinor: 500 };
const box = (overrides: Partial<PerkBox> = {}): PerkBox => ({
  boxNumber: 3,
  lines: [plan],
  extras: [shipping],
  addons: new Map([['addon_tin', { name: 'Tin', sku: 'TIN' }]]),
  loyaltyProgram: true,
  currency: 'USD',
  storeCurrency: 'USD',
  ...overrides,
});
const grant = (id: string) => ({ source: 'perk', id, reason: `Perk ${id}` });

describe('perk rules: what a perk gives a box', () => {
  test('when the subscription does not meet the perk’s conditions, then it gives nothing and says which one', () => {
    expect(applyPerk(perk('p', { kind: 'free_shipping' }, { minPaidBoxes: 5 }), standing, box())).toEqual({
      gives: false,
      whyNot: 'after 5 paid boxes (2 so far)',
    });
  });

  test('when a free add-on is every 3rd box, then box 3 gets it free and box 4 is told box 6; a removed add-on gives nothing', () => {
    const every3rd = perk('p', { kind: 'free_addon', addonId: 'addon_tin', quantity: 2, everyNthBox: 3 });
    expect(applyPerk(every3rd, standing, box())).toEqual({
      gives: true,
      added: [
        { kind: 'perk', key: 'perk:p', description: 'Tin (free)', sku: 'TIN', quantity: 2, unitAmountMinor: 0, addonId: 'addon_tin', grantedBy: grant('p') },
      ],
      changed: [],
    });
    expect(applyPerk(every3rd, standing, box({ boxNumber: 4 }))).toEqual({ gives: false, whyNot: 'in box 6' });
    expect(applyPerk(every3rd, standing, box({ addons: new Map() }))).toEqual({ gives: false, whyNot: 'its add-on is no longer in the catalog' });
  });

  test('when an add-on discount meets a box without add-ons, then it gives nothing; with add-ons, a percentage or an amount capped at what they cost', () => {
    expect(applyPerk(perk('p', { kind: 'addon_discount', percentOff: 15 }), standing, box())).toEqual({
      gives: false,
      whyNot: 'for boxes with add-ons: this one has none',
    });
    const percent = applyPerk(perk('p', { kind: 'addon_discount', percentOff: 15 }), standing, box({ lines: [plan, mug] }));
    expect(percent).toEqual({
      gives: true,
      added: [{ kind: 'perk', key: 'perk:p', description: 'Perk p: off your add-ons', quantity: 1, unitAmountMinor: -180, grantedBy: grant('p') }],
      changed: [],
    });
    const amount = applyPerk(perk('p', { kind: 'addon_discount', amountOffMinor: 5000 }), standing, box({ lines: [plan, mug] }));
    expect(amount.gives && amount.added[0]!.unitAmountMinor).toBe(-1200);
  });

  test('when an amount off is in another currency than the box, then it gives nothing and says so; an amount stored without a currency is in the store default; a percentage is given in any currency', () => {
    const inEuros = perk('p', { kind: 'addon_discount', amountOffMinor: 500, currency: 'EUR' });
    expect(applyPerk(inEuros, standing, box({ lines: [plan, mug] }))).toEqual({ gives: false, whyNot: 'its amount is in EUR and this box is in USD' });
    expect(applyPerk(inEuros, standing, box({ lines: [plan, mug], currency: 'EUR' })).gives).toBe(true);

    const stored = perk('p', { kind: 'milestone_bonus', boxNumbers: [3], bonus: { type: 'amount_off', amountOffMinor: 500 } });
    expect(applyPerk(stored, standing, box({ currency: 'JPY', storeCurrency: 'USD' }))).toEqual({
      gives: false,
      whyNot: 'its amount is in USD and this box is in JPY',
    });
    expect(applyPerk(stored, standing, box({ currency: 'JPY', storeCurrency: 'JPY' })).gives).toBe(true);

    const percent = perk('p', { kind: 'addon_discount', percentOff: 10 });
    expect(applyPerk(percent, standing, box({ lines: [plan, mug], currency: 'JPY' })).gives).toBe(true);
  });

  test('when free shipping meets a box with a fee, then the shipping line is waived and says why; with no fee or one waived already, nothing', () => {
    const free = perk('p', { kind: 'free_shipping' });
    expect(applyPerk(free, standing, box())).toEqual({
      gives: true,
      added: [],
      changed: [{ ...shipping, unitAmountMinor: 0, description: 'Shipping (free)', grantedBy: grant('p') }],
    });
    expect(applyPerk(free, standing, box({ extras: [] }))).toEqual({ gives: false, whyNot: 'no shipping fee on this box to waive' });
    expect(applyPerk(free, standing, box({ extras: [{ ...shipping, unitAmountMinor: 0 }] }))).toEqual({
      gives: false,
      whyNot: 'shipping on this box is free already',
    });
  });

  test('when a perk opens add-ons early, then it puts nothing in the box', () => {
    expect(applyPerk(perk('p', { kind: 'early_access', addonIds: ['addon_tin'] }), standing, box())).toEqual({
      gives: false,
      whyNot: 'opens add-ons before their release: nothing goes in the box itself',
    });
  });

  test('when a milestone is box 3, then box 3 gets its amount off (capped at what is left), its points (with a programme) or its add-on; other boxes are told the next one', () => {
    const off = perk('p', { kind: 'milestone_bonus', boxNumbers: [3, 12], bonus: { type: 'amount_off', amountOffMinor: 5000 } });
    expect(applyPerk(off, standing, box())).toEqual({
      gives: true,
      added: [{ kind: 'perk', key: 'perk:p', description: 'Perk p: box 3', quantity: 1, unitAmountMinor: -3100, grantedBy: grant('p') }],
      changed: [],
    });
    expect(applyPerk(off, standing, box({ boxNumber: 4 }))).toEqual({ gives: false, whyNot: 'in box 12' });
    expect(applyPerk(off, standing, box({ boxNumber: 13 }))).toEqual({ gives: false, whyNot: 'its milestones are past' });
    expect(applyPerk(off, standing, box({ lines: [{ ...plan, unitAmountMinor: 0 }], extras: [] }))).toEqual({
      gives: false,
      whyNot: 'nothing left to pay on this box',
    });

    const points = perk('q', { kind: 'milestone_bonus', boxNumbers: [3], bonus: { type: 'points', points: 250 } });
    expect(applyPerk(points, standing, box())).toEqual({
      gives: true,
      added: [{ kind: 'perk', key: 'perk:q', description: 'Perk q: 250 bonus points', quantity: 1, unitAmountMinor: 0, grantedBy: grant('q') }],
      changed: [],
      bonusPoints: 250,
    });
    expect(applyPerk(points, standing, box({ loyaltyProgram: false }))).toEqual({
      gives: false,
      whyNot: 'bonus points need the loyalty programme, which is not running',
    });

    const tin = perk('r', { kind: 'milestone_bonus', boxNumbers: [3], bonus: { type: 'free_addon', addonId: 'addon_tin', quantity: 1 } });
    expect(applyPerk(tin, standing, box()).gives).toBe(true);
  });

  test('when several perks apply, then each sees what the ones before it did: the fee waived in place, an amount off capped after the discounts', () => {
    const perks = [
      perk('a', { kind: 'addon_discount', amountOffMinor: 1000 }),
      perk('b', { kind: 'free_shipping' }),
      perk('c', { kind: 'free_shipping' }),
      perk('d', { kind: 'milestone_bonus', boxNumbers: [3], bonus: { type: 'amount_off', amountOffMinor: 10_000 } }),
    ];
    const gift: BoxLine = { kind: 'gift', key: 'gift:g', description: 'Surprise', quantity: 1, unitAmountMinor: 0 };
    const { extras, outcomes } = applyPerks(perks, standing, box({ lines: [plan, mug], extras: [shipping, gift] }));
    expect(extras.map((line) => [line.key, line.description, line.unitAmountMinor])).toEqual([
      ['shipping', 'Shipping (free)', 0],
      ['gift:g', 'Surprise', 0],
      ['perk:a', 'Perk a: off your add-ons', -1000],
      // 2600 + 1200 − 1000, shipping waived.
      ['perk:d', 'Perk d: box 3', -2800],
    ]);
    expect(outcomes.map(({ perk: p, outcome }) => [p._id, outcome.gives])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
      ['d', true],
    ]);
    expect(addonIdsGivenBy([...perks, perk('e', { kind: 'free_addon', addonId: 'addon_tin', quantity: 1, everyNthBox: 2 })])).toEqual(['addon_tin']);
  });
});
