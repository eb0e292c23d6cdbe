import { model, Schema } from 'mongoose';
import { dispatchDueFacts, drainFacts, MAX_FACT_ATTEMPTS, type Listener, type ListenerTable } from '../../../src/events/dispatcher.service';
import { FactModel, type Fact } from '../../../src/events/fact.model';
import { fact, factSource, initialFacts, recordFacts, setInlineRelay, type FactBearing, type FactSourceModel } from '../../../src/events/fact-source';
import { actors } from '../../../src/events/fact-types';
import { enableInlineRelay, relayFactsOf, relayPendingFacts } from '../../../src/events/relay.service';
import { FakeClock } from '../../../src/shared/time';
import type { StripeGateway } from '../../../src/stripe/stripe-gateway';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/** A small document that records facts about itself, standing in for a subscription or a box. */
interface Thing extends FactBearing {
  _id: string;
  merchantId: string;
  customerId: string;
  status: string;
}
const ThingSchema = new Schema<Thing>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    status: { type: String, required: true },
  },
  { collection: 'test_things', versionKey: false, minimize: false },
);
// Stands in for 'subscription' subjects: the relay needs a subject type from the list.
factSource(ThingSchema, {
  subjectType: 'subscription',
  linkFields: ['customerId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.customerId as string, subscriptionId: doc._id as string }),
});
const ThingModel = model<Thing>('TestThing', ThingSchema);
const things = ThingModel as FactSourceModel;

describe('domain facts: recorded with the change, relayed once, followed in order', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-01T10:00:00Z');
  const deps = { clock, logger: silentLogger, stripe: {} as StripeGateway };
  let n = 0;

  async function createThing(): Promise<string> {
    n += 1;
    const id = `thing_${n}`;
    await ThingModel.create({
      _id: id,
      merchantId: 'mer_1',
      customerId: `cus_${n}`,
      status: 'new',
      ...initialFacts(fact('subscription.created', actors.merchant(), clock.now(), { n })),
    });
    return id;
  }

  async function move(id: string, from: string, to: string): Promise<boolean> {
    const result = await ThingModel.updateOne(
      { _id: id, status: from },
      recordFacts(
        { $set: { status: to } },
        fact(to === 'paused' ? 'subscription.paused' : 'subscription.resumed', actors.shopper('cus'), clock.now(), { from, to }),
      ),
    );
    return result.modifiedCount === 1;
  }

  beforeEach(() => enableInlineRelay(clock));
  afterAll(() => setInlineRelay(undefined));

  it('when a change records a fact, then the fact is in events at once, in order, and the outbox is empty', async () => {
    const id = await createThing();
    await move(id, 'new', 'paused');
    await move(id, 'paused', 'active');
    const facts = await FactModel.find({ subjectId: id }).sort({ seq: 1 }).lean();
    expect(facts.map((f) => [f._id, f.type, f.seq, f.customerId, f.subscriptionId, f.state])).toEqual([
      [`${id}:00000001`, 'subscription.created', 1, expect.any(String), id, 'pending'],
      [`${id}:00000002`, 'subscription.paused', 2, expect.any(String), id, 'pending'],
      [`${id}:00000003`, 'subscription.resumed', 3, expect.any(String), id, 'pending'],
    ]);
    const doc = await ThingModel.findById(id).lean();
    expect(doc?.outbox).toEqual([]);
    expect(doc?.factCount).toBe(3);
    expect(doc?.outboxDueAt).toBeUndefined();
  });

  it('when the guarded update does not apply, then no fact is recorded', async () => {
    const id = await createThing();
    expect(await move(id, 'paused', 'active')).toBe(false);
    expect(await FactModel.countDocuments({ subjectId: id })).toBe(1);
  });

  it('when the process dies between the update and the copy, then the sweep finds the fact on the document and copies it once', async () => {
    const id = await createThing();
    setInlineRelay(undefined); // the write lands, the relay never runs
    await move(id, 'new', 'paused');
    await move(id, 'paused', 'active');
    expect(await FactModel.countDocuments({ subjectId: id })).toBe(1);
    const pending = await ThingModel.findById(id).lean();
    expect(pending?.outbox.map((f) => f.type)).toEqual(['subscription.paused', 'subscription.resumed']);
    expect(pending?.outboxDueAt).toEqual(clock.now());

    expect(await relayPendingFacts(clock)).toBe(2);
    expect(await relayPendingFacts(clock)).toBe(0);
    // A relay of an outbox copied meanwhile (two workers) changes nothing either.
    expect(await relayFactsOf(things, id, clock.now())).toBe(0);
    const facts = await FactModel.find({ subjectId: id }).sort({ seq: 1 }).lean();
    expect(facts.map((f) => [f.seq, f.type])).toEqual([
      [1, 'subscription.created'],
      [2, 'subscription.paused'],
      [3, 'subscription.resumed'],
    ]);
  });

  it('when two relays copy the same outbox at once while facts keep coming, then every fact is copied once with its own place', async () => {
    const id = await createThing();
    setInlineRelay(undefined);
    const statuses = ['new', 'paused', 'active', 'paused', 'active', 'paused', 'active'];
    for (let i = 1; i < statuses.length; i += 1) {
      await move(id, statuses[i - 1]!, statuses[i]!);
      if (i % 2 === 0) await Promise.all([relayFactsOf(things, id, clock.now()), relayFactsOf(things, id, clock.now())]);
    }
    await Promise.all([relayPendingFacts(clock), relayPendingFacts(clock)]);
    const facts = await FactModel.find({ subjectId: id }).sort({ seq: 1 }).lean();
    expect(facts.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(facts.map((f) => (f.data as { to?: string }).to ?? 'created')).toEqual(['created', ...statuses.slice(1)]);
  });

  describe('the dispatcher', () => {
    beforeEach(async () => {
      await FactModel.deleteMany({});
    });

    it('when a listener throws, then the fact is retried after its backoff with only the listeners not done, and other subjects go on', async () => {
      const calls: string[] = [];
      let failuresLeft = 2;
      const record = (name: string): Listener => ({ name, run: async (_deps, f: Fact) => void calls.push(`${name}:${f.subjectId}:${f.seq}`) });
      const flaky: Listener = {
        name: 'flaky',
        run: async (_deps, f) => {
          if (f.subjectId === 'thing_a' && failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('mail server down');
          }
          calls.push(`flaky:${f.subjectId}:${f.seq}`);
        },
      };
      const table: ListenerTable = { 'subscription.created': [record('first'), flaky], 'subscription.paused': [record('first')] };
      for (const id of ['thing_a', 'thing_b']) {
        await ThingModel.create({
          _id: id,
          merchantId: 'mer_1',
          customerId: 'cus_x',
          status: 'new',
          ...initialFacts(fact('subscription.created', actors.merchant(), clock.now())),
        });
        await move(id, 'new', 'paused');
      }

      await drainFacts(deps, table);
      // thing_b went through; thing_a's first fact failed after its first listener, and its second waits.
      expect(calls).toEqual(['first:thing_a:1', 'first:thing_b:1', 'flaky:thing_b:1', 'first:thing_b:2']);
      const a1 = await FactModel.findById('thing_a:00000001').lean();
      expect(a1).toMatchObject({ state: 'failed', attempts: 1, done: ['first'], lastError: 'mail server down' });
      expect((await FactModel.findById('thing_a:00000002').lean())?.state).toBe('pending');

      // Not before the backoff (1 minute), then again (fails, 2 minutes), then it goes through, in order.
      expect(await dispatchDueFacts(deps, table)).toBe(0);
      clock.advance(60_000);
      await drainFacts(deps, table);
      expect((await FactModel.findById('thing_a:00000001').lean())?.attempts).toBe(2);
      clock.advance(120_000);
      await drainFacts(deps, table);
      expect(calls.slice(4)).toEqual(['flaky:thing_a:1', 'first:thing_a:2']);
      expect(await FactModel.countDocuments({ state: { $ne: 'succeeded' } })).toBe(0);

      // Followed once: running again changes nothing.
      expect(await drainFacts(deps, table)).toBe(0);
      expect(calls).toHaveLength(6);
    });

    it('when several dispatchers run at once, then each listener runs once per fact', async () => {
      const calls: string[] = [];
      const table: ListenerTable = { 'subscription.created': [{ name: 'count', run: async (_d, f) => void calls.push(f._id) }] };
      for (let i = 0; i < 30; i += 1) await createThing();
      await Promise.all([dispatchDueFacts(deps, table), dispatchDueFacts(deps, table), dispatchDueFacts(deps, table)]);
      await drainFacts(deps, table);
      expect(calls).toHaveLength(30);
      expect(new Set(calls).size).toBe(30);
    });

    it('when a fact has failed for good, then it stays failed for a person to see and does not block its subject', async () => {
      const calls: string[] = [];
      const table: ListenerTable = {
        'subscription.created': [
          {
            name: 'broken',
            run: async () => {
              throw new Error('bug');
            },
          },
        ],
        'subscription.paused': [{ name: 'ok', run: async (_d, f) => void calls.push(f._id) }],
      };
      const id = await createThing();
      await move(id, 'new', 'paused');
      for (let i = 0; i < MAX_FACT_ATTEMPTS; i += 1) {
        await drainFacts(deps, table);
        clock.advance(3_600_000);
      }
      expect(calls).toEqual([]);
      await drainFacts(deps, table);
      expect(await FactModel.findById(`${id}:00000001`).lean()).toMatchObject({ state: 'failed', attempts: MAX_FACT_ATTEMPTS });
      expect(calls).toEqual([`${id}:00000002`]);
    });
  });
});
