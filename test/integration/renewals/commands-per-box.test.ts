import mongoose from 'mongoose';
import type { CommandStartedEvent } from 'mongodb';
import { attachSurpriseGifts } from '../../../src/gifts/gift.service';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { prepareDueBoxes } from '../../../src/renewals/renewal.service';
import { upcomingCycles } from '../../../src/shared/calendar';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { coreAnswers } from '../../../src/wiring';
import { cloneSubscriptions } from '../../factories/bulk.factory';
import { storeWithEveryExtra } from '../../factories/every-extra-store.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * What one box costs the database at the cut-off, counted with the driver's command monitoring, in the store of
 * `npm run bench:cutoff` (every retention extra on). The job's throughput is bounded by the commands it sends
 * per box (docs/benchmarks.md); these ceilings keep that number from creeping back up. Before the reads that are
 * the same for every box of a run were made once per batch (src/shared/run-memo.ts), a box took 40 commands; the
 * reads of one document per box that no other box of the batch changes are now made once per batch too.
 */
const SUBSCRIPTIONS = 6;
/**
 * Commands a box sends, at most: 40 before the memo, 22 with it (20 at 300 boxes, where the run's own reads weigh
 * less); 16.8 since the batch reads each box's shopper, unpaid boxes, gift, free items, paid boxes and tier once
 * for all of its boxes (14.2 at 300).
 */
const COMMANDS_PER_BOX = 17;

describe('renewals.prepare-boxes: database commands per box', () => {
  const { dbName } = useTestDatabase();

  test('when a run builds the boxes of one store with every retention extra, then the store-wide reads are made once and a box sends at most the ceiling of commands', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const gateway = createStripeGateway(testStripe());
    const { app } = buildTestApp({ clock, stripeGateway: gateway });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscriptionId } = await storeWithEveryExtra(app, merchant.auth, {
      addonStock: 1000,
      giftStockBudget: 100,
      giftCostBudgetMinor: 100_000,
      startsOn: '2026-03-02',
    });
    await cloneSubscriptions(subscriptionId, SUBSCRIPTIONS - 1);
    const template = (await SubscriptionModel.findById(subscriptionId).lean())!;
    const cycle = upcomingCycles(template.schedule, clock.now(), 2).find((c) => c.cutoffAt > clock.now())!;
    clock.set(new Date(cycle.cutoffAt.getTime() + 60_000));
    await attachSurpriseGifts({ clock, logger: silentLogger });

    const commands: Record<string, number> = {};
    const client = mongoose.connection.getClient();
    const count = (event: CommandStartedEvent): void => {
      if (event.databaseName !== dbName) return;
      const collection = event.command[event.commandName] as unknown;
      const key = `${event.commandName} ${typeof collection === 'string' ? collection : ''}`.trim();
      commands[key] = (commands[key] ?? 0) + 1;
    };
    client.on('commandStarted', count);
    try {
      await prepareDueBoxes({ clock, stripe: gateway, logger: silentLogger, extras: coreAnswers({ clock }).boxExtras });
    } finally {
      client.off('commandStarted', count);
    }

    const boxes = await BoxOrderModel.find({ merchantId: merchant.id, cycleKey: cycle.cycleKey, assembledAt: { $exists: true } }).lean();
    expect(boxes).toHaveLength(SUBSCRIPTIONS);
    for (const box of boxes) expect(box.lines.map((line) => line.kind).sort()).toEqual(['addon', 'credit', 'perk', 'plan', 'shipping'].sort());
    const total = Object.values(commands).reduce((sum, n) => sum + n, 0);
    // Read once for the run, however many boxes: the store's profile, catalog, perks, offers and programme (at
    // most twice: two extras ask for the profile and the programme under their own names).
    const storeWide = ['merchants', 'plans', 'addons', 'perks', 'offers', 'loyalty_programs'].map((c) => ({
      collection: c,
      reads: commands[`find ${c}`] ?? 0,
    }));
    expect(storeWide.filter(({ reads }) => reads > 2)).toEqual([]);
    // Read once for the batch, each box taking its part: the shoppers, the cycle's gifts, the free items waiting,
    // the paid boxes and the tiers.
    const batchWide = ['find customers', 'find gift_awards', 'find box_rewards', 'find loyalty_accounts', 'aggregate orders'];
    expect(batchWide.filter((key) => (commands[key] ?? 0) > 1)).toEqual([]);
    // The breakdown comes with the figure when it fails.
    const perBox = total / boxes.length;
    expect(perBox > COMMANDS_PER_BOX ? { perBox, commands } : 'within the ceiling').toBe('within the ceiling');
  });
});
