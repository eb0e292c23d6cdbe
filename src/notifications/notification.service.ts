import path from 'node:path';
import ejs from 'ejs';
import { projectRoot } from '../local/project-paths';
import { derivedId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { NotificationModel, type Notification } from './notification.model';
import type { NotificationView } from './notification.schemas';

/** The messages we send, each with its plain-text template in views/notifications/<type>.text.ejs. */
export type NotificationType =
  | 'box.adjusted'
  | 'box.back_ordered'
  | 'box.skipped_out_of_stock'
  | 'gift.thank_you'
  | 'loyalty.points_expiring'
  | 'loyalty.tier_changed'
  | 'referral.rewarded';

/** Messages to a merchant's address about its account, each with its template in views/notifications/<type>.ejs. */
export type AccountMessageType = 'merchant.sign_up_confirmation' | 'merchant.sign_up_attempted';

const SUBJECTS: Record<NotificationType | AccountMessageType, string> = {
  'box.adjusted': 'A change to your next box',
  'box.back_ordered': 'Part of your box is on back-order',
  'box.skipped_out_of_stock': 'Your next box is skipped: no charge',
  'gift.thank_you': 'A little something, to say thank you',
  'loyalty.points_expiring': 'Some of your points expire soon',
  'loyalty.tier_changed': 'Your membership tier changed',
  'referral.rewarded': 'Your friend joined: your reward is here',
  'merchant.sign_up_confirmation': 'Confirm your e-mail address to open your Boxcycle store',
  'merchant.sign_up_attempted': 'Someone tried to sign up with your e-mail address',
};

const TEMPLATES = path.join(projectRoot, 'views', 'notifications');

/** Plain text is not HTML: a value prints as it is ("O'Neil & Sons", not "O&#39;Neil &amp; Sons"). */
// eslint-disable-next-line @typescript-eslint/no-base-to-string -- EJS prints a value with String() too; templates print scalars
const asPlainText = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/**
 * Renders one part of a message from its template. What `<%= %>` does depends on the part, named by the
 * file: a `.text.ejs` part prints values as they are, an `.html.ejs` part escapes them for HTML (EJS's
 * default). A template that says neither is refused, so no part is ever escaped for the wrong medium.
 */
export async function renderMessagePart(file: string, data: Record<string, unknown>): Promise<string> {
  if (file.endsWith('.text.ejs')) return ejs.renderFile(file, data, { async: true, escape: asPlainText });
  if (file.endsWith('.html.ejs')) return ejs.renderFile(file, data, { async: true });
  throw new Error(`${file}: a message template is named <name>.text.ejs or <name>.html.ejs`);
}

/** The plain text of a message of this type. */
function renderMessage(type: NotificationType | AccountMessageType, data: Record<string, unknown>): Promise<string> {
  return renderMessagePart(path.join(TEMPLATES, `${type}.text.ejs`), data);
}

/**
 * Queues a message once per `aboutKey` (e.g. the order it is about): a retried job or a second worker
 * queues nothing more. The text is rendered now from the template.
 */
export async function queueNotification(
  clock: Clock,
  input: { merchantId: string; customerId: string; subscriptionId?: string; type: NotificationType; aboutKey: string; data: Record<string, unknown> },
): Promise<void> {
  const text = await renderMessage(input.type, input.data);
  await NotificationModel.updateOne(
    { _id: derivedId('ntf', `${input.merchantId}:${input.type}:${input.aboutKey}`) },
    {
      $setOnInsert: {
        merchantId: input.merchantId,
        customerId: input.customerId,
        ...(input.subscriptionId ? { subscriptionId: input.subscriptionId } : {}),
        type: input.type,
        subject: SUBJECTS[input.type],
        text: text.trim(),
        status: 'queued',
        createdAt: clock.now(),
      },
    },
    { upsert: true },
  );
}

/**
 * Queues a message to an account holder's address (`to`), once per `aboutKey`. `merchantId` when the address
 * has an account. Not listed among the shoppers' notifications.
 */
export async function queueAccountMessage(
  clock: Clock,
  input: { to: string; merchantId?: string; type: AccountMessageType; aboutKey: string; data: Record<string, unknown> },
): Promise<void> {
  const text = await renderMessage(input.type, input.data);
  await NotificationModel.updateOne(
    { _id: derivedId('ntf', `${input.to}:${input.type}:${input.aboutKey}`) },
    {
      $setOnInsert: {
        ...(input.merchantId ? { merchantId: input.merchantId } : {}),
        audience: 'merchant',
        to: input.to,
        type: input.type,
        subject: SUBJECTS[input.type],
        text: text.trim(),
        status: 'queued',
        createdAt: clock.now(),
      },
    },
    { upsert: true },
  );
}

function toNotificationView(notification: Notification): NotificationView {
  return {
    id: notification._id,
    object: 'notification',
    customerId: notification.customerId ?? '', // listed notifications are all to shoppers, who have one
    subscriptionId: notification.subscriptionId ?? null,
    type: notification.type,
    subject: notification.subject,
    text: notification.text,
    status: notification.status,
    createdAt: iso(notification.createdAt),
  };
}

export async function listNotifications(merchantId: string, query: { limit: number; startingAfter?: string | undefined; customerId?: string | undefined }) {
  const notifications = await NotificationModel.find({
    merchantId,
    audience: { $ne: 'merchant' },
    ...(query.customerId ? { customerId: query.customerId } : {}),
    ...afterCursor(decodeCursor(query.startingAfter)),
  })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(notifications, query.limit, toNotificationView);
}
