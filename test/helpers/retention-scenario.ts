import request from 'supertest';
import { BoxOrderModel, type BoxOrder } from '../../src/orders/box-order.model';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant } from '../factories/merchant.factory';
import type { SignUpBody } from '../../src/merchants/merchant.schemas';
import type { CreateAddonBody } from '../../src/addons/addon.schemas';
import type { CreateCustomerBody } from '../../src/customers/customer.schemas';
import type { CreatePlanBody } from '../../src/plans/plan.schemas';
import { followFacts } from './facts';
import { recordingGateway } from './recording-gateway';
import { renewalDriver } from './renewal-driver';
import { buildTestApp, recordStripeCalls } from './test-app';
import { silentLogger, testStripe } from './test-env';

const MINUTE = 60_000;
const plus = (instant: string | Date, ms: number) => new Date(new Date(instant).getTime() + ms);

export interface ScenarioSubscription {
  id: string;
  customerId: string;
  stripeSubscriptionId: string;
}

/**
 * A merchant on a fake clock with the real app, Stripe calls recorded, and the renewal driver: the retention
 * scenarios (offers, perks, loyalty) build boxes at their cut-off with the real job and pay them with signed
 * `invoice.paid` events through the real endpoint, as test/scenarios/retention.test.ts does.
 */
export async function retentionScenario(start: string, merchantInput: Partial<SignUpBody> = {}) {
  const clock = new FakeClock(start);
  // The gateway's own client, so the requests it sends are recorded too (coupons, subscriptions...).
  const gatewayClient = testStripe();
  const stripeCalls = recordStripeCalls(gatewayClient);
  const recording = recordingGateway(createStripeGateway(gatewayClient));
  const testApp = buildTestApp({ clock, stripeGateway: recording.gateway });
  const { app } = testApp;
  const driver = renewalDriver(testApp, recording.gateway);
  const merchant = await createMerchant({ timezone: 'America/New_York', ...merchantInput }, clock);
  const jobDeps = { clock, logger: silentLogger };

  /** Calls the API as the merchant and expects `status`; returns the body. */
  async function call(method: 'get' | 'post' | 'put' | 'patch', path: string, body: unknown, status: number) {
    const req = request(app)[method](`/api/v1${path}`).set(merchant.auth);
    const res = await (body === undefined ? req : req.send(body as object));
    if (res.status !== status) throw new Error(`${method.toUpperCase()} ${path} answered ${res.status}, not ${status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  const createPlan = async (input: Partial<CreatePlanBody> = {}) => call('post', '/plans', buildPlanInput(input), 201);
  const createAddon = async (input: Partial<CreateAddonBody> = {}) => call('post', '/addons', buildAddonInput({ stock: null, ...input }), 201);

  /** A new customer subscribes monthly with a saved card; each subscription gets its own Stripe id (stripe-mock gives one to all). */
  async function subscribe(
    plan: { id: string; variants: Array<{ id: string }> },
    extra: Record<string, unknown> = {},
    customer: Partial<CreateCustomerBody> | { id: string } = {},
  ): Promise<ScenarioSubscription> {
    const customerId = 'id' in customer ? customer.id : ((await call('post', '/customers', buildCustomerInput(customer), 201)).id as string);
    const created = await call(
      'post',
      '/subscriptions',
      { customerId, planId: plan.id, variantId: plan.variants[0]!.id, cadence: 'month-1', paymentMethodId: 'pm_card_visa', ...extra },
      201,
    );
    const stripeSubscriptionId = `sub_${(created.id as string).slice(4)}`;
    await SubscriptionModel.updateOne({ _id: created.id }, { $set: { 'stripe.subscriptionId': stripeSubscriptionId } });
    return { id: created.id, customerId, stripeSubscriptionId };
  }

  const nextCharge = async (subscription: ScenarioSubscription) =>
    (await call('get', `/subscriptions/${subscription.id}`, undefined, 200)).nextCharge as { cycleKey: string; chargeAt: string; cutoffAt: string };

  /** When each box built here is charged (Stripe's period start). */
  const chargeAtOf = new Map<string, Date>();

  /**
   * The cut-off of the next box of these subscriptions (all on one calendar) comes: the job builds every due
   * box (run twice: a second worker changes nothing). Returns each one's box, in the order given.
   */
  async function buildNextBoxes(subscriptions: ScenarioSubscription[]): Promise<BoxOrder[]> {
    const next = await nextCharge(subscriptions[0]!);
    clock.set(plus(next.cutoffAt, MINUTE));
    await driver.runCutoffs();
    await driver.runCutoffs();
    const orders: BoxOrder[] = [];
    for (const subscription of subscriptions) {
      const order = await BoxOrderModel.findOne({ subscriptionId: subscription.id, cycleKey: next.cycleKey }).lean();
      if (!order) throw new Error(`no box built for ${subscription.id} ${next.cycleKey}`);
      chargeAtOf.set(order._id, new Date(next.chargeAt));
      orders.push(order);
    }
    return orders;
  }

  const buildNextBox = async (subscription: ScenarioSubscription): Promise<BoxOrder> => (await buildNextBoxes([subscription]))[0]!;

  /** Stripe charges each box's cycle what the box asks: a signed `invoice.paid` each, delivered twice (a replay). */
  async function payBoxes(subscriptions: ScenarioSubscription[], orders: BoxOrder[]): Promise<BoxOrder[]> {
    const paid: BoxOrder[] = [];
    for (const [index, order] of orders.entries()) {
      const at = chargeAtOf.get(order._id)!;
      if (clock.now() < plus(at, 5_000)) clock.set(plus(at, 5_000));
      await driver.syncStripe();
      for (let delivery = 0; delivery < 2; delivery += 1) {
        const status = await driver.pay(subscriptions[index]!.stripeSubscriptionId, at, order.amountDueMinor, `in_${order._id}`);
        if (status !== 200) throw new Error(`invoice.paid answered ${status}`);
      }
      await followFacts(clock, recording.gateway); // what follows a paid box: points, a referrer's reward
      paid.push((await BoxOrderModel.findById(order._id).lean())!);
    }
    return paid;
  }

  /** One renewal of these subscriptions (one calendar): their boxes are built at the cut-off, then each is paid. */
  async function renewAll(subscriptions: ScenarioSubscription[]): Promise<BoxOrder[]> {
    return payBoxes(subscriptions, await buildNextBoxes(subscriptions));
  }

  const renew = async (subscription: ScenarioSubscription): Promise<BoxOrder> => (await renewAll([subscription]))[0]!;

  /** The first box, paid at sign-up (Stripe charged it when the subscription was created): `invoice.paid`, delivered twice. */
  async function payFirstBox(subscription: ScenarioSubscription, amountMinor: number): Promise<BoxOrder> {
    for (let delivery = 0; delivery < 2; delivery += 1) {
      const status = await driver.pay(subscription.stripeSubscriptionId, clock.now(), amountMinor, `in_first_${subscription.id}`);
      if (status !== 200) throw new Error(`invoice.paid answered ${status}`);
    }
    await followFacts(clock, recording.gateway);
    return (await BoxOrderModel.findOne({ subscriptionId: subscription.id }).sort({ cycleKey: 1 }).lean())!;
  }

  return {
    clock,
    app,
    stripeCalls,
    merchant,
    driver,
    recording,
    jobDeps,
    call,
    createPlan,
    createAddon,
    subscribe,
    nextCharge,
    buildNextBoxes,
    buildNextBox,
    payBoxes,
    renewAll,
    renew,
    payFirstBox,
  };
}

/** A box's lines as the tests compare them: what each is, costs, and what granted it. */
export function linesOf(order: Pick<BoxOrder, 'lines'>) {
  return order.lines.map((line) => ({
    kind: line.kind,
    description: line.description,
    amountMinor: line.amountMinor,
    ...(line.grantedBy ? { grantedBy: { ...line.grantedBy } } : {}),
  }));
}
