import { COMMON_PASSWORDS } from './common-passwords';

/**
 * What a new password must be, after NIST SP 800-63B (5.1.1.2): long enough, not one attackers try first
 * (a list of common passwords, with the usual disguises undone: capitals, l33t, digits and symbols around a
 * word, a word said twice), not repetitive or sequential, and not built from the account's own context (its
 * e-mail address, the store's name, this service's name). No composition rules (no "one digit, one symbol").
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

export interface PasswordContext {
  /** The account's e-mail address: neither it nor its local part may be in the password. */
  email?: string;
  /** The store's name, and anything else the account is known by. */
  names?: string[];
}

const COMMON = new Set(COMMON_PASSWORDS);
const SERVICE_NAMES = ['boxcycle'];
/** Context words shorter than this only count when they are the whole password. */
const MIN_CONTEXT_WORD = 4;
/** A password made of fewer different characters than this is a repetition (`aaaaaaaaaaaa`, `abababababab`). */
const MIN_DISTINCT = 5;

const LEET: Record<string, string> = {
  '@': 'a',
  '4': 'a',
  '8': 'b',
  '(': 'c',
  '3': 'e',
  '6': 'g',
  '9': 'g',
  '!': 'i',
  '|': 'i',
  '0': 'o',
  $: 's',
  '5': 's',
  '7': 't',
  '+': 't',
  '2': 'z',
};
/** Keys next to each other on a keyboard: walking along a row is a sequence too. */
const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop', 'azertyuiop', 'qsdfghjklm', 'wxcvbn'];

/** Lower case, compatibility-normalised (NFKC, as 800-63B asks), without spaces. */
function compact(value: string): string {
  return value.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

function alphanumeric(value: string): string {
  return compact(value).replace(/[^\p{L}\p{N}]/gu, '');
}

/** The forms a common password takes in disguise: `P@ssw0rd`, `Password2024!`, `1monkey1`, `iloveyou iloveyou`. */
function disguisedForms(password: string): string[] {
  const base = compact(password);
  const forms = new Set<string>([base]);
  for (const one of ['i', 'l']) forms.add([...base].map((c) => (c === '1' ? one : (LEET[c] ?? c))).join(''));
  for (const form of [...forms]) {
    const core = form.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
    if (core.length >= 3) forms.add(core);
    const unit = repeatedUnit(core);
    if (unit) forms.add(unit);
  }
  return [...forms];
}

/** `abcabcabc` → `abc`; undefined when the value is not one unit said several times. */
function repeatedUnit(value: string): string | undefined {
  if (value.length < 2) return undefined;
  const at = (value + value).indexOf(value, 1);
  return at < value.length ? value.slice(0, at) : undefined;
}

function isSequentialStep(a: string, b: string): boolean {
  const diff = b.charCodeAt(0) - a.charCodeAt(0);
  if (diff === 1 || diff === -1) return true;
  if ((a === '9' && b === '0') || (a === '0' && b === '9')) return true;
  return KEYBOARD_ROWS.some((row) => {
    const i = row.indexOf(a);
    const j = row.indexOf(b);
    return i >= 0 && j >= 0 && Math.abs(i - j) === 1;
  });
}

/** `123456789012`, `abcdefghijkl`, `qwertyuiopas`, `zyxwvutsrqpo`: every step (but one) to the next key or letter. */
function isSequence(password: string): boolean {
  const chars = [...compact(password)];
  let breaks = 0;
  for (let i = 1; i < chars.length; i += 1) if (!isSequentialStep(chars[i - 1]!, chars[i]!)) breaks += 1;
  return breaks <= 1;
}

/**
 * Why a new password is refused, in words its owner understands, or undefined when it is fine. The message
 * completes "The password …".
 */
export function passwordWeakness(password: string, context: PasswordContext = {}): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;

  const plain = alphanumeric(password);
  const email = context.email?.toLowerCase();
  const contextWords: Array<[string | undefined, string]> = [
    [email, 'contains your e-mail address'],
    [email?.split('@')[0], 'contains the first part of your e-mail address'],
    ...(context.names ?? []).map((name): [string, string] => [name, "contains the store's name"]),
    ...SERVICE_NAMES.map((name): [string, string] => [name, 'contains the name of this service']),
  ];
  for (const [word, reason] of contextWords) {
    const term = word ? alphanumeric(word) : '';
    if (term && (plain === term || (term.length >= MIN_CONTEXT_WORD && plain.includes(term)))) {
      return `${reason}: choose one that others cannot guess from your account`;
    }
  }

  if (disguisedForms(password).some((form) => COMMON.has(form))) {
    return 'is one of the passwords attackers try first (it is on a list of common and leaked passwords): choose another, for example four or five unrelated words';
  }
  if (new Set(compact(password)).size < MIN_DISTINCT || repeatedUnit(compact(password))) {
    return 'repeats the same characters or pattern (like aaaa or abcabc): choose one that does not';
  }
  if (isSequence(password)) {
    return 'is a sequence of letters, digits or keys (like 123456 or qwerty): choose one that is not';
  }
  return undefined;
}
