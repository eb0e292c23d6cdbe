import request from 'supertest';
import type { Express } from 'express';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { recordingGateway } from '../helpers/recording-gateway';
import { renewalDriver } from '../helpers/renewal-driver';
import { actionLinksIn, queuedMessages } from '../helpers/messages';
import { factsAbout, TEST_LINKS } from '../helpers/facts';
import { verifyActionToken } from '../../src/shared/action-tokens';
import { buildTestApp } from '../helpers/test-app';
import { testStripe, useTestDatabase } from '../helpers/test-env';

/**
 * Renewals over months on a fake clock: the cut-off job builds and reserves each box, Stripe's signed
 * events (posted to the real endpoint) pay it or fail it. Checked: the orders, their lines and states, the
 * stock, what the shopper was told, and what Stripe was asked.
 */
async function setUp(start: string) {
  const clock = new FakeClock(start);
  const recording = recordingGateway(createStripeGateway(testStripe()));
  const testApp = buildTestApp({ clock, stripeGateway: recording.gateway });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  return { clock, ...recording, testApp, app: testApp.app, merchant, driver: renewalDriver(testApp, recording.gateway) };
}

async function receiveStock(app: Express, merchant: TestMerchant, sku: string, units: number) {
  return (await request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send({ adjustBy: units, reason: 'received' }).expect(200)).body;
}

/** Tracked with nothing on hand (received, then counted out). */
async function outOfStock(app: Express, merchant: TestMerchant, sku: string) {
  await receiveStock(app, merchant, sku, 1);
  await receiveStock(app, merchant, sku, -1);
}

async function subscribe(app: Express, merchant: TestMerchant, planId: string, variantId: string) {
  const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
  return (
    await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer.id, planId, variantId, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
      .expect(201)
  ).body as { id: string; stripeSubscriptionId: string; nextCharge: { cycleKey: string; chargeAt: string; cutoffAt: string } };
}

const orders = (subscriptionId: string) => BoxOrderModel.find({ subscriptionId }).sort({ cycleKey: 1 }).lean();
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms);

describe('scenario: renewals', () => {
  useTestDatabase();

  test('when a subscriber renews monthly for a year, then each cut-off reserves one box, each payment makes it paid, and stock follows', async () => {
    const { clock, app, merchant, driver } = await setUp('2026-01-15T15:30:00Z');
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const sku = plan.variants[0].sku as string;
    await receiveStock(app, merchant, sku, 20);
    const subscription = await subscribe(app, merchant, plan.id, plan.variants[0].id);
    expect(await driver.pay(subscription.stripeSubscriptionId, clock.now(), 2600)).toBe(200);

    const renewedKeys: string[] = [];
    for (let month = 1; month <= 12; month += 1) {
      const { nextCharge } = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
      clock.set(plus(nextCharge.cutoffAt, -60_000));
      await driver.runCutoffs();
      expect(await BoxOrderModel.exists({ subscriptionId: subscription.id, cycleKey: nextCharge.cycleKey })).toBeNull(); // not before its cut-off
      clock.set(plus(nextCharge.cutoffAt, 60_000));
      await driver.runCutoffs();
      await driver.runCutoffs(); // a second run (or worker) changes nothing
      const reserved = await BoxOrderModel.findOne({ subscriptionId: subscription.id, cycleKey: nextCharge.cycleKey }).lean();
      expect(reserved).toMatchObject({
        status: 'reserved',
        shipOn: nextCharge.cycleKey,
        amountDueMinor: 2600,
        lines: [expect.objectContaining({ sku, stock: 'reserved' })],
      });

      clock.set(plus(nextCharge.chargeAt, 5_000));
      expect(await driver.pay(subscription.stripeSubscriptionId, new Date(nextCharge.chargeAt), 2600)).toBe(200);
      expect(await driver.pay(subscription.stripeSubscriptionId, new Date(nextCharge.chargeAt), 2600, reserved!.stripeInvoiceId)).toBe(200); // Stripe's retry of a new event id
      await request(app)
        .post(`/api/v1/orders/${reserved!._id}/ship`)
        .set(merchant.auth)
        .send({ carrier: 'USPS', trackingNumber: `9400${month}` })
        .expect(200);
      renewedKeys.push(nextCharge.cycleKey);
    }

    // Local charge dates stay on the 15th across both DST changes.
    expect(renewedKeys).toEqual([
      '2026-02-15',
      '2026-03-15',
      '2026-04-15',
      '2026-05-15',
      '2026-06-15',
      '2026-07-15',
      '2026-08-15',
      '2026-09-15',
      '2026-10-15',
      '2026-11-15',
      '2026-12-15',
      '2027-01-15',
    ]);
    const all = await orders(subscription.id);
    expect(all).toHaveLength(13);
    expect(all.map((o) => o.status)).toEqual(['paid', ...Array(12).fill('shipped')]);
    expect(all.slice(1).map((o) => o.history.map((h) => h.status))).toEqual(Array(12).fill(['reserved', 'paid', 'shipped']));
    expect(new Set(all.map((o) => o.stripeInvoiceId)).size).toBe(13);
    // 13 boxes taken from 20: the first (paid, not shipped) still holds its unit.
    expect((await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 7, reserved: 1 });
  });

  test('when a subscriber skips, pauses, swaps and recovers a failed payment, then only charged cycles get boxes, with the right contents', async () => {
    const { clock, app, merchant, driver } = await setUp('2026-01-15T15:30:00Z');
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const [a, b] = plan.variants as Array<{ id: string; sku: string }>;
    await receiveStock(app, merchant, a!.sku, 10);
    const subscription = await subscribe(app, merchant, plan.id, a!.id);
    const stripeId = subscription.stripeSubscriptionId;
    await driver.pay(stripeId, clock.now(), 2600);
    const view = async () => (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    const renewNext = async (outcome: 'paid' | 'fails-then-paid' = 'paid') => {
      const { nextCharge } = await view();
      clock.set(plus(nextCharge.cutoffAt, 60_000));
      await driver.syncStripe();
      await driver.runCutoffs();
      clock.set(plus(nextCharge.chargeAt, 5_000));
      const invoiceId = `in_${nextCharge.cycleKey.replaceAll('-', '')}`;
      if (outcome === 'fails-then-paid') {
        await driver.fail(stripeId, new Date(nextCharge.chargeAt), invoiceId, 1);
        expect(await BoxOrderModel.findOne({ subscriptionId: subscription.id, cycleKey: nextCharge.cycleKey }).lean()).toMatchObject({
          status: 'held',
          heldForInvoiceId: invoiceId,
        });
        expect(await view()).toMatchObject({ status: 'past_due', dunning: { attempts: 1 } });
        clock.set(plus(nextCharge.chargeAt, 3 * 86_400_000));
        await driver.runCutoffs(); // still retried by Stripe: the held box keeps its stock
      }
      await driver.pay(stripeId, new Date(nextCharge.chargeAt), 2600, invoiceId);
      await driver.syncStripe();
      return nextCharge.cycleKey as string;
    };

    await request(app).post(`/api/v1/subscriptions/${subscription.id}/skip`).set(merchant.auth).send({}).expect(200); // February
    expect(await renewNext()).toBe('2026-03-15');
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/pause`).set(merchant.auth).send({ cycles: 2 }).expect(200); // April, May
    expect(await renewNext()).toBe('2026-06-15');
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/swap`).set(merchant.auth).send({ variantId: b!.id }).expect(200);
    expect(await renewNext()).toBe('2026-07-15');
    expect(await renewNext('fails-then-paid')).toBe('2026-08-15');
    expect(await view()).toMatchObject({ status: 'active', dunning: null });
    expect(await renewNext()).toBe('2026-09-15');

    const all = await orders(subscription.id);
    expect(all.map((o) => [o.cycleKey, o.status, o.lines[0]!.sku])).toEqual([
      ['2026-01-15', 'paid', a!.sku],
      ['2026-03-15', 'paid', a!.sku],
      ['2026-06-15', 'paid', a!.sku],
      ['2026-07-15', 'paid', b!.sku],
      ['2026-08-15', 'paid', b!.sku],
      ['2026-09-15', 'paid', b!.sku],
    ]);
    expect(all[4]!.history.map((h) => h.status)).toEqual(['reserved', 'held', 'paid']);
    // Variant A: three boxes hold a unit each; B is not tracked.
    expect((await request(app).get(`/api/v1/stock-items/${a!.sku}`).set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 7, reserved: 3 });
  });

  test('when the chosen variant is out of stock at the cut-off, then the second choice or the merchant substitute is sent, an add-on out of stock is left out and not billed, and the shopper is told', async () => {
    const { clock, app, merchant, driver, invoiceItems } = await setUp('2026-01-15T15:30:00Z');
    const input = buildPlanInput();
    const [dark, light, decaf] = ['DARK', 'LIGHT', 'DECAF'].map((name) => `${name}-${input.variants[0]!.sku}`);
    const plan = (
      await request(app)
        .post('/api/v1/plans')
        .set(merchant.auth)
        .send({
          ...input,
          variants: [
            { name: 'Dark', sku: dark, substituteSkus: [light] },
            { name: 'Light', sku: light },
            { name: 'Decaf', sku: decaf },
          ],
        })
        .expect(201)
    ).body;
    const variant = (sku: string) => (plan.variants as Array<{ id: string; sku: string }>).find((v) => v.sku === sku)!;
    await outOfStock(app, merchant, dark!);
    await receiveStock(app, merchant, light!, 5);
    await receiveStock(app, merchant, decaf!, 5);
    const mugs = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Mug', stock: 1 }))
        .expect(201)
    ).body;
    const beans = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Sample beans', stock: 4, priceMinor: 500 }))
        .expect(201)
    ).body;

    const withSecondChoice = await subscribe(app, merchant, plan.id, variant(dark!).id);
    await request(app)
      .post(`/api/v1/subscriptions/${withSecondChoice.id}/second-choice`)
      .set(merchant.auth)
      .send({ variantId: variant(decaf!).id })
      .expect(200);
    const withoutSecondChoice = await subscribe(app, merchant, plan.id, variant(dark!).id);
    await request(app).post(`/api/v1/subscriptions/${withoutSecondChoice.id}/addons`).set(merchant.auth).send({ addonId: mugs.id, quantity: 1 }).expect(200);
    await request(app).post(`/api/v1/subscriptions/${withoutSecondChoice.id}/addons`).set(merchant.auth).send({ addonId: beans.id, quantity: 2 }).expect(200);
    // The last mug sells elsewhere before the cut-off.
    await request(app).post(`/api/v1/addons/${mugs.id}/stock-adjustments`).set(merchant.auth).send({ adjustBy: -1, reason: 'sold in shop' }).expect(200);

    clock.set(plus(withSecondChoice.nextCharge.cutoffAt, 60_000));
    await driver.runCutoffs();
    const [first] = await orders(withSecondChoice.id);
    expect(first).toMatchObject({
      status: 'reserved',
      lines: [
        expect.objectContaining({
          sku: decaf,
          description: `${plan.name}: Decaf`,
          stock: 'reserved',
          substitutedFor: { sku: dark, description: `${plan.name}: Dark`, rule: 'second_choice' },
        }),
      ],
    });
    const [second] = await orders(withoutSecondChoice.id);
    expect(second).toMatchObject({
      status: 'reserved',
      amountDueMinor: 2600 + 2 * 500,
      omittedLines: [{ description: 'Mug', sku: mugs.sku, quantity: 1, reason: 'out_of_stock' }],
    });
    expect(second!.lines.map((l) => [l.sku, l.stock, l.substitutedFor?.rule ?? null])).toEqual([
      [light, 'reserved', 'merchant_rule'],
      [beans.sku, 'reserved', null],
    ]);
    // box.reserved says which SKU was chosen for a substituted line and what was left out (the fill-rate analytics read it).
    const built = (await factsAbout({ subjectId: second!._id })).find((f) => f.type === 'box.reserved')!;
    expect((built.data.lines as Array<{ sku: string; chosenSku?: string }>).map((l) => [l.sku, l.chosenSku ?? null])).toEqual([
      [light, dark],
      [beans.sku, null],
    ]);
    expect(built.data.omitted).toEqual([{ description: 'Mug', sku: mugs.sku, quantity: 1 }]);
    // Only the reserved add-on is put on the coming invoice, keyed by its line.
    expect(invoiceItems.map((item) => [item.key, 'quantity' in item.input ? item.input.quantity : null, item.input.subscriptionId])).toEqual([
      [`invoice-item:${second!._id}:${second!.lines[1]!.key}:create`, 2, withoutSecondChoice.stripeSubscriptionId],
    ]);
    expect((await request(app).get(`/api/v1/addons/${beans.id}`).set(merchant.auth).expect(200)).body.stock).toEqual({ tracked: true, onHand: 2, reserved: 2 });

    const told = await queuedMessages({ subscriptionId: withoutSecondChoice.id, template: 'box.stock_adjusted' });
    expect(told).toEqual([expect.objectContaining({ subject: 'A change to your next box' })]);
    expect(told[0]!.text).toContain(`${plan.name}: Dark is out of stock, so we will send ${plan.name}: Light instead.`);
    expect(told[0]!.text).toContain('Mug is out of stock: it is not in this box, and you will not be charged for it.');
    // Its links, to choose another variant or decline the box as adjusted (skip it), work until the box is charged.
    const chargeAt = Date.parse(withoutSecondChoice.nextCharge.chargeAt) / 1000;
    expect(actionLinksIn(told[0]!.text).map((token) => verifyActionToken(`action-links:${TEST_LINKS.appSecret}`, token, clock.now()))).toEqual([
      {
        ok: true,
        claim: expect.objectContaining({
          action: 'box.choose-variant',
          subjectId: withoutSecondChoice.id,
          data: { cycleKey: second!.cycleKey },
          exp: chargeAt,
        }),
      },
      {
        ok: true,
        claim: expect.objectContaining({ action: 'box.decline', subjectId: withoutSecondChoice.id, data: { cycleKey: second!.cycleKey }, exp: chargeAt }),
      },
    ]);
    await driver.runCutoffs();
    expect(await queuedMessages({ merchantId: merchant.id, template: 'box.stock_adjusted' })).toHaveLength(2); // told once each
  });

  test('when nothing of the box can ship, then the cycle is skipped with no charge, its stock is given back, and the shopper is told', async () => {
    const { clock, app, merchant, driver, updates } = await setUp('2026-01-15T15:30:00Z');
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const [a] = plan.variants as Array<{ id: string; sku: string }>;
    await receiveStock(app, merchant, a!.sku, 1);
    const beans = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: 3 }))
        .expect(201)
    ).body;
    const subscription = await subscribe(app, merchant, plan.id, a!.id);
    await receiveStock(app, merchant, a!.sku, -1); // the last one is counted out before the cut-off
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons`).set(merchant.auth).send({ addonId: beans.id, quantity: 1 }).expect(200);
    const next = subscription.nextCharge;

    clock.set(plus(next.cutoffAt, 60_000));
    await driver.runCutoffs();
    expect(await orders(subscription.id)).toEqual([
      expect.objectContaining({ cycleKey: next.cycleKey, status: 'cancelled', cancellationReason: 'out_of_stock', amountPaidMinor: 0 }),
    ]);
    expect((await request(app).get(`/api/v1/addons/${beans.id}`).set(merchant.auth).expect(200)).body.stock).toEqual({ tracked: true, onHand: 3, reserved: 0 });
    const after = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    expect(after.upcomingCycles.find((c: { cycleKey: string }) => c.cycleKey === next.cycleKey)).toMatchObject({ state: 'skipped' });
    expect(after.history.map((e: { type: string }) => e.type)).toContain('subscription.box_skipped');
    // The cancellation names the SKU that was out of stock and its units, for the fill-rate analytics.
    const cancelled = (await factsAbout({ subscriptionId: subscription.id })).filter((f) => f.type === 'box.cancelled');
    expect(cancelled.map((f) => [f.data.reason, f.data.sku, f.data.quantity])).toEqual([['out_of_stock', a!.sku, 1]]);
    expect(await queuedMessages({ subscriptionId: subscription.id, template: { $in: ['box.skipped_out_of_stock', 'box.stock_adjusted'] } })).toEqual([
      expect.objectContaining({
        template: 'box.skipped_out_of_stock',
        text: expect.stringContaining('You will not be charged for it, and your subscription goes on'),
      }),
    ]);

    // No charge: Stripe is told to pause collection for that cycle (its invoice is voided), keyed by revision and cycle.
    await driver.syncStripe();
    expect(updates.at(-1)).toEqual({
      input: expect.objectContaining({ pauseCollection: { resumesAt: new Date(after.nextCharge.cutoffAt) } }),
      key: `subscription:${subscription.id}:sync:r${(await SubscriptionModel.findById(subscription.id).lean())!.revision}:${next.cycleKey}`,
    });

    // Restocked before the next cut-off: the next box is built as usual.
    await receiveStock(app, merchant, a!.sku, 4);
    clock.set(plus(after.nextCharge.cutoffAt, 60_000));
    await driver.runCutoffs();
    expect((await orders(subscription.id)).map((o) => [o.cycleKey, o.status])).toEqual([
      [next.cycleKey, 'cancelled'],
      [after.nextCharge.cycleKey, 'reserved'],
    ]);
  });

  test('when Stripe stops retrying a failed payment, then the held box is cancelled and its stock returns', async () => {
    const { clock, app, merchant, driver } = await setUp('2026-01-15T15:30:00Z');
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const [a] = plan.variants as Array<{ id: string; sku: string }>;
    await receiveStock(app, merchant, a!.sku, 2);
    const subscription = await subscribe(app, merchant, plan.id, a!.id);
    const next = subscription.nextCharge;
    clock.set(plus(next.cutoffAt, 60_000));
    await driver.runCutoffs();
    clock.set(plus(next.chargeAt, 5_000));
    await driver.fail(subscription.stripeSubscriptionId, new Date(next.chargeAt), 'in_feb', 1);
    expect((await request(app).get(`/api/v1/stock-items/${a!.sku}`).set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 1, reserved: 1 });

    clock.set(plus(next.chargeAt, 20 * 86_400_000));
    await driver.deliver('customer.subscription.updated', { id: subscription.stripeSubscriptionId, object: 'subscription', status: 'unpaid' });
    await driver.runCutoffs();
    expect(await orders(subscription.id)).toEqual([expect.objectContaining({ status: 'cancelled', cancellationReason: 'payment_failed' })]);
    expect((await request(app).get(`/api/v1/stock-items/${a!.sku}`).set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 2, reserved: 0 });
    // A payment Stripe reports afterwards is recorded on the cancelled box, for the merchant to refund.
    await driver.pay(subscription.stripeSubscriptionId, new Date(next.chargeAt), 2600, 'in_feb');
    expect(await orders(subscription.id)).toEqual([expect.objectContaining({ status: 'cancelled', stripeInvoiceId: 'in_feb', amountPaidMinor: 2600 })]);
  });

  test('when a shopper cancels at period end after the cut-off and then reactivates, then the box built for that cycle is kept and paid', async () => {
    const { clock, app, merchant, driver } = await setUp('2026-01-15T15:30:00Z');
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const [a] = plan.variants as Array<{ id: string; sku: string }>;
    await receiveStock(app, merchant, a!.sku, 3);
    const subscription = await subscribe(app, merchant, plan.id, a!.id);
    const next = subscription.nextCharge;
    clock.set(plus(next.cutoffAt, 60_000));
    await driver.runCutoffs();
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cancel`).set(merchant.auth).send({ mode: 'period_end', reason: 'other' }).expect(200);
    await driver.runCutoffs();
    expect(await orders(subscription.id)).toEqual([expect.objectContaining({ status: 'reserved' })]); // it can still be undone
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/reactivate`).set(merchant.auth).send({}).expect(200);
    await driver.runCutoffs();
    clock.set(plus(next.chargeAt, 5_000));
    await driver.pay(subscription.stripeSubscriptionId, new Date(next.chargeAt), 2600, 'in_kept');
    expect(await orders(subscription.id)).toEqual([expect.objectContaining({ status: 'paid', stripeInvoiceId: 'in_kept' })]);
    expect((await request(app).get(`/api/v1/stock-items/${a!.sku}`).set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 2, reserved: 1 });
  });

  test('when a later invoice fails while an earlier one is still retried, then the earlier box stays held until its invoice is voided', async () => {
    const { clock, app, merchant, driver } = await setUp('2026-01-15T15:30:00Z');
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const [a] = plan.variants as Array<{ id: string; sku: string }>;
    await receiveStock(app, merchant, a!.sku, 5);
    const subscription = await subscribe(app, merchant, plan.id, a!.id);
    const stripeId = subscription.stripeSubscriptionId;
    const february = subscription.nextCharge;
    clock.set(plus(february.cutoffAt, 60_000));
    await driver.runCutoffs();
    clock.set(plus(february.chargeAt, 5_000));
    await driver.fail(stripeId, new Date(february.chargeAt), 'in_feb_retried', 1);
    // Stripe still retries February's invoice; March's is created and fails too.
    const march = { chargeAt: '2026-03-15T14:30:00.000Z' };
    clock.set(plus(march.chargeAt, 5_000));
    await driver.fail(stripeId, new Date(march.chargeAt), 'in_mar_retried', 1);
    await driver.runCutoffs();
    expect((await orders(subscription.id)).map((o) => [o.cycleKey, o.status])).toEqual([
      ['2026-02-15', 'held'],
      ['2026-03-15', 'held'],
    ]);
    await driver.deliver('invoice.voided', { id: 'in_feb_retried', object: 'invoice', status: 'void' });
    expect((await orders(subscription.id)).map((o) => [o.cycleKey, o.status, o.cancellationReason ?? null])).toEqual([
      ['2026-02-15', 'cancelled', 'invoice_voided'],
      ['2026-03-15', 'held', null],
    ]);
    expect((await request(app).get(`/api/v1/stock-items/${a!.sku}`).set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 4, reserved: 1 });
  });
});
