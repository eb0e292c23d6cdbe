import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  acceptSaveOffer,
  canDo,
  cancelSubscription,
  listSaveOffers,
  recordSaveOfferShown,
  type SaveOffer,
  type SubscriptionDeps,
} from '../../subscriptions/subscription.service';
import { AcceptSaveOfferBody, CancelBody, type SubscriptionView } from '../../subscriptions/subscription.schemas';
import { subscriptionSettingsOf } from '../../subscriptions/subscription-settings';
import { readForm, type FieldErrors } from '../forms';
import { asShopper, portalPlace, shopperSubscription, type PortalPlace } from './portal-access';
import { FormRefusal, portalChange, subscriptionPath } from './portal-change';
import { dateIn } from './portal-format';
import { brandOf, localeOf, longDate } from './shop-view';

/**
 * Cancelling (`/shop/<handle>/subscriptions/<id>/cancel`), in three steps that all keep a way out: why (the
 * merchant's reasons and a comment), then one offer instead — the one that best answers the reason — with
 * "continue to cancel" beside it, then what will happen (when it ends, which boxes still come) before the
 * button that cancels. Nothing is kept between the steps but the form's own fields. Cancelling sets the
 * subscription to end when the period paid for ends (nothing more is charged, the boxes paid for still come,
 * and it can be reactivated until then); a subscription never paid ends at once.
 */
export interface CancelDeps {
  subscriptions: SubscriptionDeps;
}

const REASON_WORDS: Record<string, string> = {
  too_expensive: 'It costs too much',
  too_much_product: 'I have more than I can use',
  not_using_it: 'I am not using it',
  quality: 'I am not happy with the quality',
  shipping: 'Delivery did not work for me',
  switching_brand: 'I am switching to another brand',
  moving: 'I am moving',
  other: 'Another reason',
};

/** A reason code in words ("switching_brand" → its sentence; a merchant's own code, capitalised). */
export function reasonWords(code: string): string {
  const known = REASON_WORDS[code];
  if (known) return known;
  const words = code.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Which offers answer a reason best, in order; the merchant's order (skip, pause, discount) otherwise. */
const OFFERS_FOR_REASON: Record<string, Array<SaveOffer['type']>> = {
  too_expensive: ['discount', 'skip_next', 'pause'],
  too_much_product: ['skip_next', 'pause', 'discount'],
  not_using_it: ['pause', 'skip_next', 'discount'],
  moving: ['pause', 'skip_next', 'discount'],
  shipping: ['skip_next', 'pause', 'discount'],
};

/** The one offer to show for this reason, among those the subscription can take now. */
export function offerFor(reason: string, offers: SaveOffer[]): SaveOffer | undefined {
  const order = OFFERS_FOR_REASON[reason];
  if (!order) return offers[0];
  for (const type of order) {
    const offer = offers.find((o) => o.type === type);
    if (offer) return offer;
  }
  return offers[0];
}

const ReasonForm = z.strictObject({
  reason: z.string({ error: 'Choose a reason' }).min(1, { error: 'Choose a reason' }).pipe(CancelBody.shape.reason),
  comment: z
    .string()
    .trim()
    .max(1000, { error: 'Keep it under 1,000 characters' })
    .optional()
    .transform((comment) => comment || undefined)
    .pipe(CancelBody.shape.comment),
});
type ReasonForm = z.output<typeof ReasonForm>;
const SaveForm = z.strictObject({
  type: z.string().pipe(AcceptSaveOfferBody.shape.type),
  reason: z.string().max(64).optional(),
  comment: z.string().max(1000).optional(),
});

type Step = 'reason' | 'offer' | 'confirm';

export function cancelPages(deps: CancelDeps): Router {
  const router = Router();
  const subscriptions = deps.subscriptions;
  const clock = subscriptions.clock;

  function reasonsOf(place: PortalPlace): string[] {
    return subscriptionSettingsOf(place.store).cancellationReasons;
  }

  /** The reason must be one of the merchant's (the service says so too; here it is said beside the field). */
  function checkReason(place: PortalPlace, form: ReasonForm): void {
    if (!reasonsOf(place).includes(form.reason)) throw new FormRefusal(400, { reason: 'Choose one of the reasons shown' });
  }

  /** Shows one step of cancelling, in the shopper's language. */
  function showStep(
    locale: string,
    res: Response,
    place: PortalPlace,
    view: SubscriptionView,
    step: Step,
    options: { status?: number; errors?: FieldErrors; values?: Record<string, unknown>; offer?: SaveOffer | undefined } = {},
  ): void {
    const tz = place.store.timezone;
    const now = clock.now();
    const values = options.values ?? {};
    const text = (key: string) => (typeof values[key] === 'string' ? values[key] : '');
    const next = view.upcomingCycles.find((cycle) => new Date(cycle.chargeAt) > now);
    const endsNow = view.status === 'incomplete';
    const offer = options.offer;
    res.status(options.status ?? 200).render('shop/cancel', {
      title: 'Cancel your subscription',
      brand: brandOf(place.store),
      base: subscriptionPath(place, view.id),
      name: view.box.planName,
      step,
      canCancel: canDo(view.status, 'cancel') && view.cancellation === null,
      endsOn: view.cancellation ? dateIn(view.cancellation.effectiveAt, tz, locale) : null,
      errors: options.errors ?? {},
      reasons: reasonsOf(place).map((code) => ({ code, words: reasonWords(code) })),
      reason: text('reason'),
      reasonWords: text('reason') ? reasonWords(text('reason')) : '',
      comment: text('comment'),
      offer: offer ? offerView(offer, locale) : null,
      outcome: {
        endsNow,
        endsOn: next && !endsNow ? dateIn(next.chargeAt, tz, locale) : null,
        paused: view.status === 'paused',
      },
    });
  }

  function offerView(offer: SaveOffer, locale: string) {
    const date = offer.cycleKey ? longDate(offer.cycleKey, locale) : '';
    switch (offer.type) {
      case 'skip_next':
        return { type: offer.type, title: `Skip your box of ${date} instead`, detail: 'Nothing is charged for it, and your subscription goes on after it.' };
      case 'pause':
        return {
          type: offer.type,
          title: `Pause for ${offer.cycles} ${offer.cycles === 1 ? 'box' : 'boxes'} instead`,
          detail: 'It resumes by itself; you can resume sooner, or cancel later.',
        };
      case 'discount':
        return {
          type: offer.type,
          title: `Take ${offer.percentOff}% off your box of ${date}`,
          detail: 'Once, on that box; your subscription goes on as it is.',
        };
    }
  }

  router.get('/shop/:handle/subscriptions/:id/cancel', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    showStep(localeOf(req), res, place, await shopperSubscription(subscriptions, place, req.params.id), 'reason');
  });

  /** A step that shows the next page (nothing changes): check the reason, then show the offer or the confirmation. */
  function step(path: string, show: (req: Request, res: Response, place: PortalPlace, view: SubscriptionView, form: ReasonForm) => Promise<void> | void) {
    router.post(`/shop/:handle/subscriptions/:id/${path}`, async (req, res) => {
      const place = await portalPlace(clock, req, res);
      if (!place) return;
      const view = await shopperSubscription(subscriptions, place, req.params.id);
      const values = { ...((req.body ?? {}) as Record<string, unknown>) };
      const form = readForm(ReasonForm, req.body);
      if (!form.ok) return showStep(localeOf(req), res, place, view, 'reason', { status: 400, errors: form.errors, values });
      try {
        checkReason(place, form.value);
      } catch (error) {
        if (error instanceof FormRefusal) return showStep(localeOf(req), res, place, view, 'reason', { status: error.status, errors: error.errors, values });
        throw error;
      }
      await show(req, res, place, view, form.value);
    });
  }

  step('cancel/offer', async (req, res, place, view, form) => {
    const values = { reason: form.reason, comment: form.comment ?? '' };
    const offers = await listSaveOffers(subscriptions, place.store._id, view.id);
    const offer = offerFor(form.reason, offers);
    // The offer shown is recorded (a fact, for the save-offer metrics); nothing else changes.
    if (offer) await recordSaveOfferShown(asShopper(subscriptions, place), place.store._id, view.id, { type: offer.type, reason: form.reason });
    showStep(localeOf(req), res, place, view, offer ? 'offer' : 'confirm', { values, offer });
  });

  step('cancel/confirm', (req, res, place, view, form) => {
    showStep(localeOf(req), res, place, view, 'confirm', { values: { reason: form.reason, comment: form.comment ?? '' } });
  });

  /** Taking the offer instead of cancelling: the offer's own change (a skip, a pause, the discount) with its receipt. */
  portalChange(router, subscriptions, {
    path: 'cancel/save',
    schema: SaveForm,
    show: (req, res, place, view, refusal) => {
      const errors = refusal.errors._form ? refusal.errors : { _form: 'This offer is not available any more.' };
      showStep(localeOf(req), res, place, view, 'reason', { status: refusal.status, errors, values: refusal.values });
    },
    act: async (as, place, view, input) => acceptSaveOffer(as, place.store._id, view.id, { type: input.type }),
  });

  /** The last step: cancel, then the subscription's page says until when, with undo and reactivate. */
  portalChange(router, subscriptions, {
    path: 'cancel',
    schema: ReasonForm,
    show: (req, res, place, view, refusal) => showStep(localeOf(req), res, place, view, 'reason', refusal),
    act: async (as, place, view, input) => {
      checkReason(place, input);
      // At the end of the period paid for (a subscription never paid ends now: the service decides that).
      return cancelSubscription(as, place.store._id, view.id, { mode: 'period_end', ...input });
    },
  });

  return router;
}
