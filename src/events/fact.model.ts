import { model, Schema } from 'mongoose';
import type { WorkItem } from '../shared/work-queue';
import { ACTOR_KINDS, FACT_TYPES, SUBJECT_TYPES, type Actor, type FactType, type SubjectType } from './fact-types';

/**
 * A domain fact in the `events` collection, copied there by the relay from the outbox of the document it is
 * about. Its id is deterministic — the subject and the fact's place in the subject's sequence — so a second
 * relay of the same fact collides and changes nothing. It is also the dispatcher's unit of work: the listeners
 * that already ran for it are in `done`, so a retry runs only the ones that did not.
 */
export interface Fact extends WorkItem {
  _id: string;
  merchantId: string;
  type: FactType;
  subjectType: SubjectType;
  subjectId: string;
  /** 1, 2, 3 … per subject: the order in which the subject's facts became true. */
  seq: number;
  /** When it became true. */
  at: Date;
  actor: Actor;
  /** What changed, in the domain's words (ids, dates, amounts, reasons). */
  data: Record<string, unknown>;
  /** The shopper and subscription it concerns, for their timelines. */
  customerId?: string;
  subscriptionId?: string;
  relayedAt: Date;
  /** Listeners that have run for this fact. */
  done: string[];
  dispatchedAt?: Date;
}

/** `sub_…:00000042`: the subject and the fact's place in its sequence (zero-padded, so ids sort like seq). */
export function factId(subjectId: string, seq: number): string {
  return `${subjectId}:${String(seq).padStart(8, '0')}`;
}

const FactSchema = new Schema<Fact>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    type: { type: String, enum: FACT_TYPES, required: true },
    subjectType: { type: String, enum: SUBJECT_TYPES, required: true },
    subjectId: { type: String, required: true },
    seq: { type: Number, required: true },
    at: { type: Date, required: true },
    actor: { type: new Schema({ kind: { type: String, enum: ACTOR_KINDS, required: true }, id: { type: String } }, { _id: false }), required: true },
    data: { type: Schema.Types.Mixed, default: {} },
    customerId: { type: String },
    subscriptionId: { type: String },
    relayedAt: { type: Date, required: true },
    done: { type: [String], default: [] },
    dispatchedAt: { type: Date },
    state: { type: String, enum: ['pending', 'processing', 'succeeded', 'failed'], required: true },
    attempts: { type: Number, required: true, default: 0 },
    lastError: { type: String },
    claimedAt: { type: Date },
    nextAttemptAt: { type: Date },
  },
  { collection: 'events', versionKey: false, minimize: false },
);
// One fact per place in a subject's sequence (also the order the dispatcher follows per subject).
FactSchema.index({ subjectId: 1, seq: 1 }, { unique: true });
// Timelines, newest first.
FactSchema.index({ merchantId: 1, subscriptionId: 1, at: -1, _id: -1 });
FactSchema.index({ merchantId: 1, customerId: 1, at: -1, _id: -1 });
// Replays and projections by type and time.
FactSchema.index({ merchantId: 1, type: 1, at: 1, subjectId: 1, seq: 1 });
// The dispatcher (src/shared/work-queue.ts): pending facts in order, failed ones whose backoff passed, stuck claims.
FactSchema.index({ state: 1, at: 1, subjectId: 1, seq: 1 });
FactSchema.index({ state: 1, nextAttemptAt: 1, _id: 1 });
FactSchema.index({ state: 1, claimedAt: 1 });

export const FactModel = model<Fact>('Fact', FactSchema);
