import { z } from 'zod';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import type { PortalPlace } from './portal-access';
import { brandOf, type Brand } from './shop-view';

/**
 * What the pages under a subscription (orders, rewards, payment, activity) share: the way back, the subscription's
 * name, and its tabs with the current one marked.
 */
export interface SubscriptionHeader {
  brand: Brand;
  base: string;
  name: string;
  variant: string;
  tabs: Array<{ href: string; label: string; current: boolean }>;
}

const TABS = [
  { path: 'change', label: 'Change the box' },
  { path: 'orders', label: 'Orders' },
  { path: 'rewards', label: 'Rewards' },
  { path: 'payment', label: 'Payment' },
  { path: 'activity', label: 'Activity' },
] as const;

export function subscriptionHeader(place: PortalPlace, view: SubscriptionView, current: 'orders' | 'rewards' | 'payment' | 'activity'): SubscriptionHeader {
  const base = `/shop/${place.store.handle}/subscriptions/${view.id}`;
  return {
    brand: brandOf(place.store),
    base,
    name: view.box.planName,
    variant: view.box.variantName,
    tabs: TABS.map((tab) => ({ href: `${base}/${tab.path}`, label: tab.label, current: tab.path === current })),
  };
}

/** A page cursor as this site writes it (base64url); anything else is not one of ours. */
export const PageCursor = z.string().regex(/^[A-Za-z0-9_-]{8,300}$/);

/** The first letter up: a fact's words as a sentence. */
export function sentence(words: string): string {
  return words.charAt(0).toUpperCase() + words.slice(1);
}
