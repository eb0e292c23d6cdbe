import type { Express } from 'express';
import request from 'supertest';
import { FakeClock } from '../../src/shared/time';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger } from '../helpers/test-env';
import { buildAddonInput } from './catalog.factory';
import { createMerchant, type TestMerchant } from './merchant.factory';
import { subscribeShopper, type SubscribedShopper } from './subscription.factory';

// A subscription made on Mar 1 (07:00 New York) charges on the 1st of each month; its April box locks on
// Mar 29 at 07:00 (11:00Z), so on Mar 28 at noon UTC it is within the default 48 hours before its cut-off.
export const SUBSCRIBED_AT = '2026-03-01T12:00:00Z';
export const BEFORE_APRIL_CUTOFF = '2026-03-28T12:00:00Z';

export interface GiftStore {
  clock: FakeClock;
  app: Express;
  merchant: TestMerchant;
  shopper: SubscribedShopper;
  addon: { id: string; name: string; sku: string };
  deps: { clock: FakeClock; logger: typeof silentLogger };
}

/** A New York store with one active subscription made through the API and a gift add-on in stock. */
export async function giftStore(): Promise<GiftStore> {
  const clock = new FakeClock(SUBSCRIBED_AT);
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const shopper = await subscribeShopper(app, merchant);
  await SubscriptionModel.updateOne({ _id: shopper.subscription.id }, { $set: { status: 'active' } });
  const addon = (
    await request(app)
      .post('/api/v1/addons')
      .set(merchant.auth)
      .send(buildAddonInput({ name: 'Tasting spoon', stock: 500 }))
      .expect(201)
  ).body;
  return { clock, app, merchant, shopper, addon, deps: { clock, logger: silentLogger } };
}

/** A campaign giving the store's add-on, through the API; activated unless `activate` is false. */
export async function createCampaign(store: GiftStore, overrides: Record<string, unknown> = {}, activate = true) {
  const body = {
    name: 'Spring thank-you',
    giftAddonIds: [store.addon.id],
    unitCostMinor: 300,
    stockBudget: 10,
    costBudgetMinor: 100_000,
    startsOn: '2026-03-01',
    ...overrides,
  };
  const campaign = (await request(store.app).post('/api/v1/gift-campaigns').set(store.merchant.auth).send(body).expect(201)).body;
  if (!activate) return campaign;
  return (await request(store.app).post(`/api/v1/gift-campaigns/${campaign.id}/activate`).set(store.merchant.auth).expect(200)).body;
}
