import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import type { SubscriptionDeps } from './subscription-deps';
import type { SubscriptionStatus } from './subscription-states';
import { findSubscription } from './subscription-store';
import { toSubscriptionView } from './subscription-views';
import { SubscriptionModel } from './subscription.model';
import type { SubscriptionView } from './subscription.schemas';

export async function getSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<SubscriptionView> {
  return toSubscriptionView(await findSubscription(merchantId, subscriptionId), deps.clock.now(), { history: true });
}

export async function listSubscriptions(
  deps: SubscriptionDeps,
  merchantId: string,
  query: {
    limit: number;
    startingAfter?: string | undefined;
    status?: SubscriptionStatus | undefined;
    planId?: string | undefined;
    customerId?: string | undefined;
  },
) {
  const filter = {
    merchantId,
    ...(query.status ? { status: query.status } : {}),
    ...(query.planId ? { 'box.planId': query.planId } : {}),
    ...(query.customerId ? { customerId: query.customerId } : {}),
    ...afterCursor(decodeCursor(query.startingAfter)),
  };
  const subscriptions = await SubscriptionModel.find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  const page = listPage(subscriptions, query.limit, (s) => s);
  const now = deps.clock.now();
  const data = await Promise.all(
    page.data.map(async (s) => {
      const { history: _history, ...view } = await toSubscriptionView(s, now, { history: false });
      return view;
    }),
  );
  return { ...page, data };
}
