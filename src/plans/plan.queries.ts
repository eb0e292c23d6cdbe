import { PlanModel, type Plan } from './plan.model';

/** What other domains may read of a merchant's plans: narrow, merchant-scoped reads. Nothing here writes. */

export async function findPlan(merchantId: string, planId: string): Promise<Plan | undefined> {
  return (await PlanModel.findOne({ _id: planId, merchantId }).lean()) ?? undefined;
}

/** The merchant's active plans, oldest first (a storefront's catalog). */
export async function activePlansOf(merchantId: string): Promise<Plan[]> {
  return PlanModel.find({ merchantId, status: 'active' }).sort({ createdAt: 1, _id: 1 }).lean();
}

/** Which of these plan ids are not the merchant's (none: all are). */
export async function plansNotOf(merchantId: string, planIds: readonly string[]): Promise<string[]> {
  const unique = [...new Set(planIds)];
  if (unique.length === 0) return [];
  const found = new Set((await PlanModel.find({ merchantId, _id: { $in: unique } }, { _id: 1 }).lean()).map((plan) => plan._id));
  return unique.filter((id) => !found.has(id));
}

/** Whether one of the merchant's plans has a variant with this SKU. */
export async function isPlanVariantSku(merchantId: string, sku: string): Promise<boolean> {
  return (await PlanModel.exists({ merchantId, 'variants.sku': sku })) !== null;
}

/** These plans of the merchant (those that exist), in no particular order. */
export async function findPlans(merchantId: string, planIds: readonly string[]): Promise<Plan[]> {
  if (planIds.length === 0) return [];
  return PlanModel.find({ _id: { $in: [...new Set(planIds)] }, merchantId }).lean();
}
