import { standingOf } from '../../src/loyalty/loyalty-standing.service';
import type { OrderLine } from '../../src/orders/box-order.model';
import { perkBoxContext } from '../../src/perks/perk-box.service';
import { applyPerks } from '../../src/perks/perk-rules';
import { activePerks } from '../../src/perks/perk.service';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { boxContentsFor, nextChargedCycle } from '../../src/subscriptions/subscription.service';
import { linesOf, retentionScenario, type ScenarioSubscription } from '../helpers/retention-scenario';
import { useTestDatabase } from '../helpers/test-env';

/**
 * One rule for what a perk gives, asked of the box builder and of the shopper's view of their next box:
 * every perk kind, on boxes with and without add-ons, with and without a shipping fee to waive. What the
 * view says the next box gets is what the cut-off job then puts in it, line for line.
 */
const month = (priceMinor: number) => ({ cadences: [{ interval: 'month' as const, intervalCount: 1, priceMinor }] });
const perksIn = (lines: Array<Pick<OrderLine, 'grantedBy'>>) =>
  [...new Set(lines.filter((line) => line.grantedBy?.source === 'perk').map((line) => line.grantedBy!.id))].sort();

describe('scenario: what a perk gives the next box', () => {
  useTestDatabase();

  test('when the shopper looks at their next box, then each perk is in it exactly when the cut-off puts it in (add-on discounts need add-ons, free shipping a fee)', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, merchant } = world;
    await call('patch', '/merchants/me', { subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 500 }] } }, 200);
    await call(
      'put',
      '/loyalty-program',
      { enabled: true, pointsPerUnit: 1, redemption: { points: 100, creditMinor: 100 }, autoApply: false, expiry: null, tierBasis: 'paid_boxes', tiers: [] },
      200,
    );
    const usd = await world.createPlan(month(2600));
    const eur = await world.createPlan({ currency: 'EUR', ...month(2400) });
    const spoon = await world.createAddon({ name: 'Tasting spoon', priceMinor: 400 });
    const mug = await world.createAddon({ name: 'Mug', priceMinor: 1200 });
    const perk = async (name: string, body: Record<string, unknown>) => (await call('post', '/perks', { name, ...body }, 201)).id as string;
    const ids = {
      freeSpoon: await perk('A spoon every 2nd box', { benefit: { kind: 'free_addon', addonId: spoon.id, quantity: 1, everyNthBox: 2 } }),
      freeSpoonLater: await perk('A spoon every 3rd box', { benefit: { kind: 'free_addon', addonId: spoon.id, quantity: 1, everyNthBox: 3 } }),
      addonPercent: await perk('10% off add-ons', { benefit: { kind: 'addon_discount', percentOff: 10 } }),
      addonAmount: await perk('$5 off add-ons', { benefit: { kind: 'addon_discount', amountOffMinor: 500 } }),
      freeShipping: await perk('Free shipping', { benefit: { kind: 'free_shipping' } }),
      earlyAccess: await perk('New blends first', { benefit: { kind: 'early_access', addonIds: [mug.id] } }),
      secondBoxOff: await perk('$3 off box 2', { benefit: { kind: 'milestone_bonus', boxNumbers: [2], bonus: { type: 'amount_off', amountOffMinor: 300 } } }),
      secondBoxPoints: await perk('50 points at box 2', { benefit: { kind: 'milestone_bonus', boxNumbers: [2, 6], bonus: { type: 'points', points: 50 } } }),
      secondBoxMug: await perk('A mug at box 2', {
        benefit: { kind: 'milestone_bonus', boxNumbers: [2], bonus: { type: 'free_addon', addonId: mug.id, quantity: 1 } },
      }),
      sixthBoxOff: await perk('$3 off box 6', { benefit: { kind: 'milestone_bonus', boxNumbers: [6], bonus: { type: 'amount_off', amountOffMinor: 300 } } }),
      veterans: await perk('Veterans: free shipping', { eligibility: { minPaidBoxes: 5 }, benefit: { kind: 'free_shipping' } }),
    };

    // Ana: dollars, no add-ons. Bob: dollars, a mug in his next box. Eva: euros, for which no fee is set.
    const ana = await world.subscribe(usd);
    const bob = await world.subscribe(usd);
    const eva = await world.subscribe(eur);
    await world.payFirstBox(ana, 2600);
    await world.payFirstBox(bob, 2600);
    await world.payFirstBox(eva, 2400);
    await call('post', `/subscriptions/${bob.id}/addons`, { addonId: mug.id, quantity: 1 }, 200);

    type PerkView = { id: string; inNextBox: boolean; whyNotInNextBox: string | null };
    const nextBoxOf = async (subscription: ScenarioSubscription) => {
      const view = await call('get', `/subscriptions/${subscription.id}/rewards`, undefined, 200);
      expect(view.nextBox).toEqual({ number: 2, shipOn: expect.any(String) });
      return view.perks as PerkView[];
    };
    /** The rules applied to the box as it stands now, exactly as the builder will (perk-rules.ts). */
    const ruledExtras = async (subscription: ScenarioSubscription) => {
      const stored = (await SubscriptionModel.findById(subscription.id).lean())!;
      const cycle = nextChargedCycle(stored, world.clock.now())!;
      const contents = await boxContentsFor(stored, cycle);
      const perks = await activePerks(merchant.id);
      const shipping =
        contents.currency === 'USD' ? [{ kind: 'shipping' as const, key: 'shipping', description: 'Shipping', quantity: 1, unitAmountMinor: 500 }] : [];
      const { extras } = applyPerks(perks, await standingOf(stored, cycle.chargeOn), {
        boxNumber: 2,
        lines: contents.lines,
        extras: shipping,
        currency: contents.currency,
        ...(await perkBoxContext(merchant.id, perks)),
      });
      return extras.map((line) => ({
        kind: line.kind,
        description: line.description,
        amountMinor: line.unitAmountMinor * line.quantity,
        ...(line.grantedBy ? { grantedBy: line.grantedBy } : {}),
      }));
    };

    const views = { ana: await nextBoxOf(ana), bob: await nextBoxOf(bob), eva: await nextBoxOf(eva) };
    const ruled = { ana: await ruledExtras(ana), bob: await ruledExtras(bob), eva: await ruledExtras(eva) };
    const [anaBox, bobBox, evaBox] = await world.buildNextBoxes([ana, bob, eva]);
    const built = { ana: anaBox!, bob: bobBox!, eva: evaBox! };

    const inNextBox = (perks: PerkView[]) =>
      perks
        .filter((p) => p.inNextBox)
        .map((p) => p.id)
        .sort();
    const everyBox = [ids.freeSpoon, ids.secondBoxOff, ids.secondBoxPoints, ids.secondBoxMug];
    expect(inNextBox(views.ana)).toEqual([...everyBox, ids.freeShipping].sort());
    expect(inNextBox(views.bob)).toEqual([...everyBox, ids.freeShipping, ids.addonPercent, ids.addonAmount].sort());
    // "$3 off box 2" is in dollars (the store's currency): Eva's box in euros does not get €3 for it.
    expect(inNextBox(views.eva)).toEqual(everyBox.filter((id) => id !== ids.secondBoxOff).sort());
    expect(views.eva.find((p) => p.id === ids.secondBoxOff)?.whyNotInNextBox).toBe('its amount is in USD and this box is in EUR');
    // The view is the builder's answer, for each of them.
    for (const who of ['ana', 'bob', 'eva'] as const) {
      expect(inNextBox(views[who])).toEqual(perksIn(built[who].lines));
      // And the rules give the box its lines exactly: what the builder added after the shopper's own lines.
      expect(linesOf(built[who]).filter((line) => !['plan', 'addon', 'discount'].includes(line.kind))).toEqual(ruled[who]);
    }

    // Why not, in words.
    const why = (perks: PerkView[], id: string) => perks.find((p) => p.id === id)!.whyNotInNextBox;
    expect(why(views.ana, ids.addonPercent)).toBe('for boxes with add-ons: this one has none');
    expect(why(views.eva, ids.freeShipping)).toBe('no shipping fee on this box to waive');
    expect(why(views.ana, ids.freeSpoonLater)).toBe('in box 3');
    expect(why(views.ana, ids.sixthBoxOff)).toBe('in box 6');
    expect(why(views.ana, ids.earlyAccess)).toBe('opens add-ons before their release: nothing goes in the box itself');
    expect(why(views.ana, ids.veterans)).toBe('after 5 paid boxes (1 so far)');
    expect(why(views.bob, ids.addonPercent)).toBeNull();
    // Bob's discounts are taken off his $12.00 mug: 10% and $5.
    const offAddons = (id: string) => linesOf(built.bob).find((line) => line.grantedBy?.id === id)!.amountMinor;
    expect([offAddons(ids.addonPercent), offAddons(ids.addonAmount)]).toEqual([-120, -500]);
  }, 120_000);
});
