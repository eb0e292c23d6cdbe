import type { ListenerTable } from './events/dispatcher.service';
import { tellBoxAdjusted, tellBoxBackOrdered, tellBoxSkippedForStock } from './notifications/box-messages.listeners';

/**
 * What follows each domain fact — the one place effects are wired. A fact is recorded by the service that
 * made it true (src/events/fact-types.ts lists them); the `events.dispatch-facts` job runs these listeners,
 * in this order, once per fact, each subject's facts in order. A new message, metric or reward is a new row
 * here, not a call inside a billing service.
 */
export const listeners: ListenerTable = {
  // Boxes (the core records them; these follow)
  'box.adjusted': [tellBoxAdjusted],
  'box.back_ordered': [tellBoxBackOrdered],
  'box.cancelled': [tellBoxSkippedForStock],
};
