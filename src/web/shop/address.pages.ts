import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { findCustomer } from '../../customers/customer.queries';
import { undoAddressChange, updateCustomer } from '../../customers/customer.service';
import { findFact, latestFactOf } from '../../events/timeline.service';
import { AppError, NotFoundError } from '../../shared/errors';
import { canDo, listSubscriptions, shipBoxTo, type SubscriptionDeps } from '../../subscriptions/subscription.service';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { ADDRESS_FIELDS, addressLine, addressOf, countries } from './address-form';
import { asShopper, portalPlace, shopperSubscription, type PortalPlace } from './portal-access';
import { toReceipt } from './portal-change';
import { brandOf, localeOf, longDate } from './shop-view';

/**
 * The shopper's shipping address (`/shop/<handle>/account/address`): where every box not paid yet goes. A
 * change is the shopper's own (`customer.address_changed`, confirmed by e-mail with an undo link) and ends on
 * this page's receipt, with an undo while the address is still the one they set.
 */
export interface AddressPageDeps {
  subscriptions: SubscriptionDeps;
}

const AddressForm = z.strictObject({
  ...ADDRESS_FIELDS,
  /** `all`: the account's address (every box not paid yet); a subscription's id: only its next box. */
  scope: z.union([z.literal('all'), z.string().regex(/^sub_[0-9a-z]{20}$/)], { error: 'Choose which boxes go there' }).default('all'),
});
const Receipt = z.string().regex(/^cust_[0-9a-z]{20}:\d{8}$/);
const UndoForm = z.strictObject({ factId: Receipt });

export function addressPages(deps: AddressPageDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;
  const pathOf = (place: PortalPlace) => `/shop/${place.store.handle}/account/address`;

  async function show(req: Request, res: Response, place: PortalPlace, status = 200, errors: FieldErrors = {}, values?: Record<string, unknown>) {
    const locale = localeOf(req);
    const customer = await findCustomer(place.store._id, place.shopper.customerId);
    if (!customer) throw new NotFoundError('There is no such account.');
    // Each subscription whose next box can still be sent elsewhere: "only the next box of …".
    const { data: mine } = await listSubscriptions(deps.subscriptions, place.store._id, { limit: 50, customerId: customer._id });
    const nextBoxes = mine
      .filter((view) => canDo(view.status, 'shipBoxElsewhere') && view.nextCharge && new Date(view.nextCharge.cutoffAt) > clock.now())
      .map((view) => ({
        id: view.id,
        label: `Only the next ${view.box.planName} box (${longDate(view.nextCharge!.cycleKey, locale)})`,
        goesTo: view.nextBoxAddress ? addressLine(view.nextBoxAddress.address, locale) : null,
      }));
    const done = Receipt.safeParse(req.query.done);
    const fact = done.success ? await findFact(place.store._id, done.data) : undefined;
    const receipt =
      fact?.type === 'customer.address_changed' && fact.subjectId === customer._id
        ? {
            factId: fact._id,
            // Undo while the address is still the one this change set.
            canUndo: addressLine(customer.shippingAddress, locale) === addressLine((fact.data as { to: typeof customer.shippingAddress }).to, locale),
          }
        : null;
    res.status(status).render('shop/address', {
      title: 'Shipping address',
      brand: brandOf(place.store),
      action: pathOf(place),
      current: addressLine(customer.shippingAddress, locale),
      values: values ?? { ...customer.shippingAddress },
      errors,
      countries: countries(locale),
      nextBoxes,
      receipt,
      notice:
        req.query.undone === '1' ? 'Your previous address is back.' : req.query.unchanged === '1' ? 'That is already your address: nothing changed.' : null,
    });
  }

  router.get('/shop/:handle/account/address', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    await show(req, res, place);
  });

  router.post('/shop/:handle/account/address', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const values = { ...((req.body ?? {}) as Record<string, unknown>) };
    delete values._csrf;
    const form = readForm(AddressForm, req.body);
    if (!form.ok) return show(req, res, place, 400, form.errors, values);
    const as = { ...deps.subscriptions, actor: { kind: 'shopper' as const, id: place.shopper.customerId } };
    const before = (await latestFactOf(place.store._id, place.shopper.customerId))?._id;
    const { scope, ...fields } = form.value;
    try {
      if (scope !== 'all') {
        // One box only: the subscription must be theirs (else not found), and the change ends on its page's receipt.
        const view = await shopperSubscription(deps.subscriptions, place, scope);
        await shipBoxTo(asShopper(deps.subscriptions, place), place.store._id, view.id, { address: addressOf(fields) });
        return await toReceipt(res, place, view.id);
      }
      await updateCustomer(as, place.store._id, place.shopper.customerId, { shippingAddress: addressOf(fields) });
    } catch (error) {
      const fields = errorsOf(error);
      if (fields) return show(req, res, place, 400, fields, values);
      if (error instanceof AppError && error.status < 500) return show(req, res, place, error.status, { _form: error.message }, values);
      throw error;
    }
    // The change's fact is written with the new address; none new: it was already the address.
    const latest = (await latestFactOf(place.store._id, place.shopper.customerId))?._id;
    res.redirect(303, latest && latest !== before ? `${pathOf(place)}?done=${encodeURIComponent(latest)}#receipt` : `${pathOf(place)}?unchanged=1#receipt`);
  });

  router.post('/shop/:handle/account/address/undo', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const form = readForm(UndoForm, req.body);
    if (!form.ok) return show(req, res, place, 400, { _form: 'This change cannot be undone.' });
    const as = { ...deps.subscriptions, actor: { kind: 'shopper' as const, id: place.shopper.customerId } };
    try {
      await undoAddressChange(as, place.store._id, place.shopper.customerId, form.value.factId);
    } catch (error) {
      if (error instanceof AppError && error.status < 500) return show(req, res, place, error.status === 404 ? 400 : error.status, { _form: error.message });
      throw error;
    }
    res.redirect(303, `${pathOf(place)}?undone=1`);
  });

  return router;
}
