import { earliestSendAt } from '../../../src/messages/quiet-hours';

const at = (iso: string): Date => new Date(iso);

describe('quiet hours: reminders and marketing in the recipient’s daytime (08:00–20:00 local)', () => {
  test('when a transactional message is queued at 03:00 local, then it goes at once', () => {
    expect(earliestSendAt(at('2026-06-10T07:00:00Z'), 'America/New_York', 'transactional')).toEqual(at('2026-06-10T07:00:00Z'));
  });

  test.each([
    ['08:00:00 (the first daytime second)', '2026-06-10T12:00:00Z'],
    ['13:00', '2026-06-10T17:00:00Z'],
    ['19:59:59', '2026-06-10T23:59:59Z'],
  ])('when a reminder is queued at %s local, then it goes at once', (_local, instant) => {
    expect(earliestSendAt(at(instant), 'America/New_York', 'reminder')).toEqual(at(instant));
  });

  test.each([
    ['07:59:59', '2026-06-10T11:59:59Z', '2026-06-10T12:00:00Z'],
    ['00:00', '2026-06-10T04:00:00Z', '2026-06-10T12:00:00Z'],
    ['20:00 (night begins)', '2026-06-11T00:00:00Z', '2026-06-11T12:00:00Z'],
    ['23:30', '2026-06-11T03:30:00Z', '2026-06-11T12:00:00Z'],
  ])('when marketing is queued at %s local in New York, then it waits for 08:00 local', (_local, instant, expected) => {
    expect(earliestSendAt(at(instant), 'America/New_York', 'marketing')).toEqual(at(expected));
  });

  describe('across a spring-forward night (New York, 2026-03-08: 02:00 EST becomes 03:00 EDT)', () => {
    test('when a reminder is queued at 22:00 EST the evening before, then it goes at 08:00 EDT (12:00 UTC, not the 13:00 UTC of the evening’s offset)', () => {
      expect(earliestSendAt(at('2026-03-08T03:00:00Z'), 'America/New_York', 'reminder')).toEqual(at('2026-03-08T12:00:00Z'));
    });

    test('when a reminder is queued at 01:30 EST, before the change, then it goes at 08:00 EDT', () => {
      expect(earliestSendAt(at('2026-03-08T06:30:00Z'), 'America/New_York', 'reminder')).toEqual(at('2026-03-08T12:00:00Z'));
    });

    test('when a reminder is queued at 03:30 EDT, just after the change, then it goes at 08:00 EDT', () => {
      expect(earliestSendAt(at('2026-03-08T07:30:00Z'), 'America/New_York', 'reminder')).toEqual(at('2026-03-08T12:00:00Z'));
    });

    test('when the recipient is in Berlin (2026-03-29: 02:00 CET becomes 03:00 CEST), then 08:00 CEST is 06:00 UTC', () => {
      expect(earliestSendAt(at('2026-03-28T21:00:00Z'), 'Europe/Berlin', 'marketing')).toEqual(at('2026-03-29T06:00:00Z'));
    });
  });

  describe('across a fall-back night (New York, 2026-11-01: 02:00 EDT becomes 01:00 EST)', () => {
    test('when a reminder is queued at 21:00 EDT the evening before, then it goes at 08:00 EST (13:00 UTC, not the 12:00 UTC of the evening’s offset)', () => {
      expect(earliestSendAt(at('2026-11-01T01:00:00Z'), 'America/New_York', 'reminder')).toEqual(at('2026-11-01T13:00:00Z'));
    });

    test.each([
      ['the first 01:30 (EDT)', '2026-11-01T05:30:00Z'],
      ['the second 01:30 (EST)', '2026-11-01T06:30:00Z'],
    ])('when a reminder is queued at %s, then the repeated hour is night and it goes at 08:00 EST', (_local, instant) => {
      expect(earliestSendAt(at(instant), 'America/New_York', 'reminder')).toEqual(at('2026-11-01T13:00:00Z'));
    });

    test('when the recipient is in Sydney (2026-04-05: 03:00 AEDT becomes 02:00 AEST), then 08:00 AEST is 22:00 UTC the day before', () => {
      expect(earliestSendAt(at('2026-04-04T14:00:00Z'), 'Australia/Sydney', 'reminder')).toEqual(at('2026-04-04T22:00:00Z'));
    });
  });

  test('when the time zone is not an IANA name, then it is refused', () => {
    expect(() => earliestSendAt(at('2026-06-10T12:00:00Z'), 'Mars/Olympus', 'reminder')).toThrow(RangeError);
  });
});
