import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import { NotificationModel, type Notification } from './notification.model';

/**
 * The messages queued before e-mail was delivered (issue 12): read-only now. Messages are rendered and queued
 * by src/messages (templates in views/emails/, the outbox); this list and its collection are retired with it.
 */
import type { NotificationView } from './notification.schemas';

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
