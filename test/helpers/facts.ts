import { drainFacts } from '../../src/events/dispatcher.service';
import { FactModel, type Fact } from '../../src/events/fact.model';
import { listeners } from '../../src/listeners';
import type { Clock } from '../../src/shared/time';
import type { StripeGateway } from '../../src/stripe/stripe-gateway';
import { silentLogger } from './test-env';

/** Where message links lead in tests (the listeners that send messages need it, as the worker hands it in). */
export const TEST_LINKS = { publicUrl: 'http://localhost:3000', appSecret: 'test-app-secret' };

/**
 * Runs what the `events.dispatch-facts` job runs: relays facts waiting in outboxes and follows every due
 * fact with the real listener table, until nothing is left. Tests call it where an effect follows a fact.
 */
export function followFacts(clock: Clock, stripe: StripeGateway = {} as StripeGateway): Promise<number> {
  return drainFacts({ clock, logger: silentLogger, stripe, links: TEST_LINKS }, listeners);
}

/** The facts recorded about a subject (or everything a subscription or shopper concerns), oldest first. */
export async function factsAbout(filter: { subjectId?: string; subscriptionId?: string; customerId?: string; merchantId?: string }): Promise<Fact[]> {
  return FactModel.find(filter).sort({ at: 1, subjectId: 1, seq: 1 }).lean();
}
