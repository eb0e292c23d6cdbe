/**
 * The contract between the two halves of the messages domain (issue 12), agreed before either is built:
 *   - delivery (message.model.ts, message.service.ts, message-delivery.service.ts, mail-transport.ts, …):
 *     the outbox, sending over SMTP, retries, suppression, preferences and unsubscribing, quiet hours;
 *   - content (views/emails/, message-templates.ts, message-rendering.ts, the listeners and timed jobs):
 *     what each message says, when it is sent, the merchant's choices.
 * Content renders a message and hands it to `queueMessage`; delivery owns everything after that.
 */

/**
 * `transactional`: about something the shopper did or is owed (a receipt, a shipment, a failed payment, a
 * change they made) — always sent. `reminder`: a nudge about their subscription (the upcoming box, the yearly
 * terms reminder) — sent in the recipient's daytime, with a one-click unsubscribe. `marketing`: offers and
 * win-back — daytime, unsubscribe, and only with the shopper's marketing consent.
 */
export const MESSAGE_CATEGORIES = ['transactional', 'reminder', 'marketing'] as const;
export type MessageCategory = (typeof MESSAGE_CATEGORIES)[number];

export type MessageAudience = 'shopper' | 'merchant';

/** A rendered message, ready to queue. */
export interface OutgoingMessage {
  /**
   * What it is about, unique with the template and the recipient: the fact's id (`sub_…:00000007`) for a
   * message that follows a fact, or the occasion (`upcoming:<subscription>:<cycle>`) for a timed one. A second
   * queueing of the same (key, template, recipient) queues nothing.
   */
  key: string;
  /** The template's name (message-templates.ts), e.g. `box.shipped`. */
  template: string;
  category: MessageCategory;
  audience: MessageAudience;
  merchantId?: string;
  customerId?: string;
  subscriptionId?: string;
  /** The recipient's address. */
  to: string;
  /** The sender shown; without it the merchant's from-address (or the installation's MAIL_FROM). */
  from?: { name: string; address: string };
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
  /** Not before this instant (a timed message); reminders and marketing are moved further into the recipient's daytime. */
  sendAfter?: Date;
  /** The recipient's IANA time zone, for quiet hours (the shopper's, else the merchant's). */
  timezone: string;
  /** The fact it follows, if any (for the timeline and the message log). */
  factId?: string;
}

/** Where people land from an e-mail's links (action pages, unsubscribe): the public base URL (PUBLIC_URL). */
export interface MessageLinks {
  publicUrl: string;
}

/**
 * What `queueMessage(deps, message)` (message.service.ts) answers: the outbox id; whether this call stored
 * it (false: the same key, template and recipient were queued before, and nothing more is stored); and its
 * status now (`suppressed` when its recipient must not get it: a bounced address, an unsubscribed category,
 * marketing without consent — it is kept, and never sent).
 */
export interface QueuedMessage {
  id: string;
  queued: boolean;
  status: 'queued' | 'sent' | 'failed' | 'suppressed';
}

/** Delivery's entry point, as content calls it (a listener's deps will do: only the clock is read). */
export type QueueMessage = (deps: { clock: { now(): Date } }, message: OutgoingMessage) => Promise<QueuedMessage>;
