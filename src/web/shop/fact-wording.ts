/** What a fact about a subscription says, in a shopper's words (receipts, undo, the activity page). */
export function describeFact(type: string, data: Record<string, unknown>): string {
  const text = (key: string) => (typeof data[key] === 'string' ? data[key] : '');
  switch (type) {
    case 'subscription.skipped':
      return `the box of ${text('cycleKey')} was skipped`;
    case 'subscription.unskipped':
      return `the box of ${text('cycleKey')} was brought back`;
    case 'subscription.paused':
      return `the subscription was paused from ${text('startsOn')}`;
    case 'subscription.swapped':
      return 'what comes in the boxes was changed';
    case 'subscription.cadence_changed':
      return `how often boxes come was changed from ${text('from')} to ${text('to')}`;
    case 'subscription.charge_date_changed':
      return `the charge date was moved from ${text('from')} to ${text('to')}`;
    case 'subscription.addon_added':
      return 'an extra was added';
    case 'subscription.cancellation_scheduled':
      return 'the subscription was set to end';
    default:
      return 'a change';
  }
}
