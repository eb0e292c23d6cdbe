import { model, Schema } from 'mongoose';
import type { SubscriptionSyncDeps } from '../subscriptions/subscription.service';
import { HANDLERS, processWebhookEvent } from './process-event.service';
import { newId } from '../shared/ids';
import { STRIPE_API_VERSION } from '../stripe/stripe-client';
import { ReconciliationRunModel, type ReconciliationRun } from './reconciliation-run.model';
import { WebhookEventModel } from './webhook-event.model';
import { receiveEvent } from './webhook-inbox.service';

/** The overlap re-read each time (events created near the edge may be listed late). */
const OVERLAP_MS = 10 * 60_000;
/** Stripe keeps events for 30 days: the first run looks that far back; older events cannot be listed. */
const STRIPE_EVENT_RETENTION_MS = 30 * 24 * 3_600_000;

interface ReconciliationCursor {
  _id: string;
  /** The `created` time of the newest Stripe event seen by reconciliation. */
  lastEventCreatedAt: Date;
  updatedAt: Date;
}

const ReconciliationCursorModel = model<ReconciliationCursor>(
  'ReconciliationCursor',
  new Schema<ReconciliationCursor>(
    { _id: { type: String, required: true }, lastEventCreatedAt: { type: Date, required: true }, updatedAt: { type: Date, required: true } },
    { collection: 'reconciliation_cursors', versionKey: false },
  ),
);

const CURSOR_ID = 'stripe-events';

/** How long an error is kept on a run (the full one is in the worker's log). */
const MAX_ERROR_LENGTH = 500;

/**
 * The webhooks.reconcile-events job: each run is recorded (`reconciliation_runs`: started, then finished with
 * what was listed and recovered, or failed with its error, which is thrown on for the job's own retry).
 * See `findMissedStripeEvents` for what it does.
 */
export async function reconcileStripeEvents(deps: SubscriptionSyncDeps): Promise<{ listed: number; recovered: number }> {
  const _id = newId('rcn');
  await ReconciliationRunModel.create({ _id, status: 'running', startedAt: deps.clock.now() });
  try {
    const result = await findMissedStripeEvents(deps);
    await ReconciliationRunModel.updateOne(
      { _id, status: 'running' },
      { $set: { status: 'succeeded', finishedAt: deps.clock.now(), listed: result.listed, recovered: result.recovered } },
    );
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await ReconciliationRunModel.updateOne(
      { _id, status: 'running' },
      { $set: { status: 'failed', finishedAt: deps.clock.now(), error: message.slice(0, MAX_ERROR_LENGTH) } },
    ).catch((recordError: unknown) => deps.logger.warn({ err: recordError, runId: _id }, 'reconciliation run not recorded as failed'));
    throw error;
  }
}

/** The latest reconciliation runs, newest first (a platform record: every store sees the same runs). */
export async function recentReconciliationRuns(limit: number): Promise<ReconciliationRun[]> {
  return ReconciliationRunModel.find({}).sort({ startedAt: -1, _id: -1 }).limit(limit).lean();
}

/**
 * What the reconciliation does: lists the Stripe events of the types we handle since the last one seen
 * (with an overlap), and feeds any the endpoint never received into the inbox, processing them at once.
 * Events already in the inbox are recognised by id, so running it twice changes nothing.
 * Returns how many missing events it found.
 */
async function findMissedStripeEvents(deps: SubscriptionSyncDeps): Promise<{ listed: number; recovered: number }> {
  const now = deps.clock.now();
  const cursor = await ReconciliationCursorModel.findById(CURSOR_ID).lean();
  const oldest = now.getTime() - STRIPE_EVENT_RETENTION_MS;
  const from = new Date(cursor ? Math.max(oldest, cursor.lastEventCreatedAt.getTime() - OVERLAP_MS) : oldest);
  let listed = 0;
  let recovered = 0;
  let newest = cursor?.lastEventCreatedAt;
  for await (const listedEvent of deps.stripe.listEvents({ createdFrom: from, types: Object.keys(HANDLERS) })) {
    // Stripe filters by type; stripe-mock (offline) answers a fixed fixture list, which is not ours to store.
    if (!Object.hasOwn(HANDLERS, listedEvent.type)) continue;
    listed += 1;
    if (await WebhookEventModel.exists({ _id: listedEvent.id })) continue;
    // Rendered in another API version than ours: the handlers read the object as our version shows it.
    const event = listedEvent.api_version === STRIPE_API_VERSION ? listedEvent : await deps.stripe.refreshEventObject(listedEvent);
    if (!event) {
      deps.logger.warn(
        { eventId: listedEvent.id, type: listedEvent.type, apiVersion: listedEvent.api_version },
        'listed event skipped: its object cannot be read in our API version',
      );
      continue;
    }
    if (await receiveEvent(deps.clock, event)) {
      recovered += 1;
      await processWebhookEvent(deps, event.id);
    }
    const created = new Date(listedEvent.created * 1000);
    if (!newest || created > newest) newest = created;
  }
  if (newest) {
    await ReconciliationCursorModel.updateOne(
      { _id: CURSOR_ID, $or: [{ lastEventCreatedAt: { $lt: newest } }, { lastEventCreatedAt: { $exists: false } }] },
      { $set: { lastEventCreatedAt: newest, updatedAt: now } },
      { upsert: true },
    ).catch((error: unknown) => {
      // Another worker moved the cursor further meanwhile (the upsert then collides with its document).
      if (!(error instanceof Error && /E11000/.test(error.message))) throw error;
    });
  }
  if (recovered > 0) deps.logger.warn({ recovered, listed }, 'Stripe events the endpoint never received were recovered');
  return { listed, recovered };
}
