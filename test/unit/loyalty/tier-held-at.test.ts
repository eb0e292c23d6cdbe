import { tierHeldAt } from '../../../src/loyalty/loyalty.service';

const at = (iso: string) => new Date(iso);
const history = [
  { from: null, to: 'silver', at: at('2026-04-15T15:30:05Z'), reason: 'Reached Silver' },
  { from: 'silver', to: 'gold', at: at('2026-10-15T15:30:05Z'), reason: 'Reached Gold' },
  { from: 'gold', to: null, at: at('2027-02-15T15:30:05Z'), reason: 'Fell below Silver' },
];

describe('the tier held when a box was paid', () => {
  test('when points are earned late for a payment, then they use the tier held at the payment, not the tier held now', () => {
    const account = { tierKey: undefined, tierHistory: history };
    expect(tierHeldAt(account, at('2026-04-01T00:00:00Z'))).toBeUndefined();
    expect(tierHeldAt(account, at('2026-05-01T00:00:00Z'))).toBe('silver');
    expect(tierHeldAt(account, at('2026-12-01T00:00:00Z'))).toBe('gold');
    expect(tierHeldAt(account, at('2027-03-01T00:00:00Z'))).toBeUndefined();
  });

  test('when the tier changed at the very instant of the payment, then the payment came first (the evaluation counted it)', () => {
    expect(tierHeldAt({ tierKey: 'gold', tierHistory: history }, at('2026-10-15T15:30:05Z'))).toBe('silver');
  });

  test('when an account has no history, then its stored tier is the one held', () => {
    expect(tierHeldAt({ tierKey: 'gold', tierHistory: [] }, at('2026-10-15T15:30:05Z'))).toBe('gold');
  });
});
