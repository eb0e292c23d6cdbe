import request from 'supertest';
import type { Express } from 'express';
import { buildCustomerInput, buildPlanInput } from './catalog.factory';
import type { TestMerchant } from './merchant.factory';
import type { CreatePlanBody } from '../../src/plans/plan.schemas';

export interface SubscribedShopper {
  planId: string;
  variantIds: string[];
  customerId: string;
  subscription: { id: string; [key: string]: unknown };
}

/** A plan and a customer of the merchant, through the API, and a subscription with a saved card. */
export async function subscribeShopper(
  app: Express,
  merchant: TestMerchant,
  plan: Partial<CreatePlanBody> = {},
  cadence = 'month-1',
): Promise<SubscribedShopper> {
  const created = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput(plan)).expect(201)).body;
  const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
  const subscription = (
    await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer.id, planId: created.id, variantId: created.variants[0].id, cadence, paymentMethodId: 'pm_card_visa' })
      .expect(201)
  ).body;
  return { planId: created.id, variantIds: created.variants.map((v: { id: string }) => v.id), customerId: customer.id, subscription };
}
