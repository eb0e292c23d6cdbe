import { factId, type Fact } from '../../src/events/fact.model';

/**
 * Facts of a store written by hand for projection tests (they are inserted and followed as a test says, not
 * recorded by the services): each at noon UTC on its day, numbered per subject in the order they are made,
 * the shopper `cus_<subscription>`. `made` lists them in that order; `boxId` names a subscription's next box.
 */
export function factHistory(merchantId: string) {
  const seqs = new Map<string, number>();
  const made: Fact[] = [];
  let boxes = 0;
  const fact = (
    subjectType: 'subscription' | 'box',
    subjectId: string,
    subscriptionId: string,
    type: string,
    day: string,
    data: Record<string, unknown>,
  ): Fact => {
    const seq = (seqs.get(subjectId) ?? 0) + 1;
    seqs.set(subjectId, seq);
    const at = new Date(`${day}T12:00:00Z`);
    const f = {
      _id: factId(subjectId, seq),
      merchantId,
      type,
      subjectType,
      subjectId,
      seq,
      at,
      actor: { kind: 'system' },
      data,
      customerId: `cus_${subscriptionId}`,
      subscriptionId,
      relayedAt: at,
      done: [],
      state: 'succeeded',
      attempts: 1,
    } as unknown as Fact;
    made.push(f);
    return f;
  };
  return { made, fact, boxId: (subscriptionId: string) => `ord_${subscriptionId}_${(boxes += 1)}` };
}
