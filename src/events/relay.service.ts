import mongoose from 'mongoose';
import { isDuplicateKeyError } from '../shared/db';
import type { Clock } from '../shared/time';
import { FactModel, factId } from './fact.model';
import { factSourceOf, setInlineRelay, type FactBearing, type FactSourceModel, type FactSourceOptions } from './fact-source';
import type { FactType } from './fact-types';

/**
 * The relay: copies the facts waiting in a document's outbox into `events`, in order, under deterministic ids,
 * then pulls them from the outbox. Safe to run twice or on several workers at once: a fact already copied
 * collides on its id, and only copied facts are pulled.
 */
export async function relayFactsOf(model: FactSourceModel, subjectId: string, now: Date): Promise<number> {
  const options = factSourceOf(model.schema);
  if (!options) throw new Error(`${model.modelName} is not a fact source`);
  const projection = Object.fromEntries(['outbox', 'factCount', 'outboxDueAt', 'merchantId', ...options.linkFields].map((f) => [f, 1]));
  const doc = (await model.findById(subjectId, projection).lean()) as (FactBearing & Record<string, unknown>) | null;
  if (!doc) return 0;
  const outbox = doc.outbox ?? [];
  if (outbox.length > 0) {
    const links = options.links(doc);
    const firstSeq = (doc.factCount ?? outbox.length) - outbox.length + 1;
    // One at a time and in order: a fact is copied only after the one before it, so the events of a subject
    // never have a gap the dispatcher could step over.
    for (const [index, pending] of outbox.entries()) {
      const seq = firstSeq + index;
      try {
        await FactModel.create({
          _id: factId(subjectId, seq),
          merchantId: links.merchantId,
          type: pending.type,
          subjectType: options.subjectType,
          subjectId,
          seq,
          at: pending.at,
          actor: pending.actor,
          data: pending.data ?? {},
          ...(links.customerId ? { customerId: links.customerId } : {}),
          ...(links.subscriptionId ? { subscriptionId: links.subscriptionId } : {}),
          relayedAt: now,
          done: [],
          state: 'pending',
          attempts: 0,
        });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    }
    await model.updateOne({ _id: subjectId }, { $pull: { outbox: { _id: { $in: outbox.map((f) => f._id) } } } });
  }
  // Whatever came in meanwhile keeps (or set again) its own due date.
  await model.updateOne({ _id: subjectId, outbox: { $size: 0 }, outboxDueAt: { $exists: true } }, { $unset: { outboxDueAt: 1 } });
  return outbox.length;
}

/** Every model registered with the connection that records facts. */
export function factSources(): Array<{ model: FactSourceModel; options: FactSourceOptions }> {
  return Object.values(mongoose.models).flatMap((model) => {
    const options = factSourceOf(model.schema);
    return options ? [{ model: model as FactSourceModel, options }] : [];
  });
}

/**
 * The sweep: documents whose outbox still holds facts (the inline relay failed or the process died after the
 * write), oldest first. Returns how many facts it copied.
 */
export async function relayPendingFacts(clock: Clock, batchSize = 200): Promise<number> {
  const now = clock.now();
  let copied = 0;
  for (const { model } of factSources()) {
    const due = await model
      .find({ outboxDueAt: { $lte: now } }, { _id: 1 })
      .sort({ outboxDueAt: 1 })
      .limit(batchSize)
      .lean();
    for (const doc of due as Array<{ _id: string }>) copied += await relayFactsOf(model, doc._id, now);
  }
  return copied;
}

/** Relay right after the write that recorded a fact (see fact-source.ts); the clock is the system's: relayedAt is bookkeeping. */
export function enableInlineRelay(clock: Clock): void {
  setInlineRelay(async (model, subjectId) => {
    await relayFactsOf(model, subjectId, clock.now());
  });
}

/**
 * Facts recorded before this store existed (a migration's input), copied as the first facts of their subject,
 * already followed: listeners never run for history. Idempotent (deterministic ids). Returns how many.
 */
export async function importHistoricalFacts(
  subject: { subjectType: FactSourceOptions['subjectType']; subjectId: string; merchantId: string; customerId?: string; subscriptionId?: string },
  facts: Array<{ type: FactType; at: Date; data: Record<string, unknown> }>,
  now: Date,
): Promise<number> {
  for (const [index, historical] of facts.entries()) {
    const seq = index + 1;
    try {
      await FactModel.create({
        _id: factId(subject.subjectId, seq),
        merchantId: subject.merchantId,
        type: historical.type,
        subjectType: subject.subjectType,
        subjectId: subject.subjectId,
        seq,
        at: historical.at,
        actor: { kind: 'system' },
        data: historical.data,
        ...(subject.customerId ? { customerId: subject.customerId } : {}),
        ...(subject.subscriptionId ? { subscriptionId: subject.subscriptionId } : {}),
        relayedAt: now,
        done: [],
        state: 'succeeded',
        attempts: 0,
        dispatchedAt: now,
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
  return facts.length;
}
