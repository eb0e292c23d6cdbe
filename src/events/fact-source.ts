import { Schema, type Model } from 'mongoose';
import { newId } from '../shared/ids';
import type { Actor, FactType, SubjectType } from './fact-types';

/**
 * How a document records the facts about itself: an `outbox` array written in the same single-document update
 * that makes the fact true, and a `factCount` of every fact it ever recorded. The relay (relay.service.ts)
 * copies the outbox into `events` and pulls what it copied; a crash in between loses nothing, because the
 * fact stays on the document until it is copied (`outboxDueAt` lets the sweep find it).
 *
 * The place of a fact in its subject's sequence needs no extra read before the write: facts leave the outbox
 * only from its front, so the fact at index i of an outbox of length L has seq `factCount − L + i + 1`.
 */
export interface PendingFact {
  /** Identifies the entry in the outbox (the relay pulls it by this id). */
  _id: string;
  type: FactType;
  at: Date;
  actor: Actor;
  data: Record<string, unknown>;
}

export interface FactBearing {
  outbox: PendingFact[];
  factCount: number;
  /** Set while the outbox holds facts: the relay sweep finds such documents by it. */
  outboxDueAt?: Date;
}

export interface FactSourceOptions {
  subjectType: SubjectType;
  /** Fields the relay reads besides the outbox. */
  linkFields: string[];
  /** The merchant, shopper and subscription a fact about this document concerns. */
  links: (doc: Record<string, unknown>) => { merchantId: string; customerId?: string; subscriptionId?: string };
}

/** A Mongoose model of a fact source, whatever its document type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FactSourceModel = Model<any>;

const sourceOptions = new WeakMap<Schema, FactSourceOptions>();

export function factSourceOf(schema: Schema): FactSourceOptions | undefined {
  return sourceOptions.get(schema);
}

/** Called inline after a write that recorded facts (wired by the relay, to keep this module below it). */
type InlineRelay = (model: FactSourceModel, subjectId: string) => Promise<void>;
let inlineRelay: InlineRelay | undefined;
export function setInlineRelay(relay: InlineRelay | undefined): void {
  inlineRelay = relay;
}

const PendingFactSchema = new Schema<PendingFact>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: Schema.Types.Mixed, required: true },
    data: { type: Schema.Types.Mixed, default: {} },
  },
  { _id: false, minimize: false },
);

type UpdateDoc = Record<string, unknown> & { $push?: Record<string, unknown>; $set?: Record<string, unknown>; $setOnInsert?: Record<string, unknown> };

function recordsFacts(update: unknown): boolean {
  if (!update || typeof update !== 'object' || Array.isArray(update)) return false;
  const u = update as UpdateDoc;
  return Boolean(u.$push && 'outbox' in u.$push) || Boolean(u.$setOnInsert && 'outbox' in u.$setOnInsert);
}

async function relayQuietly(model: FactSourceModel, subjectId: unknown): Promise<void> {
  if (typeof subjectId !== 'string' || !inlineRelay) return;
  try {
    await inlineRelay(model, subjectId);
  } catch {
    // The fact is safe on the document; the relay sweep copies it.
  }
}

/**
 * Makes a schema a source of facts: adds the outbox fields and their index, and relays right after each write
 * that recorded a fact (so a timeline read just after a change shows it). The write itself never fails for it.
 */
export function factSource(schema: Schema, options: FactSourceOptions): void {
  schema.add({
    outbox: { type: [PendingFactSchema], default: [] },
    factCount: { type: Number, default: 0 },
    outboxDueAt: { type: Date },
  });
  schema.index({ outboxDueAt: 1 });
  sourceOptions.set(schema, options);

  schema.post(
    'findOneAndUpdate',
    async function relayAfterFindOneAndUpdate(this: { getUpdate(): unknown; model: FactSourceModel }, doc: { _id?: unknown } | null) {
      if (doc && recordsFacts(this.getUpdate())) await relayQuietly(this.model, doc._id);
    },
  );
  schema.post(
    'updateOne',
    async function relayAfterUpdateOne(
      this: { getUpdate(): unknown; getFilter(): Record<string, unknown>; model: FactSourceModel },
      result: { modifiedCount?: number; upsertedCount?: number; upsertedId?: unknown },
    ) {
      if (!recordsFacts(this.getUpdate())) return;
      if (!result || ((result.modifiedCount ?? 0) === 0 && (result.upsertedCount ?? 0) === 0)) return;
      await relayQuietly(this.model, result.upsertedId ?? this.getFilter()._id);
    },
  );
  schema.post('save', async function relayAfterSave(this: { _id: unknown; outbox?: unknown[]; constructor: unknown }) {
    if (this.outbox && this.outbox.length > 0) await relayQuietly(this.constructor as FactSourceModel, this._id);
  });
}

/** A fact to record: goes into an update with `recordFacts`, or into a new document with `initialFacts`. */
export function fact(type: FactType, actor: Actor, at: Date, data: Record<string, unknown> = {}): PendingFact {
  return { _id: newId('fct'), type, at, actor, data };
}

type Update = {
  $set?: Record<string, unknown>;
  $push?: Record<string, unknown>;
  $inc?: Record<string, unknown>;
  [operator: string]: unknown;
};

/**
 * Adds facts to an update of a fact source, in the same write: they become true together with the change.
 * The update must not already push to `outbox` or increment `factCount`.
 */
export function recordFacts<U extends Update>(update: U, ...facts: PendingFact[]): U & Update {
  if (facts.length === 0) return update;
  const earliest = facts.reduce((min, f) => (f.at < min ? f.at : min), facts[0]!.at);
  return {
    ...update,
    $push: { ...(update.$push ?? {}), outbox: { $each: facts } },
    $inc: { ...(update.$inc ?? {}), factCount: facts.length },
    $set: { ...(update.$set ?? {}), outboxDueAt: earliest },
  };
}

/** The outbox fields of a document created with its first facts. */
export function initialFacts(...facts: PendingFact[]): FactBearing {
  return facts.length === 0
    ? { outbox: [], factCount: 0 }
    : { outbox: facts, factCount: facts.length, outboxDueAt: facts.reduce((min, f) => (f.at < min ? f.at : min), facts[0]!.at) };
}
