import request from 'supertest';
import { adjustVariantStock } from '../../../src/inventory/stock-item.service';
import { StockItemModel } from '../../../src/inventory/stock-item.model';
import { BoxOrderModel, type BoxOrder } from '../../../src/orders/box-order.model';
import { cancelUnsentBox } from '../../../src/orders/order.service';
import { prepareNextBox } from '../../../src/renewals/renewal.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { stockBesideLines } from '../../helpers/stock-ledger';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/** A promise the test settles by hand: a gate one run waits at until the interleaving lets it through. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { open, opened };
}

type Filter = Record<string, unknown>;
const isReservationWrite = (filter: Filter) => filter['lines.stock'] === 'pending';
const isHoldAt = (sku: string, filter: Filter) => filter.sku === sku && filter['stock.holds'] !== undefined;

/** A store whose box is due at its cut-off, with the stock given; `deps` prepare its boxes. */
async function dueBox(plan: Parameters<typeof subscribeShopper>[2], stock: Record<string, number>) {
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const shopper = await subscribeShopper(app, merchant, plan);
  for (const [sku, units] of Object.entries(stock)) {
    // A first receipt starts tracking; a SKU at 0 is tracked and sold out.
    await adjustVariantStock(clock, merchant.id, sku, 1);
    if (units !== 1) await adjustVariantStock(clock, merchant.id, sku, units - 1);
  }
  const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
  const cutoffAt = (await request(app).get(`/api/v1/subscriptions/${shopper.subscription.id}`).set(merchant.auth).expect(200)).body.nextCharge
    .cutoffAt as string;
  clock.set(new Date(Date.parse(cutoffAt) + 60_000));
  const theBox = async () => (await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id }).lean()) as BoxOrder;
  return { clock, app, merchant, deps, theBox, ...shopper };
}

const SUBSTITUTED = {
  variants: [
    { name: 'A', sku: 'RACE-A', substituteSkus: ['RACE-B'] },
    { name: 'B', sku: 'RACE-B' },
  ],
};

/** A hold being placed at `sku` (a guarded push of a hold id not there yet), not a release. */
const isNewHoldAt = (sku: string, filter: Filter) => filter.sku === sku && (filter['stock.holds'] as { $ne?: string } | undefined)?.$ne !== undefined;

/** Every write that records a box's reserved lines fails (while `when` holds), as a worker that stops there. */
function stopReservationWrites(when: () => boolean = () => true) {
  const findOneAndUpdate = BoxOrderModel.findOneAndUpdate.bind(BoxOrderModel);
  return jest.spyOn(BoxOrderModel, 'findOneAndUpdate').mockImplementation(((...args: Parameters<typeof findOneAndUpdate>) => {
    if (when() && isReservationWrite(args[0] as unknown as Filter)) return Promise.reject(new Error('worker stopped'));
    return findOneAndUpdate(...args);
  }) as unknown as typeof findOneAndUpdate);
}

/** Runs `meanwhile` just before the first new hold at `sku` is placed; `ran` and `held` say how far it got. */
function meanwhileBeforeHoldAt(sku: string, meanwhile: () => Promise<void>) {
  const updateOne = StockItemModel.updateOne.bind(StockItemModel);
  const state = { ran: false, held: false };
  jest.spyOn(StockItemModel, 'updateOne').mockImplementation(((...args: Parameters<typeof updateOne>) => {
    if (state.ran || !isNewHoldAt(sku, args[0] as unknown as Filter)) return updateOne(...args);
    state.ran = true;
    return (async () => {
      await meanwhile();
      const held = await updateOne(...args);
      state.held = true;
      return held;
    })();
  }) as unknown as typeof updateOne);
  return state;
}

/**
 * Two preparations of the box that stopped before their writes, holding its line at two SKUs: the first finds
 * A short; a unit of A is received; a second holds A and stops; the first holds B and stops.
 */
async function twoStoppedHolders({ clock, merchant, deps, subscription }: Awaited<ReturnType<typeof dueBox>>) {
  const interleaving = meanwhileBeforeHoldAt('RACE-B', async () => {
    await adjustVariantStock(clock, merchant.id, 'RACE-A', 1);
    await expect(prepareNextBox(deps, subscription.id)).rejects.toThrow('worker stopped');
  });
  stopReservationWrites();
  await expect(prepareNextBox(deps, subscription.id)).rejects.toThrow('worker stopped');
  jest.restoreAllMocks();
  expect(interleaving.ran).toBe(true);
}

/** A box prepared before attempts were numbered: its run stopped holding B under the line's own id, no attempt on the order. */
async function stoppedBeforeAttemptsWereNumbered({ merchant, deps, subscription, theBox }: Awaited<ReturnType<typeof dueBox>>) {
  stopReservationWrites();
  await expect(prepareNextBox(deps, subscription.id)).rejects.toThrow('worker stopped');
  jest.restoreAllMocks();
  const stopped = await theBox();
  await BoxOrderModel.updateOne({ _id: stopped._id }, { $unset: { preparationAttempt: 1 } });
  await StockItemModel.updateOne({ merchantId: merchant.id, sku: 'RACE-B' }, { $set: { 'stock.holds': [stopped.lines[0]!.holdId] } });
  expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 2, reserved: 1, holds: 1, linesReserved: 0 });
}

/** A box due with variant A sold out, B and C at 2 each, and B chosen as the shopper's second choice. */
async function soldOutWithSecondChoiceB() {
  const setup = await dueBox(
    {
      variants: [
        { name: 'A', sku: 'CHOICE-A' },
        { name: 'B', sku: 'CHOICE-B' },
        { name: 'C', sku: 'CHOICE-C' },
      ],
    },
    { 'CHOICE-A': 0, 'CHOICE-B': 2, 'CHOICE-C': 2 },
  );
  await request(setup.app)
    .post(`/api/v1/subscriptions/${setup.subscription.id}/second-choice`)
    .set(setup.merchant.auth)
    .send({ variantId: setup.variantIds[1] })
    .expect(200);
  return setup;
}

describe('renewals.prepare-boxes: interleavings of preparations, retries and cancellations of one box', () => {
  useTestDatabase();
  afterEach(() => jest.restoreAllMocks());

  test('when the shopper changes their second choice between an attempt that held it and the retry, then the retry gives that hold back and holds the new choice', async () => {
    const { app, merchant, deps, subscription, variantIds, theBox } = await soldOutWithSecondChoiceB();

    // The first attempt holds B (A is sold out) and stops before recording the line.
    const stopped = stopReservationWrites();
    await expect(prepareNextBox(deps, subscription.id)).rejects.toThrow('worker stopped');
    stopped.mockRestore();
    expect(await stockBesideLines(merchant.id, 'CHOICE-B')).toMatchObject({ onHand: 1, reserved: 1, holds: 1, linesReserved: 0 });

    // Meanwhile their second choice becomes C: B is no longer a candidate for the line.
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/second-choice`).set(merchant.auth).send({ variantId: variantIds[2] }).expect(200);
    await prepareNextBox(deps, subscription.id);

    const order = await theBox();
    expect(order.lines).toEqual([
      expect.objectContaining({
        kind: 'plan',
        sku: 'CHOICE-C',
        stock: 'reserved',
        substitutedFor: expect.objectContaining({ sku: 'CHOICE-A', rule: 'second_choice' }),
      }),
    ]);
    expect(await stockBesideLines(merchant.id, 'CHOICE-A')).toMatchObject({ onHand: 0, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'CHOICE-B')).toMatchObject({ onHand: 2, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'CHOICE-C')).toMatchObject({ onHand: 1, reserved: 1, holds: 1, linesReserved: 1 });
  });

  test('when the box is cancelled after two preparations held its line (one the substitute, one the variant) and before either recorded it, then each gives back what it held', async () => {
    const { clock, merchant, deps, subscription, theBox } = await dueBox(SUBSTITUTED, { 'RACE-A': 0, 'RACE-B': 3 });

    // The interleaving: the first run finds A short; a unit of A is received; a second run holds A and reaches
    // its write; the first holds B and reaches its write; the box is cancelled (its status first, its stock
    // settled last); the second run's write loses, then the first's.
    const updateOne = StockItemModel.updateOne.bind(StockItemModel);
    const findOneAndUpdate = BoxOrderModel.findOneAndUpdate.bind(BoxOrderModel);
    const secondAtWrite = gate();
    const secondMayWrite = gate();
    const cancelledStatus = gate();
    const runsDone = gate();
    let second: Promise<void> | undefined;
    let cancelling: Promise<BoxOrder | null> | undefined;
    let writes = 0;
    let heldAtCancel: unknown[] = [];
    jest.spyOn(StockItemModel, 'updateOne').mockImplementation(((...args: Parameters<typeof updateOne>) => {
      if (second || !isHoldAt('RACE-B', args[0] as unknown as Filter)) return updateOne(...args);
      return (async () => {
        await adjustVariantStock(clock, merchant.id, 'RACE-A', 1);
        second = prepareNextBox(deps, subscription.id);
        await secondAtWrite.opened;
        return updateOne(...args);
      })();
    }) as unknown as typeof updateOne);
    jest.spyOn(BoxOrderModel, 'findOneAndUpdate').mockImplementation(((...args: Parameters<typeof findOneAndUpdate>) => {
      const filter = args[0] as unknown as Filter;
      if (filter.status && typeof filter.status === 'object' && cancelling) {
        // The cancellation's status write lands; it settles the box's stock only after both runs are done.
        return (async () => {
          const cancelled = await findOneAndUpdate(...args);
          heldAtCancel = [await stockBesideLines(merchant.id, 'RACE-A'), await stockBesideLines(merchant.id, 'RACE-B')];
          cancelledStatus.open();
          await runsDone.opened;
          return cancelled;
        })();
      }
      if (!isReservationWrite(filter)) return findOneAndUpdate(...args);
      writes += 1;
      if (writes === 1) {
        secondAtWrite.open();
        return secondMayWrite.opened.then(() => findOneAndUpdate(...args));
      }
      return (async () => {
        cancelling = theBox().then((order) => cancelUnsentBox({ clock }, order, 'subscription_cancelled'));
        await cancelledStatus.opened;
        secondMayWrite.open();
        await second;
        return findOneAndUpdate(...args);
      })();
    }) as unknown as typeof findOneAndUpdate);

    await prepareNextBox(deps, subscription.id);
    await second;

    expect(writes).toBe(2);
    // When the box was cancelled, the line was held twice under one hold id: at A by one run, at B by the other.
    expect(heldAtCancel).toEqual([
      expect.objectContaining({ onHand: 0, reserved: 1, holds: 1, linesReserved: 0 }),
      expect.objectContaining({ onHand: 2, reserved: 1, holds: 1, linesReserved: 0 }),
    ]);
    // Both runs are done and the cancellation has not settled the stock yet: neither run left a hold behind.
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 1, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 3, reserved: 0, holds: 0, linesReserved: 0 });
    runsDone.open();
    expect(await cancelling).toMatchObject({ status: 'cancelled' });

    const order = await theBox();
    expect(order).toMatchObject({ status: 'cancelled', lines: [expect.objectContaining({ kind: 'plan', sku: 'RACE-A', stock: 'released' })] });
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 1, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 3, reserved: 0, holds: 0, linesReserved: 0 });
  });

  test('when two preparations that stopped held one line at the variant and at its substitute, then cancelling the box gives back both holds', async () => {
    const box = await dueBox(SUBSTITUTED, { 'RACE-A': 0, 'RACE-B': 3 });
    const { clock, merchant, theBox } = box;
    // Two stopped preparations: the line held at A and at B, and the order records neither.
    await twoStoppedHolders(box);

    const pending = await theBox();
    expect(pending.lines).toEqual([expect.objectContaining({ kind: 'plan', sku: 'RACE-A', stock: 'pending' })]);
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 0, reserved: 1, holds: 1 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 2, reserved: 1, holds: 1 });

    expect(await cancelUnsentBox({ clock }, pending, 'subscription_cancelled')).toMatchObject({ status: 'cancelled' });

    expect((await theBox()).lines).toEqual([expect.objectContaining({ kind: 'plan', stock: 'released' })]);
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 1, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 3, reserved: 0, holds: 0, linesReserved: 0 });
  });
});

/**
 * Retries of a box while an earlier preparation is still running (a run that outlived its Agenda lock, or two
 * runners): each attempt claims the box (`preparationAttempt`), holds under ids carrying its number, and only
 * the box's current attempt can record its lines (src/orders/box-assembly.service.ts).
 */
describe('renewals.prepare-boxes: a retry while an earlier preparation of the box is still running', () => {
  useTestDatabase();
  afterEach(() => jest.restoreAllMocks());

  /** Every hold id of one SKU's stock. */
  const holdsAt = async (merchantId: string, sku: string) => (await StockItemModel.findOne({ merchantId, sku }).lean())?.stock.holds ?? [];

  test('when two stopped preparations held one line at the variant and at its substitute and the box is retried, then it ends with one hold for the line and the other SKU gets its unit back', async () => {
    const box = await dueBox(SUBSTITUTED, { 'RACE-A': 0, 'RACE-B': 3 });
    const { merchant, deps, subscription, theBox } = box;
    await twoStoppedHolders(box);
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 0, reserved: 1, holds: 1, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 2, reserved: 1, holds: 1, linesReserved: 0 });

    // The retry (not a cancellation) prepares the box from start to end.
    await prepareNextBox(deps, subscription.id);

    const order = await theBox();
    expect(order).toMatchObject({ status: 'reserved', assembledAt: expect.any(Date) });
    expect(order.lines).toEqual([expect.objectContaining({ kind: 'plan', sku: 'RACE-A', stock: 'reserved' })]);
    // Exactly one hold for the line, the one the order records; B has its unit back.
    expect(await holdsAt(merchant.id, 'RACE-A')).toEqual([order.lines[0]!.holdId]);
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 0, reserved: 1, holds: 1, linesReserved: 1 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 3, reserved: 0, holds: 0, linesReserved: 0 });
  });

  test('when a preparation that read the old second choice reaches its write after a retry gave its hold back, then its write is refused, the order records the retry’s choice and every hold is backed', async () => {
    const { app, merchant, deps, subscription, variantIds, theBox } = await soldOutWithSecondChoiceB();

    // The interleaving: the stale run holds B (A is sold out) and reaches its write; the shopper's second choice
    // becomes C; a retry starts and gives B's hold back, then stops there; the stale run writes; the retry goes on.
    const updateOne = StockItemModel.updateOne.bind(StockItemModel);
    const findOneAndUpdate = BoxOrderModel.findOneAndUpdate.bind(BoxOrderModel);
    const retryReleasedB = gate();
    const staleWrote = gate();
    let retry: Promise<void> | undefined;
    let paused = false;
    let staleWrite: unknown = 'not yet';
    let heldAfterStaleWrite: unknown;
    jest.spyOn(StockItemModel, 'updateOne').mockImplementation(((...args: Parameters<typeof updateOne>) => {
      const filter = args[0] as unknown as Filter;
      if (!retry || paused || filter.sku !== 'CHOICE-B' || typeof filter['stock.holds'] !== 'string') return updateOne(...args);
      paused = true;
      return (async () => {
        const released = await updateOne(...args);
        retryReleasedB.open();
        await staleWrote.opened;
        return released;
      })();
    }) as unknown as typeof updateOne);
    jest.spyOn(BoxOrderModel, 'findOneAndUpdate').mockImplementation(((...args: Parameters<typeof findOneAndUpdate>) => {
      if (retry || !isReservationWrite(args[0] as unknown as Filter)) return findOneAndUpdate(...args);
      return (async () => {
        await request(app).post(`/api/v1/subscriptions/${subscription.id}/second-choice`).set(merchant.auth).send({ variantId: variantIds[2] }).expect(200);
        retry = prepareNextBox(deps, subscription.id);
        await retryReleasedB.opened;
        const written = await findOneAndUpdate(...args);
        staleWrite = written;
        heldAfterStaleWrite = await stockBesideLines(merchant.id, 'CHOICE-B');
        staleWrote.open();
        return written;
      })();
    }) as unknown as typeof findOneAndUpdate);

    await prepareNextBox(deps, subscription.id);
    await retry;

    expect(paused).toBe(true);
    // The stale run's write was refused: B was never recorded without a hold behind it.
    expect(staleWrite).toBeNull();
    expect(heldAfterStaleWrite).toMatchObject({ onHand: 2, reserved: 0, holds: 0, linesReserved: 0 });
    const order = await theBox();
    expect(order).toMatchObject({ status: 'reserved', assembledAt: expect.any(Date) });
    expect(order.lines).toEqual([
      expect.objectContaining({ kind: 'plan', sku: 'CHOICE-C', stock: 'reserved', substitutedFor: expect.objectContaining({ sku: 'CHOICE-A' }) }),
    ]);
    expect(await stockBesideLines(merchant.id, 'CHOICE-A')).toMatchObject({ onHand: 0, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'CHOICE-B')).toMatchObject({ onHand: 2, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'CHOICE-C')).toMatchObject({ onHand: 1, reserved: 1, holds: 1, linesReserved: 1 });
  });

  test('when a box prepared before attempts were numbered held its line under its plain id and stopped, then the retry gives that hold back and holds its own', async () => {
    const box = await dueBox(SUBSTITUTED, { 'RACE-A': 0, 'RACE-B': 3 });
    const { merchant, deps, subscription, theBox } = box;
    await stoppedBeforeAttemptsWereNumbered(box);

    await prepareNextBox(deps, subscription.id);

    const order = await theBox();
    expect(order.lines).toEqual([expect.objectContaining({ kind: 'plan', sku: 'RACE-B', stock: 'reserved' })]);
    expect(await holdsAt(merchant.id, 'RACE-B')).toEqual([order.lines[0]!.holdId]);
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 2, reserved: 1, holds: 1, linesReserved: 1 });
  });

  test('when the cut-off’s own write finds a box prepared before attempts were numbered (its run read no unpaid box), then that first claim gives the plain-id hold back too', async () => {
    const box = await dueBox(SUBSTITUTED, { 'RACE-A': 0, 'RACE-B': 3 });
    const { clock, merchant, deps, subscription, theBox } = box;
    await stoppedBeforeAttemptsWereNumbered(box);

    // The retry, a minute later, read the unpaid boxes before the old box was visible to it: it goes straight to
    // the cut-off's upsert, which finds the old box and claims it as attempt 1.
    clock.set(new Date(clock.now().getTime() + 60_000));
    const find = BoxOrderModel.find.bind(BoxOrderModel);
    jest.spyOn(BoxOrderModel, 'find').mockImplementation(((...args: Parameters<typeof find>) => {
      const status = (args[0] as { status?: { $in?: string[] } } | undefined)?.status;
      if (status?.$in?.includes('held')) return { lean: () => Promise.resolve([]) };
      return find(...args);
    }) as unknown as typeof find);
    await prepareNextBox(deps, subscription.id);
    jest.restoreAllMocks();

    const order = await theBox();
    expect(order.preparationAttempt).toBe(1);
    expect(order.lines).toEqual([expect.objectContaining({ kind: 'plan', sku: 'RACE-B', stock: 'reserved' })]);
    expect(await holdsAt(merchant.id, 'RACE-B')).toEqual([order.lines[0]!.holdId]);
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 2, reserved: 1, holds: 1, linesReserved: 1 });
  });

  /**
   * The stale run finds A short; a unit of A is received and a retry prepares the box from start to end (A
   * reserved and recorded); only then does the stale run hold B, and it dies before its write. B's hold is
   * recorded by no line.
   */
  async function boxWithADeadRunsHold() {
    const box = await dueBox(SUBSTITUTED, { 'RACE-A': 0, 'RACE-B': 3 });
    const { clock, merchant, deps, subscription } = box;
    // The retry runs to the end just before the stale run's hold at B; the stale run then stops at its write.
    const stale = meanwhileBeforeHoldAt('RACE-B', async () => {
      await adjustVariantStock(clock, merchant.id, 'RACE-A', 1);
      await prepareNextBox(deps, subscription.id);
    });
    stopReservationWrites(() => stale.held);
    await expect(prepareNextBox(deps, subscription.id)).rejects.toThrow('worker stopped');
    jest.restoreAllMocks();

    expect(stale.held).toBe(true);
    const order = await box.theBox();
    expect(order).toMatchObject({ status: 'reserved', assembledAt: expect.any(Date) });
    expect(order.lines).toEqual([expect.objectContaining({ kind: 'plan', sku: 'RACE-A', stock: 'reserved' })]);
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 0, reserved: 1, holds: 1, linesReserved: 1 });
    // The dead run's hold: a unit of B promised to no line.
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 2, reserved: 1, holds: 1, linesReserved: 0 });
    return { ...box, order };
  }

  test('when a stale preparation held the substitute after a retry built the box and died before its write, then cancelling the box gives that hold back too', async () => {
    const { clock, merchant, order, theBox } = await boxWithADeadRunsHold();

    expect(await cancelUnsentBox({ clock }, order, 'subscription_cancelled')).toMatchObject({ status: 'cancelled' });

    expect((await theBox()).lines).toEqual([expect.objectContaining({ kind: 'plan', sku: 'RACE-A', stock: 'released' })]);
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 1, reserved: 0, holds: 0, linesReserved: 0 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 3, reserved: 0, holds: 0, linesReserved: 0 });
  });

  test('when a stale preparation held the substitute after a retry built the box and died before its write, then shipping the box consumes its own hold and gives the stale one back', async () => {
    const { app, merchant, order, theBox } = await boxWithADeadRunsHold();
    // Paid (the payment itself is another suite's): only the status matters to shipping.
    await BoxOrderModel.updateOne({ _id: order._id, status: 'reserved' }, { $set: { status: 'paid' } });

    await request(app).post(`/api/v1/orders/${order._id}/ship`).set(merchant.auth).send({ carrier: 'DHL', trackingNumber: 'JD01' }).expect(200);

    expect(await theBox()).toMatchObject({ status: 'shipped', lines: [expect.objectContaining({ kind: 'plan', sku: 'RACE-A', stock: 'consumed' })] });
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 0, reserved: 0, holds: 0, linesConsumed: 1 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 3, reserved: 0, holds: 0, linesReserved: 0 });
  });
});
