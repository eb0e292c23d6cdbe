import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { actors } from '../../events/fact-types';
import { findAddons } from '../../addons/addon.queries';
import { listAddons } from '../../addons/addon.service';
import type { PostalAddress } from '../../customers/customer.model';
import { customerExists } from '../../customers/customer.queries';
import { undoAddressChange } from '../../customers/customer.service';
import { merchantProfile } from '../../merchants/merchant.queries';
import { findOrder } from '../../orders/order.queries';
import { chooseVariantForBox, rateBox } from '../../orders/order.service';
import { RateBoxBody } from '../../orders/order.schemas';
import { findPlan } from '../../plans/plan.queries';
import { declineAdjustedBox, type RenewalDeps } from '../../renewals/renewal.service';
import { signActionToken, verifyActionToken, type ActionClaim } from '../../shared/action-tokens';
import { AppError, InvalidStateError, NotFoundError } from '../../shared/errors';
import { findFact, latestFactOf } from '../../events/timeline.service';
import {
  addAddon,
  getSubscription,
  isUndoable,
  listSubscriptions,
  reactivateSubscription,
  resumeSubscription,
  skipBox,
  swapBox,
  undoChange,
  unskipBox,
  type SubscriptionDeps,
} from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { describeFact } from './fact-wording';
import { addressLine } from './address-form';
import { localeOf, longDate, money } from './shop-view';

/**
 * `/a/<token>`: where a link in an e-mail lands. The link names one action on one subject and expires
 * (src/shared/action-tokens.ts); opening it changes nothing (mail scanners open every link): the page says
 * what will happen, and its button (a form with a CSRF token) does it, as the shopper. Doing it twice says it
 * is done. The receipt offers to undo where that is possible.
 */
export interface ActionPageDeps {
  subscriptions: SubscriptionDeps;
  renewals: RenewalDeps;
  /** The secret action links are signed with. */
  secret: () => Promise<string>;
}

const ACTIONS = [
  'subscription.skip',
  'subscription.unskip',
  'subscription.resume',
  'subscription.reactivate',
  'subscription.swap',
  'subscription.undo',
  'subscription.add-extra',
  'customer.undo',
  'box.choose-variant',
  'box.decline',
  'box.rate',
  'payment.update-card',
] as const;
type Action = (typeof ACTIONS)[number];
/** Actions whose subject is the shopper, not one subscription. */
const SHOPPER_ACTIONS: readonly Action[] = ['customer.undo', 'payment.update-card'];

const Token = z.string().min(10).max(2000);
const ExtraForm = z.strictObject({
  addonId: z.string({ error: 'Choose an extra' }).min(1, { error: 'Choose an extra' }).max(100),
  quantity: z.coerce.number({ error: 'Choose how many' }).int().min(1, { error: 'At least 1' }).max(5, { error: 'At most 5' }),
  kind: z.enum(['one_time', 'recurring'], { error: 'Choose this box or every box' }),
});
const VariantForm = z.strictObject({ variantId: z.string({ error: 'Choose a variant' }).min(1, { error: 'Choose a variant' }).max(100) });
const RateForm = RateBoxBody.extend({
  score: z.coerce
    .number({ error: 'Choose from 1 to 5 stars' })
    .int({ error: 'Choose from 1 to 5 stars' })
    .min(1, { error: 'Choose from 1 to 5 stars' })
    .max(5, { error: 'Choose from 1 to 5 stars' }),
});

interface ActionModel {
  title: string;
  storeName: string;
  token: string;
  action: Action;
  question: string;
  detail: string | null;
  button: string;
  variants: Array<{ id: string; name: string }>;
  extras: Array<{ id: string; name: string; price: string; oneBoxOnly: boolean }>;
  errors: FieldErrors;
  link: string | null;
}

export function actionPages(deps: ActionPageDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;

  async function claimOf(req: Request): Promise<ActionClaim | { problem: string; status: number }> {
    const token = Token.safeParse(req.params.token);
    if (!token.success) return { problem: 'This link is not complete. Open it again from the e-mail.', status: 400 };
    const check = verifyActionToken(await deps.secret(), token.data, clock.now());
    if (!check.ok) {
      return check.reason === 'expired'
        ? { problem: 'This link has expired: what it offered can no longer be done from it.', status: 410 }
        : { problem: 'This link is not valid. Open it again from the e-mail.', status: 400 };
    }
    if (!(ACTIONS as readonly string[]).includes(check.claim.action)) return { problem: 'This link is not valid.', status: 400 };
    return check.claim;
  }

  const invalid = (res: Response, status: number, message: string) =>
    res.status(status).render('shop/action-invalid', { title: 'Link', storeName: null, message });

  async function describe(claim: ActionClaim, token: string, locale: string): Promise<ActionModel> {
    // The subject must be this store's (a link is signed, but its subject may be gone): else it is not found.
    if (claim.action === 'box.rate') {
      if (!(await findOrder(claim.merchantId, claim.data?.orderId ?? claim.subjectId))) throw new NotFoundError('What this link was about no longer exists.');
    } else if (SHOPPER_ACTIONS.includes(claim.action as Action)) {
      if (!(await customerExists(claim.merchantId, claim.subjectId))) throw new NotFoundError('What this link was about no longer exists.');
    } else await getSubscription(deps.subscriptions, claim.merchantId, claim.subjectId);
    const profile = await merchantProfile(claim.merchantId);
    const store = profile?.name ?? 'Your store';
    const base = {
      title: 'Your subscription',
      storeName: store,
      token,
      action: claim.action as Action,
      detail: null,
      variants: [],
      extras: [],
      errors: {},
      link: null,
    };
    const data = claim.data ?? {};
    const boxOf = (cycleKey: string | undefined) => (cycleKey ? `your box of ${longDate(cycleKey, locale)}` : 'your next box');
    const subscription = async () => getSubscription(deps.subscriptions, claim.merchantId, claim.subjectId);
    switch (claim.action as Action) {
      case 'subscription.skip':
        return {
          ...base,
          question: `Skip ${boxOf(data.cycleKey)}?`,
          detail: 'You will not be charged for it, and your subscription goes on with the box after.',
          button: 'Skip this box',
        };
      case 'subscription.unskip':
        return {
          ...base,
          question: `Get ${boxOf(data.cycleKey)} after all?`,
          detail: 'It will be charged on its date as usual.',
          button: 'Keep this box',
        };
      case 'subscription.resume':
        return {
          ...base,
          question: 'Resume your subscription now?',
          detail: 'The next box whose cut-off has not passed will be charged and sent.',
          button: 'Resume',
        };
      case 'subscription.reactivate':
        return {
          ...base,
          question: 'Keep your subscription?',
          detail: 'Your cancellation is taken back; boxes keep coming as before.',
          button: 'Keep my subscription',
        };
      case 'subscription.swap':
      case 'box.choose-variant': {
        const view = await subscription();
        const plan = await findPlan(claim.merchantId, view.box.planId);
        const variants = (plan?.variants ?? []).filter((v) => v.status === 'active').map((v) => ({ id: v._id, name: v.name }));
        return claim.action === 'subscription.swap'
          ? {
              ...base,
              question: 'Choose what comes in your boxes',
              detail: `From the next box that can still change. Now: ${view.box.variantName}.`,
              button: 'Save my choice',
              variants,
            }
          : {
              ...base,
              question: `Choose another variant for ${boxOf(data.cycleKey)}`,
              detail: 'Only for this box; what is out of stock cannot be chosen.',
              button: 'Send this one instead',
              variants,
            };
      }
      case 'box.decline':
        return {
          ...base,
          question: `Skip ${boxOf(data.cycleKey)} as it is?`,
          detail: 'It is not what you chose. Skip it and you will not be charged for it.',
          button: 'Skip this box',
        };
      case 'subscription.undo': {
        const fact = data.factId ? await findFact(claim.merchantId, data.factId) : undefined;
        return {
          ...base,
          question: 'Undo this change?',
          detail: fact ? `${capitalise(describeFact(fact.type, fact.data, { locale, timezone: profile?.timezone ?? 'UTC' }))}.` : null,
          button: 'Undo',
        };
      }
      case 'box.rate': {
        const order = await findOrder(claim.merchantId, data.orderId ?? claim.subjectId);
        return {
          ...base,
          title: 'Rate your box',
          question: `How was ${boxOf(order?.shipOn)}?`,
          detail: order?.rating ? `You rated it ${order.rating.score} of 5; a new rating replaces it.` : null,
          button: 'Send my rating',
        };
      }
      case 'subscription.add-extra': {
        const view = await subscription();
        const { data: addons } = await listAddons(claim.merchantId, { limit: 100, status: 'active' });
        const extras = addons
          .filter((addon) => addon.price.currency === view.box.price.currency && !(addon.stock.tracked && (addon.stock.onHand ?? 0) < 1))
          .sort((a, b) => a.name.localeCompare(b.name, locale))
          .map((addon) => ({
            id: addon.id,
            name: addon.name,
            price: money(addon.price.amountMinor, addon.price.currency, locale),
            oneBoxOnly: addon.kind === 'one_time',
          }));
        return {
          ...base,
          question: `Add an extra to ${boxOf(data.cycleKey)}?`,
          detail: extras.length ? 'It is charged with the box. Choose it for this box only, or for every box.' : 'There are no extras to add right now.',
          button: 'Add it',
          extras,
        };
      }
      case 'customer.undo': {
        const fact = data.factId ? await findFact(claim.merchantId, data.factId) : undefined;
        const from = fact?.type === 'customer.address_changed' ? (fact.data as { from?: PostalAddress }).from : undefined;
        return {
          ...base,
          title: 'Your address',
          question: 'Put back your previous shipping address?',
          detail: from ? `Boxes not paid yet will go to: ${addressLine(from, locale)}.` : null,
          button: 'Put it back',
        };
      }
      case 'payment.update-card': {
        const { data: mine } = await listSubscriptions(deps.subscriptions, claim.merchantId, { limit: 20, customerId: claim.subjectId });
        const failing = mine.find((view) => view.dunning?.updatePaymentUrl);
        const live = mine.find((view) => view.status !== 'cancelled');
        const link = failing?.dunning?.updatePaymentUrl ?? (live && profile?.handle ? `/shop/${profile.handle}/subscriptions/${live.id}/payment` : null);
        return {
          ...base,
          question: failing ? 'Update your card and pay your box' : 'Update your card',
          detail: failing
            ? 'Stripe, our payment processor, shows the payment that failed; there you can pay it with another card, which is kept for the next boxes.'
            : "Your account's payment page shows the card on file and lets you give a new one (you will be asked to sign in).",
          button: '',
          link,
        };
      }
    }
  }

  router.get('/a/:token', async (req, res) => {
    const claim = await claimOf(req);
    if ('problem' in claim) return invalid(res, claim.status, claim.problem);
    const locale = localeOf(req);
    const token = req.params.token;
    try {
      const view = await describe(claim, token, locale);
      res.render('shop/action', view);
    } catch (error) {
      if (error instanceof AppError && error.status < 500) return invalid(res, error.status === 404 ? 404 : 409, error.message);
      throw error;
    }
  });

  router.post('/a/:token', async (req, res) => {
    const claim = await claimOf(req);
    if ('problem' in claim) return invalid(res, claim.status, claim.problem);
    const token = req.params.token;
    const locale = localeOf(req);
    const customerId = SHOPPER_ACTIONS.includes(claim.action as Action)
      ? (await customerExists(claim.merchantId, claim.subjectId))
        ? claim.subjectId
        : undefined
      : ((await getSubscription(deps.subscriptions, claim.merchantId, claim.subjectId).catch(() => undefined))?.customerId ??
        (await findOrder(claim.merchantId, claim.data?.orderId ?? claim.subjectId))?.customerId);
    if (!customerId) return invalid(res, 404, 'What this link was about no longer exists.');
    const actor = actors.shopper(customerId);
    const as = { ...deps.subscriptions, actor };
    const data = claim.data ?? {};
    try {
      const done = await perform(claim.action as Action, claim, data, req.body, { as, actor, locale });
      if ('errors' in done) return res.status(400).render('shop/action', { ...(await describe(claim, token, locale)), errors: done.errors });
      res.render('shop/action-done', {
        title: 'Done',
        storeName: (await merchantProfile(claim.merchantId))?.name ?? 'Your store',
        message: done.message,
        undo: done.undo ? `/a/${await undoToken(claim, done.undo)}` : null,
      });
    } catch (error) {
      const fieldErrors = errorsOf(error);
      if (fieldErrors) return res.status(400).render('shop/action', { ...(await describe(claim, token, locale)), errors: fieldErrors });
      if (error instanceof AppError && error.status < 500) return invalid(res, error.status === 404 ? 404 : 409, error.message);
      throw error;
    }
  });

  async function undoToken(claim: ActionClaim, undo: { action: Action; data: Record<string, string> }): Promise<string> {
    return signActionToken(await deps.secret(), {
      action: undo.action,
      merchantId: claim.merchantId,
      subjectId: claim.subjectId,
      data: undo.data,
      expiresAt: new Date(clock.now().getTime() + 7 * 86_400_000),
    });
  }

  async function perform(
    action: Action,
    claim: ActionClaim,
    data: Record<string, string>,
    body: unknown,
    ctx: { as: SubscriptionDeps; actor: ReturnType<typeof actors.shopper>; locale: string },
  ): Promise<{ message: string; undo?: { action: Action; data: Record<string, string> } } | { errors: FieldErrors }> {
    const m = claim.merchantId;
    const s = claim.subjectId;
    const already = (message: string) => ({ message });
    const locale = ctx.locale;
    const day = (cycleKey: string) => (/^\d{4}-\d{2}-\d{2}$/.test(cycleKey) ? longDate(cycleKey, locale) : cycleKey);
    switch (action) {
      case 'subscription.skip': {
        const view = await getSubscription(ctx.as, m, s);
        if (data.cycleKey && isSkipped(view, data.cycleKey)) return already(`Your box of ${day(data.cycleKey)} is skipped.`);
        const after = await skipBox(ctx.as, m, s, data.cycleKey);
        const cycleKey = data.cycleKey ?? lastSkipped(view, after);
        return {
          message: `Your box of ${day(cycleKey)} is skipped: you will not be charged for it.`,
          undo: { action: 'subscription.unskip', data: { cycleKey } },
        };
      }
      case 'subscription.unskip': {
        const view = await getSubscription(ctx.as, m, s);
        if (!data.cycleKey) throw new InvalidStateError('This link is missing the date of the box.');
        if (!isSkipped(view, data.cycleKey)) return already(`Your box of ${day(data.cycleKey)} is coming.`);
        await unskipBox(ctx.as, m, s, data.cycleKey);
        return { message: `Your box of ${day(data.cycleKey)} is coming after all.`, undo: { action: 'subscription.skip', data: { cycleKey: data.cycleKey } } };
      }
      case 'subscription.resume': {
        const view = await getSubscription(ctx.as, m, s);
        if (view.status !== 'paused') return already('Your subscription is not paused.');
        await resumeSubscription(ctx.as, m, s);
        return { message: 'Your subscription is resumed.' };
      }
      case 'subscription.reactivate': {
        const view = await getSubscription(ctx.as, m, s);
        if (!view.cancellation) return already('Your subscription goes on: nothing to take back.');
        await reactivateSubscription(ctx.as, m, s);
        return { message: 'Your subscription goes on: the cancellation is taken back.' };
      }
      case 'subscription.swap': {
        const form = readForm(VariantForm, body);
        if (!form.ok) return { errors: form.errors };
        const view = await getSubscription(ctx.as, m, s);
        if ((view.pendingChange?.variantId ?? view.box.variantId) === form.value.variantId) return already('That is already what comes in your boxes.');
        const before = view.pendingChange?.variantId ?? view.box.variantId;
        const after = await swapBox(ctx.as, m, s, { variantId: form.value.variantId });
        const effective = after.pendingChange?.effectiveCycleKey ?? after.nextCharge?.cycleKey ?? 'the next box';
        return {
          message: `From your box of ${effective}: ${(after.pendingChange ?? after.box).variantName}.`,
          undo: { action: 'subscription.swap', data: { variantId: before } },
        };
      }
      case 'box.choose-variant': {
        const form = readForm(VariantForm, body);
        if (!form.ok) return { errors: form.errors };
        if (!data.cycleKey) throw new InvalidStateError('This link is missing the date of the box.');
        const order = await chooseVariantForBox({ clock: ctx.as.clock, actor: ctx.actor }, m, s, data.cycleKey, form.value.variantId);
        const plan = order.lines.find((line) => line.kind === 'plan');
        return { message: `Your box of ${day(data.cycleKey)} will have ${plan?.description ?? 'your choice'}.` };
      }
      case 'box.decline': {
        if (!data.cycleKey) throw new InvalidStateError('This link is missing the date of the box.');
        const view = await getSubscription(ctx.as, m, s);
        if (isSkipped(view, data.cycleKey)) return already(`Your box of ${day(data.cycleKey)} is skipped.`);
        await declineAdjustedBox({ ...deps.renewals, actor: ctx.actor }, m, s, data.cycleKey);
        return { message: `Your box of ${day(data.cycleKey)} is skipped: you will not be charged for it.` };
      }
      case 'subscription.undo': {
        if (!data.factId) throw new InvalidStateError('This link does not say which change to undo.');
        const fact = await findFact(m, data.factId);
        if (!fact || !isUndoable(fact.type)) throw new InvalidStateError('This change cannot be undone.');
        await undoChange(ctx.as, m, s, data.factId);
        return { message: `Undone: ${describeFact(fact.type, fact.data)}.` };
      }
      case 'box.rate': {
        const form = readForm(RateForm, body);
        if (!form.ok) return { errors: form.errors };
        const order = await rateBox({ clock: ctx.as.clock, actor: ctx.actor }, m, data.orderId ?? s, form.value);
        return { message: `Thank you: you rated your box of ${day(order.shipOn)} ${form.value.score} of 5.` };
      }
      case 'subscription.add-extra': {
        const form = readForm(ExtraForm, body);
        if (!form.ok) return { errors: form.errors };
        const [addon] = await findAddons(m, [form.value.addonId]);
        if (!addon || addon.status !== 'active') return { errors: { addonId: 'Choose one of the extras shown' } };
        if (addon.stock.tracked && addon.stock.onHand < form.value.quantity) {
          return { errors: { addonId: addon.stock.onHand < 1 ? `${addon.name} is out of stock` : `Only ${addon.stock.onHand} left: choose fewer` } };
        }
        if (form.value.kind === 'recurring' && addon.kind === 'one_time') return { errors: { kind: `${addon.name} comes in one box only` } };
        const before = await getSubscription(ctx.as, m, s);
        const after = await addAddon(ctx.as, m, s, form.value);
        const added = after.addons.find((line) => !before.addons.some((was) => was.id === line.id));
        const when = form.value.kind === 'recurring' ? 'every box' : `your box of ${longDate(added?.fromCycleKey ?? data.cycleKey ?? '', locale)}`;
        return {
          message: `${form.value.quantity} × ${addon.name} will be in ${when}.`,
          ...(added ? { undo: { action: 'subscription.undo' as const, data: { factId: (await latestFactOf(m, s))?._id ?? '' } } } : {}),
        };
      }
      case 'customer.undo': {
        if (!data.factId) throw new InvalidStateError('This link does not say which change to undo.');
        await undoAddressChange({ ...ctx.as, actor: ctx.actor }, m, s, data.factId);
        return { message: 'Your previous shipping address is back: boxes not paid yet go there.' };
      }
      case 'payment.update-card':
        return already('Nothing to do here: follow the link to update your card.');
    }
  }

  return router;
}

function isSkipped(view: SubscriptionView, cycleKey: string): boolean {
  return view.upcomingCycles.some((cycle) => cycle.cycleKey === cycleKey && cycle.state === 'skipped');
}

function lastSkipped(before: SubscriptionView, after: SubscriptionView): string {
  const was = new Set(before.upcomingCycles.filter((c) => c.state === 'skipped').map((c) => c.cycleKey));
  return after.upcomingCycles.find((c) => c.state === 'skipped' && !was.has(c.cycleKey))?.cycleKey ?? 'the next date';
}

/** A change, in the shopper's words. */

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
