import { COMMON_PASSWORDS } from '../../../src/shared/common-passwords';
import { passwordWeakness } from '../../../src/shared/password-policy';

describe('passwordWeakness', () => {
  const context = { email: 'ana.roaster@example.com', names: ['Blue Fjord Coffee'] };

  test('when the list ships, then it holds the 10,000 most common passwords, most common first', () => {
    expect(COMMON_PASSWORDS).toHaveLength(10_000);
    expect(COMMON_PASSWORDS.slice(0, 2)).toEqual(['123456', 'password']);
    expect(new Set(COMMON_PASSWORDS).size).toBe(10_000);
  });

  test.each([
    'correct horse battery staple',
    'Tangerine-Lighthouse-47-Quietly',
    'gl4cier ferry nutmeg',
    'x7#Vq9!mZr2$Lp',
    'blue fjord tasting notes', // words of the store's name, but not its name
    'ünïcödé pässwörd lång',
    'sunshine over the harbour', // common words inside a longer phrase
  ])('when the password is %j, then it is accepted', (password) => {
    expect(passwordWeakness(password, context)).toBeUndefined();
  });

  test.each([
    ['too short', 'short1!', 'must be at least 12 characters'],
    ['a common password long enough', 'password1234', 'attackers try first'],
    ['a common one in capitals', 'QWERTY123456', 'attackers try first'],
    ['a common one with digits and symbols around it', '2024!!Sunshine!!', 'attackers try first'],
    ['a common one in l33t', 'P@ssw0rd12345', 'attackers try first'],
    ['a common one said twice', 'iloveyouiloveyou', 'attackers try first'],
    ['a common one with spaces', 'i love you 123', 'attackers try first'],
    ['a long common one', '1qaz2wsx3edc', 'attackers try first'],
    ['one character repeated', 'aaaaaaaaaaaa', 'repeats'],
    ['a short pattern repeated', 'xq7xq7xq7xq7', 'repeats'],
    ['two characters alternating', 'abababababab', 'repeats'],
    ['a run of digits', '123456789012', 'sequence'],
    ['a run of letters backwards', 'zyxwvutsrqpo', 'sequence'],
    ['a keyboard walk', 'poiuytrewqlkj', 'sequence'],
    ['the e-mail address', 'ana.roaster@example.com', 'e-mail address'],
    ["the e-mail's local part with more", 'AnaRoaster-2026', 'first part of your e-mail'],
    ["the store's name", 'bluefjordcoffee!', "store's name"],
    ["the store's name with spaces", 'Blue Fjord Coffee 99', "store's name"],
    ["this service's name", 'my boxcycle account', 'name of this service'],
  ])('when the password is %s, then it is refused saying why', (_what, password, reason) => {
    expect(passwordWeakness(password, context)).toContain(reason);
  });

  test('when a context word is very short, then only the whole password equal to it is refused', () => {
    expect(passwordWeakness('journey of a thousand miles', { email: 'jo@example.com' })).toBeUndefined();
  });
});
