import { defineRoute, type RouteDefinition } from '../shared/http/route';
import { ListNotificationsQuery, NotificationList } from './notification.schemas';
import { listNotifications } from './notification.service';

export function notificationRoutes(): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'listNotifications',
      method: 'get',
      path: '/notifications',
      tag: 'Notifications',
      summary: 'List the messages queued for shoppers, newest first',
      description: 'What each shopper was told and when: a box changed or skipped at its cut-off.',
      auth: 'merchant',
      query: ListNotificationsQuery,
      response: { status: 200, description: 'A page of notifications', schema: NotificationList },
      handler: async ({ principal, query }) => ({ body: await listNotifications(principal!.merchantId, query) }),
    }),
  ];
}
