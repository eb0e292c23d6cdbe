import { Router } from 'express';
import { z } from 'zod';
import { FACT_TYPES } from '../../events/fact-types';
import { listTimeline } from '../../events/timeline.service';
import type { SubscriptionDeps } from '../../subscriptions/subscription.service';
import { describeFact, SECRET_FACTS, whoDid } from './fact-wording';
import { PageCursor, sentence, subscriptionHeader } from './history-view';
import { portalPlace, shopperSubscription } from './portal-access';
import { dateTimeIn } from './portal-format';
import { localeOf } from './shop-view';

/**
 * `/shop/<handle>/subscriptions/<id>/activity`: the subscription's timeline, newest first, a page at a time —
 * who did what (you, the store, Stripe, the system) and when, in the store's time zone. A surprise gift's facts
 * stay out until its box is delivered (`gift.delivered` says what it was).
 */
export interface ActivityPageDeps {
  subscriptions: SubscriptionDeps;
}

const PAGE_SIZE = 25;
const SHOWN_TYPES = FACT_TYPES.filter((type) => !SECRET_FACTS.includes(type));
const ActivityQuery = z.object({ before: PageCursor.optional() });

export function activityPages(deps: ActivityPageDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;

  router.get('/shop/:handle/subscriptions/:id/activity', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const view = await shopperSubscription(deps.subscriptions, place, req.params.id);
    const query = ActivityQuery.safeParse(req.query);
    const before = query.success ? query.data.before : undefined;
    const locale = localeOf(req);
    const timezone = place.store.timezone;
    const page = await listTimeline(
      place.store._id,
      { subscriptionId: view.id },
      { limit: PAGE_SIZE, type: SHOWN_TYPES, ...(before ? { startingAfter: before } : {}) },
    );
    const path = `/shop/${place.store.handle}/subscriptions/${view.id}/activity`;
    res.render('shop/activity', {
      title: `Activity · ${view.box.planName}`,
      ...subscriptionHeader(place, view, 'activity'),
      timezone,
      facts: page.data.map((fact) => ({
        at: fact.at,
        when: dateTimeIn(fact.at, timezone, locale),
        who: whoDid(fact.actor, place.shopper.customerId),
        mine: fact.actor.kind === 'shopper',
        what: `${sentence(describeFact(fact.type, fact.data, { locale, timezone }))}.`,
      })),
      older: page.hasMore && page.nextCursor ? `${path}?before=${encodeURIComponent(page.nextCursor)}` : null,
      newest: before ? path : null,
    });
  });

  return router;
}
