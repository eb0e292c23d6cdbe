import request from 'supertest';
import type { FakeClock } from '../../src/shared/time';
import type { StripeGateway } from '../../src/stripe/stripe-gateway';
import { prepareDueBoxes } from '../../src/renewals/renewal.service';
import { syncDueSubscriptions } from '../../src/subscriptions/subscription.service';
import { processWebhookEvent } from '../../src/webhooks/process-event.service';
import { buildPaidInvoice } from '../factories/invoice.factory';
import { buildEvent, signEvent } from './stripe-events';
import type { TestApp } from './test-app';
import { silentLogger } from './test-env';
import { followFacts } from './facts';
import { coreAnswers } from '../../src/wiring';

/**
 * Drives renewals the way production does, on the fake clock: Stripe's events are posted to the real
 * endpoint, signed exactly as Stripe signs them, and the jobs the app queued are run by calling their
 * handlers; the cut-off and sync jobs are run when the test says time has come.
 */
export function renewalDriver(testApp: TestApp, gateway: StripeGateway) {
  const { app, clock, stripe, queued } = testApp;
  const deps = { clock, stripe: gateway, logger: silentLogger, extras: coreAnswers({ clock }).boxExtras };

  /** What the worker runs next to the queued jobs: the listeners of every fact recorded so far. */
  const follow = () => followFacts(clock, gateway);

  async function processQueued(): Promise<void> {
    while (queued.length > 0) {
      const job = queued.shift()!;
      if (job.name === 'webhooks.process-event') await processWebhookEvent(deps, job.data.eventId as string);
    }
    await follow();
  }

  /** Every event delivered, in order (for replays). */
  const delivered: Array<ReturnType<typeof buildEvent>> = [];

  async function post(event: ReturnType<typeof buildEvent>): Promise<number> {
    const signed = signEvent(stripe, event, clock.now());
    const res = await request(app).post('/webhooks/stripe').set('stripe-signature', signed.header).set('content-type', 'application/json').send(signed.payload);
    await processQueued();
    return res.status;
  }

  /** Posts a signed event (created at `createdAt`, default now) and processes it; returns the HTTP status. */
  async function deliver(type: string, object: Record<string, unknown>, createdAt: Date = clock.now()): Promise<number> {
    const event = buildEvent(type, object, createdAt);
    delivered.push(event);
    return post(event);
  }

  /**
   * Every event delivered so far, again: each as Stripe retries it (same id, acknowledged as a duplicate) and
   * each as a new event about the same object (a new id: the handlers must recognise the work as done).
   */
  async function replayAll(): Promise<void> {
    for (const event of [...delivered]) {
      await post(event);
      await post({
        ...buildEvent(event.type as string, (event.data as { object: Record<string, unknown> }).object, new Date((event.created as number) * 1000)),
      });
    }
  }

  return {
    deps,
    deliver,
    delivered,
    replayAll,
    processQueued,
    /** The listeners of every fact recorded so far (the events.dispatch-facts job). */
    followFacts: follow,
    /** The renewals.prepare-boxes job, as the worker runs it, and the listeners of what it recorded. */
    runCutoffs: async () => {
      const seen = await prepareDueBoxes(deps);
      await follow();
      return seen;
    },
    /** The subscriptions.sync-to-stripe job. */
    syncStripe: async () => {
      const count = await syncDueSubscriptions(deps);
      await follow();
      return count;
    },
    /** Stripe charged the cycle starting at `periodStart`: `invoice.paid`. */
    pay: (stripeSubscriptionId: string, periodStart: Date, amountPaidMinor: number, invoiceId?: string) =>
      deliver('invoice.paid', buildPaidInvoice(stripeSubscriptionId, periodStart, amountPaidMinor, invoiceId)),
    /** Stripe's attempt to charge the cycle failed: `invoice.payment_failed`. */
    fail: (stripeSubscriptionId: string, periodStart: Date, invoiceId: string, attempt: number) =>
      deliver('invoice.payment_failed', {
        id: invoiceId,
        object: 'invoice',
        attempt_count: attempt,
        hosted_invoice_url: `https://invoice.stripe.com/i/acct_test/${invoiceId}`,
        parent: { subscription_details: { subscription: stripeSubscriptionId } },
        lines: {
          object: 'list',
          data: [{ period: { start: Math.floor(periodStart.getTime() / 1000), end: Math.floor(periodStart.getTime() / 1000) + 30 * 86_400 } }],
        },
      }),
  };
}

/** Moves the fake clock to an instant given as ISO text or Date. */
export function at(clock: FakeClock, instant: string | Date): void {
  clock.set(typeof instant === 'string' ? instant : instant.toISOString());
}
