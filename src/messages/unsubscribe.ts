// replaced by the delivery half at merge
import type { MessageCategory } from './message-contract';

/** Where a shopper stops mail of one category from one merchant (the delivery half signs and serves it). */
export function unsubscribeUrl(publicUrl: string, input: { merchantId: string; customerId: string; category: MessageCategory }): string {
  const query = new URLSearchParams({ merchant: input.merchantId, customer: input.customerId, category: input.category });
  return `${publicUrl}/unsubscribe?${query.toString()}`;
}
