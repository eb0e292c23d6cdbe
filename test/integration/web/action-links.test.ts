import request from 'supertest';
import { FactModel } from '../../../src/events/fact.model';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { prepareDueBoxes } from '../../../src/renewals/renewal.service';
import { signActionToken } from '../../../src/shared/action-tokens';
import { installationSecret } from '../../../src/shared/installation-secret';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { coreAnswers } from '../../../src/wiring';
import { buildAddonInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { factsAbout } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp, type TestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';
import { longDate } from '../../../src/web/shop/shop-view';

/**
 * Links in e-mails land on `/a/<token>`: opening one changes nothing; its page's button (with a CSRF token)
 * does the one thing the link names, as the shopper; a second click says it is done; the receipt offers undo.
 */
const THREE_VARIANTS = {
  variants: [
    { name: 'Dark', sku: 'AL-DARK' },
    { name: 'Medium', sku: 'AL-MEDIUM' },
    { name: 'Light', sku: 'AL-LIGHT' },
  ],
};

async function setUp() {
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const testApp = buildTestApp({ clock });
  const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
  const shopper = await subscribeShopper(testApp.app, merchant, THREE_VARIANTS);
  const link = async (action: string, data: Record<string, string> = {}, options: { subjectId?: string; merchantId?: string; expiresAt?: Date } = {}) =>
    `/a/${signActionToken(await installationSecret('action-links', undefined, clock.now()), {
      action,
      merchantId: options.merchantId ?? merchant.id,
      subjectId: options.subjectId ?? shopper.subscription.id,
      data,
      expiresAt: options.expiresAt ?? new Date(clock.now().getTime() + 7 * 86_400_000),
    })}`;
  const view = async () => (await request(testApp.app).get(`/api/v1/subscriptions/${shopper.subscription.id}`).set(merchant.auth).expect(200)).body;
  return { clock, testApp, app: testApp.app, merchant, shopper, link, view };
}

async function stock(app: TestApp['app'], merchant: TestMerchant, sku: string, units: number) {
  await request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send({ adjustBy: units, reason: 'count' }).expect(200);
}

describe('action links from e-mails', () => {
  useTestDatabase();

  test('when the shopper opens a skip link, then nothing changes until they press the button; then the box is skipped once, by them, and undo brings it back', async () => {
    const { app, link, view, shopper } = await setUp();
    const cycleKey = (await view()).nextCharge.cycleKey as string;
    const browser = pageClient(app);
    const skipLink = await link('subscription.skip', { cycleKey });
    const page = await browser.get(skipLink);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`Skip your box of ${longDate(cycleKey, 'en-US')}?`);
    expect(page.text).toContain('Bean There');
    expect((await view()).upcomingCycles.find((c: { cycleKey: string }) => c.cycleKey === cycleKey).state).toBe('scheduled');

    const done = await browser.post(skipLink, {});
    expect(done.status).toBe(200);
    expect(done.text).toContain(`Your box of ${longDate(cycleKey, 'en-US')} is skipped`);
    expect((await view()).upcomingCycles.find((c: { cycleKey: string }) => c.cycleKey === cycleKey).state).toBe('skipped');
    const again = await browser.post(skipLink, {});
    expect(again.text).toContain(`Your box of ${longDate(cycleKey, 'en-US')} is skipped.`);
    const skipped = (await factsAbout({ subjectId: shopper.subscription.id })).filter((f) => f.type === 'subscription.skipped');
    expect(skipped.map((f) => [f.actor.kind, f.actor.id])).toEqual([['shopper', shopper.customerId]]);

    const undo = /<a href="(\/a\/[^"]+)">Undo<\/a>/.exec(done.text)![1]!;
    await browser.get(undo);
    const undone = await browser.post(undo, {});
    expect(undone.text).toContain(`Your box of ${longDate(cycleKey, 'en-US')} is coming after all.`);
    expect((await view()).upcomingCycles.find((c: { cycleKey: string }) => c.cycleKey === cycleKey).state).toBe('scheduled');
  });

  test('when a link is expired, forged, for another store, or pressed without the form token, then nothing happens and the page says why', async () => {
    const { app, link, view, clock } = await setUp();
    const other = await createMerchant({}, clock);
    const cycleKey = (await view()).nextCharge.cycleKey as string;
    const browser = pageClient(app);
    const expired = await browser.get(await link('subscription.skip', { cycleKey }, { expiresAt: new Date(clock.now().getTime() - 1000) }));
    expect(expired.status).toBe(410);
    expect(expired.text).toContain('This link has expired');
    const good = await link('subscription.skip', { cycleKey });
    const forged = await browser.get(`${good.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(400);
    const foreign = await browser.get(await link('subscription.skip', { cycleKey }, { merchantId: other.id }));
    expect(foreign.status).toBe(404);
    await browser.get(good);
    const noToken = await browser.post(good, {}, { csrf: null });
    expect(noToken.status).toBe(403);
    expect((await view()).upcomingCycles.every((c: { state: string }) => c.state !== 'skipped')).toBe(true);
  });

  test('when a delivered box is rated from its link, then the rating is kept on the order and recorded once per rating; a box not delivered cannot be', async () => {
    const { app, link, merchant, shopper, testApp, clock } = await setUp();
    const driver = renewalDriver(testApp, createStripeGateway(testStripe()));
    await driver.pay(shopper.subscription.stripeSubscriptionId as string, clock.now(), 2600);
    const order = (await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id }).lean())!;
    const browser = pageClient(app);
    const rateLink = await link('box.rate', { orderId: order._id });
    await browser.get(rateLink);
    const early = await browser.post(rateLink, { score: '5' });
    expect(early.status).toBe(409);
    expect(early.text).toContain('once it is delivered');

    await request(app).post(`/api/v1/orders/${order._id}/ship`).set(merchant.auth).send({ carrier: 'USPS', trackingNumber: '9400' }).expect(200);
    await request(app).post(`/api/v1/orders/${order._id}/deliver`).set(merchant.auth).send({}).expect(200);
    await browser.get(rateLink);
    const missing = await browser.post(rateLink, { comment: 'Nice' });
    expect(missing.status).toBe(400);
    expect(missing.text).toMatch(/id="score-error">Choose from 1 to 5 stars</);
    const rated = await browser.post(rateLink, { score: '4', comment: "Lovely, but O'Neil's beans were <b>bold</b>" });
    expect(rated.text).toContain('you rated your box');
    const api = (await request(app).get(`/api/v1/orders/${order._id}`).set(merchant.auth).expect(200)).body;
    expect(api.rating).toEqual({ score: 4, comment: "Lovely, but O'Neil's beans were <b>bold</b>", ratedAt: '2026-03-02T15:30:00.000Z' });
    expect((await factsAbout({ subjectId: order._id })).filter((f) => f.type === 'box.rated').map((f) => [f.actor.kind, f.data.score])).toEqual([
      ['shopper', 4],
    ]);
  });

  test('when a box was substituted at its cut-off, then the shopper can choose another variant for it (stock moves) or decline it (skipped, not charged)', async () => {
    const { app, link, merchant, shopper, view, clock } = await setUp();
    await stock(app, merchant, 'AL-DARK', 1);
    await stock(app, merchant, 'AL-DARK', -1); // theirs: sold out
    await stock(app, merchant, 'AL-MEDIUM', 2);
    await stock(app, merchant, 'AL-LIGHT', 2);
    await request(app)
      .post(`/api/v1/subscriptions/${shopper.subscription.id}/second-choice`)
      .set(merchant.auth)
      .send({ variantId: shopper.variantIds[1] })
      .expect(200);
    const next = (await view()).nextCharge;
    clock.set(new Date(Date.parse(next.cutoffAt) + 60_000));
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger, extras: coreAnswers({ clock }).boxExtras };
    await prepareDueBoxes(deps);
    const built = (await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id, cycleKey: next.cycleKey }).lean())!;
    expect(built.lines[0]).toMatchObject({ sku: 'AL-MEDIUM', substitutedFor: { rule: 'second_choice' } });

    const browser = pageClient(app);
    const choose = await link('box.choose-variant', { cycleKey: next.cycleKey });
    const page = await browser.get(choose);
    expect(page.text).toContain('Light');
    const chosen = await browser.post(choose, { variantId: shopper.variantIds[2]! });
    expect(chosen.text).toContain(': Light');
    const after = (await BoxOrderModel.findById(built._id).lean())!;
    expect(after.lines[0]).toMatchObject({ sku: 'AL-LIGHT', stock: 'reserved', substitutedFor: { rule: 'shopper_choice', sku: 'AL-DARK' } });
    const stockOf = async (sku: string) => (await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(200)).body;
    expect(await stockOf('AL-MEDIUM')).toMatchObject({ onHand: 2, reserved: 0 });
    expect(await stockOf('AL-LIGHT')).toMatchObject({ onHand: 1, reserved: 1 });

    const decline = await link('box.decline', { cycleKey: next.cycleKey });
    await browser.get(decline);
    const declined = await browser.post(decline, {});
    expect(declined.text).toContain('is skipped');
    expect(await BoxOrderModel.findById(built._id).lean()).toMatchObject({ status: 'cancelled', cancellationReason: 'declined_by_shopper' });
    expect(await stockOf('AL-LIGHT')).toMatchObject({ onHand: 2, reserved: 0 });
    expect((await view()).upcomingCycles.find((c: { cycleKey: string }) => c.cycleKey === next.cycleKey)?.state ?? 'skipped').toBe('skipped');
    expect(
      await FactModel.countDocuments({ subjectId: shopper.subscription.id, type: 'subscription.box_skipped', 'data.reason': 'declined_adjusted_box' }),
    ).toBe(1);
  });

  test('when the shopper undoes a pause from its link, then the subscription is active again, recorded as their change', async () => {
    const { app, link, merchant, shopper, view } = await setUp();
    await request(app).post(`/api/v1/subscriptions/${shopper.subscription.id}/pause`).set(merchant.auth).send({ cycles: 2 }).expect(200);
    const paused = (await factsAbout({ subjectId: shopper.subscription.id })).find((f) => f.type === 'subscription.paused')!;
    const browser = pageClient(app);
    const undo = await link('subscription.undo', { factId: paused._id });
    expect((await browser.get(undo)).text).toContain('Undo this change?');
    const done = await browser.post(undo, {});
    expect(done.text).toContain('Undone: the subscription was paused');
    expect((await view()).status).toBe('active');
    expect((await factsAbout({ subjectId: shopper.subscription.id })).at(-1)).toMatchObject({
      type: 'subscription.resumed',
      actor: { kind: 'shopper', id: shopper.customerId },
    });
    const again = await browser.post(undo, {});
    expect(again.status).toBe(409);
  });

  test('when the shopper adds an extra from the upcoming-box link, then the page offers the extras in stock, and the one chosen is in that box, added by them, with an undo', async () => {
    const { app, link, merchant, shopper, view } = await setUp();
    const mug = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Ceramic mug', stock: 5 }))
        .expect(201)
    ).body;
    await request(app)
      .post('/api/v1/addons')
      .set(merchant.auth)
      .send(buildAddonInput({ name: 'Sold-out tin', stock: 0 }))
      .expect(201);
    const cycleKey = (await view()).nextCharge.cycleKey as string;
    const browser = pageClient(app);
    const add = await link('subscription.add-extra', { cycleKey });
    const page = await browser.get(add);
    expect(page.text).toContain(`Add an extra to your box of ${longDate(cycleKey, 'en-US')}?`);
    expect(page.text).toContain('Ceramic mug');
    expect(page.text).not.toContain('Sold-out tin');
    expect((await view()).addons).toEqual([]);

    const refused = await browser.post(add, { quantity: '1', kind: 'one_time' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('Choose an extra');
    const done = await browser.post(add, { addonId: mug.id, quantity: '2', kind: 'one_time' });
    expect(done.status).toBe(200);
    expect(done.text).toContain(`2 × Ceramic mug will be in your box of ${longDate(cycleKey, 'en-US')}.`);
    expect((await view()).addons).toEqual([expect.objectContaining({ addonId: mug.id, quantity: 2, kind: 'one_time', fromCycleKey: cycleKey })]);
    expect((await factsAbout({ subjectId: shopper.subscription.id })).at(-1)).toMatchObject({
      type: 'subscription.addon_added',
      actor: { kind: 'shopper', id: shopper.customerId },
    });

    const undo = /<a href="(\/a\/[^"]+)">Undo<\/a>/.exec(done.text)![1]!;
    await browser.get(undo);
    expect((await browser.post(undo, {})).text).toContain('Undone: an extra was added');
    expect((await view()).addons).toEqual([]);
  });

  test('when the shopper puts back their previous address from the change confirmation, then it is back, once; a newer change stands', async () => {
    const { app, link, merchant, shopper } = await setUp();
    const customer = () => request(app).get(`/api/v1/customers/${shopper.customerId}`).set(merchant.auth).expect(200);
    const before = (await customer()).body.shippingAddress;
    const moved = { line1: '2 New Street', city: 'Brooklyn', region: 'NY', postalCode: '11201', country: 'US' };
    await request(app).patch(`/api/v1/customers/${shopper.customerId}`).set(merchant.auth).send({ shippingAddress: moved }).expect(200);
    const changed = (await factsAbout({ subjectId: shopper.customerId })).find((f) => f.type === 'customer.address_changed')!;
    const browser = pageClient(app);
    const undo = await link('customer.undo', { factId: changed._id }, { subjectId: shopper.customerId });
    const page = await browser.get(undo);
    expect(page.text).toContain('Put back your previous shipping address?');
    expect(page.text).toContain(before.line1);
    expect((await customer()).body.shippingAddress).toMatchObject(moved);

    const done = await browser.post(undo, {});
    expect(done.text).toContain('Your previous shipping address is back');
    expect((await customer()).body.shippingAddress).toMatchObject({ line1: before.line1, postalCode: before.postalCode });
    const changes = (await factsAbout({ subjectId: shopper.customerId })).filter((f) => f.type === 'customer.address_changed');
    expect(changes.map((f) => [f.actor.kind, f.actor.id ?? null])).toEqual([
      ['merchant', expect.anything()],
      ['shopper', shopper.customerId],
    ]);
    expect((await browser.post(undo, {})).status).toBe(200);
    expect((await factsAbout({ subjectId: shopper.customerId })).filter((f) => f.type === 'customer.address_changed')).toHaveLength(2);

    await request(app).patch(`/api/v1/customers/${shopper.customerId}`).set(merchant.auth).send({ shippingAddress: moved }).expect(200);
    await request(app)
      .patch(`/api/v1/customers/${shopper.customerId}`)
      .set(merchant.auth)
      .send({ shippingAddress: { ...moved, line1: '3 Newer Street' } })
      .expect(200);
    const stale = await browser.post(undo, {});
    expect(stale.status).toBe(409);
    expect((await customer()).body.shippingAddress).toMatchObject({ line1: '3 Newer Street' });
  });

  test("when the shopper opens an update-card link, then it is about them (not a subscription): it leads to their failing invoice, else to their subscription's payment page", async () => {
    const { app, link, merchant, shopper } = await setUp();
    const browser = pageClient(app);
    const update = await link('payment.update-card', {}, { subjectId: shopper.customerId });
    const page = await browser.get(update);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Update your card');
    const { handle } = (await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body;
    expect(page.text).toContain(`/shop/${handle}/subscriptions/${shopper.subscription.id}/payment`);
    expect((await browser.get(await link('payment.update-card', {}, { subjectId: 'cust_00000000000000000000' }))).status).toBe(404);
  });
});
