import { signActionToken } from '../shared/action-tokens';
import { installationSecret } from '../shared/installation-secret';

/**
 * The actions a message's links ask for. Each link opens the page `/a/<token>` (built with the shopper
 * pages), which says what will happen and acts only when its button is pressed (mail scanners open every
 * link); every action is idempotent there, so a second press says it is done. The token names the action,
 * the merchant, the subject (a subscription, or the shopper) and what else the action needs.
 */
export const MESSAGE_ACTIONS = [
  /** Skip a box: `{ cycleKey }`, subject the subscription. Until the box's cut-off. */
  'subscription.skip',
  /** Un-skip a box: `{ cycleKey }`, subject the subscription. Until the box's cut-off. */
  'subscription.unskip',
  /** Resume a paused subscription: subject the subscription. */
  'subscription.resume',
  /** Undo a scheduled cancellation, or subscribe again with the same box once it has ended: subject the subscription. */
  'subscription.reactivate',
  /** Choose another variant (or plan) from the first open box on: subject the subscription. */
  'subscription.swap',
  /** Add an extra to a box: `{ cycleKey }`, subject the subscription. Until the box's cut-off. */
  'subscription.add-extra',
  /** Undo a change of the subscription, named by its fact: `{ factId }`, subject the subscription. */
  'subscription.undo',
  /** Undo a change of the shopper (their address), named by its fact: `{ factId }`, subject the shopper. */
  'customer.undo',
  /** Choose another variant for a box that could not be as chosen: `{ cycleKey }`, subject the subscription. */
  'box.choose-variant',
  /** Decline a box changed at its cut-off (substituted or short) before its charge: `{ cycleKey }`, subject the subscription. */
  'box.decline',
  /** Rate a box: `{ orderId }`, subject the subscription. */
  'box.rate',
  /** Give a new card: subject the shopper. */
  'payment.update-card',
] as const;
export type MessageAction = (typeof MESSAGE_ACTIONS)[number];

/** No link lives longer than this, whatever it is for. */
export const MAX_LINK_DAYS = 30;
const DAY_MS = 86_400_000;

/** The secret that signs action links: APP_SECRET, else the one this installation made (shared by every process). */
export function actionLinkSecret(appSecret: string | undefined, now: Date): Promise<string> {
  return installationSecret('action-links', appSecret, now);
}

/** A signed, expiring, single-purpose link: `<publicUrl>/a/<token>`. */
export function actionUrl(
  publicUrl: string,
  secret: string,
  input: { action: MessageAction; merchantId: string; subjectId: string; data?: Record<string, string>; expiresAt: Date },
): string {
  const token = signActionToken(secret, {
    action: input.action,
    merchantId: input.merchantId,
    subjectId: input.subjectId,
    ...(input.data ? { data: input.data } : {}),
    expiresAt: input.expiresAt,
  });
  return `${publicUrl}/a/${token}`;
}

/**
 * When a link for something possible until `possibleUntil` expires: then, but never more than 30 days from
 * now; undefined when it is no longer possible (no link is sent).
 */
export function linkExpiry(now: Date, possibleUntil: Date | undefined = undefined): Date | undefined {
  const cap = new Date(now.getTime() + MAX_LINK_DAYS * DAY_MS);
  if (possibleUntil === undefined) return cap;
  if (possibleUntil.getTime() <= now.getTime()) return undefined;
  return possibleUntil < cap ? possibleUntil : cap;
}
