import { applyUpdate, defined } from '../../../src/analytics/rebuild-batch.service';

describe('applyUpdate: a listener’s update folded in memory, as the database applies it', () => {
  test('when a new document is updated, then $setOnInsert, $set and $inc on dotted paths apply', () => {
    const doc = applyUpdate(
      { _id: 'sub_1', paid: {} },
      { $setOnInsert: { merchantId: 'mer_1' }, $set: { planId: 'plan_a' }, $inc: { 'paid.2026-01.boxes': 1, 'paid.2026-01.revenueMinor': 2600 } },
      true,
    );
    expect(doc).toEqual({ _id: 'sub_1', merchantId: 'mer_1', planId: 'plan_a', paid: { '2026-01': { boxes: 1, revenueMinor: 2600 } } });
  });

  test('when an existing document is updated, then $setOnInsert is ignored, $inc adds, $unset removes and the original is left as it was', () => {
    const before = { _id: 'sub_1', merchantId: 'mer_1', paid: { '2026-01': { boxes: 1, revenueMinor: 2600 } }, lastFailedAttempt: 2 };
    const doc = applyUpdate(before, { $setOnInsert: { merchantId: 'mer_2' }, $inc: { 'paid.2026-01.boxes': 1 }, $unset: { lastFailedAttempt: 1 } }, false);
    expect(doc).toEqual({ _id: 'sub_1', merchantId: 'mer_1', paid: { '2026-01': { boxes: 2, revenueMinor: 2600 } } });
    expect(before).toEqual({ _id: 'sub_1', merchantId: 'mer_1', paid: { '2026-01': { boxes: 1, revenueMinor: 2600 } }, lastFailedAttempt: 2 });
  });

  test('when $min is applied, then a missing field is set, an earlier value kept, a later one replaced, and dates stay dates', () => {
    const early = new Date('2026-01-05T10:00:00Z');
    const late = new Date('2026-02-05T10:00:00Z');
    const first = applyUpdate<{ _id: string; savedAt?: Date; savedOn?: string }>({ _id: 's' }, { $min: { savedAt: late, savedOn: '2026-02-05' } }, false);
    expect(first).toEqual({ _id: 's', savedAt: late, savedOn: '2026-02-05' });
    const kept = applyUpdate(first, { $min: { savedAt: new Date('2026-03-01T00:00:00Z'), savedOn: '2026-03-01' } }, false);
    expect(kept).toEqual(first);
    const replaced = applyUpdate(kept, { $min: { savedAt: early, savedOn: '2026-01-05' } }, false);
    expect(replaced).toEqual({ _id: 's', savedAt: early, savedOn: '2026-01-05' });
    expect(replaced.savedAt).toBeInstanceOf(Date);
  });

  test('when a document has undefined fields, then defined() leaves them out (the driver would write null)', () => {
    expect(defined({ a: 1, b: undefined, c: null })).toEqual({ a: 1, c: null });
    expect(Object.keys(defined({ a: 1, b: undefined }))).toEqual(['a']);
  });
});
