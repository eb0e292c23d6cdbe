import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { latestFactOf } from '../../events/timeline.service';
import { AppError } from '../../shared/errors';
import type { SubscriptionDeps } from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { asShopper, portalPlace, shopperSubscription, type PortalPlace } from './portal-access';

/**
 * A change a shopper makes from a form of the portal: the form is checked, the change is made as the shopper
 * (its fact names them), and the answer is the subscription's page with the change's receipt and undo
 * (`?done=<factId>#receipt`, a redirect: a reload does not post twice). A refusal — the form's, or the
 * service's for an input or a state — is shown on the form's own page, beside its field or as an alert.
 */

/** The subscription's page in the portal. */
export function subscriptionPath(place: PortalPlace, id: string): string {
  return `/shop/${place.store.handle}/subscriptions/${id}`;
}

/** Redirects to the subscription's page with the receipt of the latest change (the one just made). */
export async function toReceipt(res: Response, place: PortalPlace, id: string): Promise<void> {
  const latest = await latestFactOf(place.store._id, id);
  res.redirect(303, `${subscriptionPath(place, id)}${latest ? `?done=${encodeURIComponent(latest._id)}` : ''}#receipt`);
}

/** Shows the form's page again, with the refusal, the status it deserves and what was typed. */
export type ShowRefusal = (
  req: Request,
  res: Response,
  place: PortalPlace,
  view: SubscriptionView,
  refusal: { status: number; errors: FieldErrors; values: Record<string, unknown> },
) => Promise<void> | void;

/** A refusal the page decides itself (before the service), placed beside a field or as an alert (`_form`). */
export class FormRefusal extends Error {
  constructor(
    readonly status: number,
    readonly errors: FieldErrors,
  ) {
    super(Object.values(errors).join(' '));
  }
}

export interface PortalChange<S extends z.ZodType> {
  /** The path under the subscription's page (`change/swap`). */
  path: string;
  schema: S;
  /** Makes the change with the deps acting as the shopper; throws a FormRefusal or a service error to refuse. */
  act: (as: SubscriptionDeps, place: PortalPlace, view: SubscriptionView, input: z.output<S>) => Promise<unknown>;
  /** Where the change ends (by default the subscription page's receipt). */
  done?: (req: Request, res: Response, place: PortalPlace, view: SubscriptionView) => Promise<void>;
  show: ShowRefusal;
}

export function portalChange<S extends z.ZodType>(router: Router, deps: SubscriptionDeps, change: PortalChange<S>): void {
  router.post(`/shop/:handle/subscriptions/:id/${change.path}`, async (req, res) => {
    const place = await portalPlace(deps.clock, req, res);
    if (!place) return;
    const view = await shopperSubscription(deps, place, req.params.id);
    const values = { ...((req.body ?? {}) as Record<string, unknown>) };
    delete values._csrf;
    const form = readForm(change.schema, req.body);
    if (!form.ok) return change.show(req, res, place, view, { status: 400, errors: form.errors, values });
    try {
      await change.act(asShopper(deps, place), place, view, form.value);
    } catch (error) {
      if (error instanceof FormRefusal) return change.show(req, res, place, view, { status: error.status, errors: error.errors, values });
      const fields = errorsOf(error);
      if (fields) return change.show(req, res, place, view, { status: 400, errors: fields, values });
      if (error instanceof AppError && error.status < 500) {
        return change.show(req, res, place, view, { status: error.status, errors: { _form: error.message }, values });
      }
      throw error;
    }
    if (change.done) return change.done(req, res, place, view);
    await toReceipt(res, place, view.id);
  });
}
