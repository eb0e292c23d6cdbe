import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { Instant } from '../shared/schemas';

export const ListNotificationsQuery = z.strictObject({ ...ListQuery, customerId: z.string().max(100).optional() });

export const NotificationView = z
  .strictObject({
    id: z.string(),
    object: z.literal('notification'),
    customerId: z.string(),
    subscriptionId: z.string().nullable(),
    type: z.string(),
    subject: z.string(),
    text: z.string(),
    status: z.enum(['queued']),
    createdAt: Instant,
  })
  .meta({ id: 'Notification' });
export type NotificationView = z.infer<typeof NotificationView>;

export const NotificationList = listSchema(NotificationView, 'NotificationList');
