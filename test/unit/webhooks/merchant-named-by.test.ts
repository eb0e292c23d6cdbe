import { merchantNamedBy } from '../../../src/webhooks/webhook-inbox.service';

const MERCHANT = 'mer_0123456789abcdefghij';
const event = (object: unknown) => ({ data: { object } });

describe('merchantNamedBy (whose an event is, read from the event itself)', () => {
  test.each([
    ['a subscription or Checkout Session with our metadata', { id: 'sub_1', metadata: { boxcycle_merchant_id: MERCHANT } }, MERCHANT],
    [
      'an invoice carrying its subscription’s metadata',
      { id: 'in_1', metadata: {}, parent: { subscription_details: { subscription: 'sub_1', metadata: { boxcycle_merchant_id: MERCHANT } } } },
      MERCHANT,
    ],
    ['an invoice of no subscription', { id: 'in_1', parent: null }, undefined],
    ['an object without metadata (a platform event)', { id: 'pm_1', customer: 'cus_1' }, undefined],
    ['null metadata', { id: 'sub_1', metadata: null }, undefined],
    ['metadata that is not one of our merchant ids', { id: 'sub_1', metadata: { boxcycle_merchant_id: 'someone; drop' } }, undefined],
    ['a merchant id that is not a string', { id: 'sub_1', metadata: { boxcycle_merchant_id: 42 } }, undefined],
  ])('when the object is %s, then it names %s', (_what, object, expected) => {
    expect(merchantNamedBy(event(object))).toBe(expected);
  });

  test('when the event has no object, then it names no merchant', () => {
    expect(merchantNamedBy({})).toBeUndefined();
  });
});
