import type { ListenerTable } from './events/dispatcher.service';

/**
 * What follows each domain fact — the one place effects are wired. A fact is recorded by the service that
 * made it true (src/events/fact-types.ts lists them); the `events.dispatch-facts` job runs these listeners,
 * in this order, once per fact, each subject's facts in order. A new message, metric or reward is a new row
 * here, not a call inside a billing service.
 */
export const listeners: ListenerTable = {};
