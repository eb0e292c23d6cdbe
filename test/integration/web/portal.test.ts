import { WebSessionModel } from '../../../src/web/web-session.model';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import type { SignInMailer } from '../../../src/web/shop/sign-in.pages';
import { factsAbout } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { DEMO_HANDLE, demoStore, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The shopper's portal: signing in without a password (a link and a code by e-mail), who sees what, and the
 * changes on a subscription's page with their receipts and undo.
 */
describe("the shopper's portal", () => {
  useTestDatabase();

  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const sent: Array<{ to: string; link: string; code: string }> = [];
  const sendSignInMail: SignInMailer = async ({ mail, link }) => {
    sent.push({ to: mail.email, link, code: mail.code });
  };
  const testApp = buildTestApp({ clock, sendSignInMail });
  const { app } = testApp;
  const base = `/shop/${DEMO_HANDLE}`;
  let ana: string;
  let bo: string;

  beforeAll(async () => {
    const { plans } = await demoStore(clock);
    ana = (await subscribeOnStorefront(testApp, { email: 'ana@example.com' }, plans[0]!._id)).subscriptionId;
    bo = (await subscribeOnStorefront(testApp, { email: 'bo@example.com' }, plans[0]!._id)).subscriptionId;
  });
  beforeEach(() => {
    sent.length = 0;
  });

  const pathOf = (link: string) => new URL(link).pathname + new URL(link).search;

  async function signedIn(email: string) {
    const browser = pageClient(app);
    await browser.get(`${base}/sign-in`);
    const asked = await browser.post(`${base}/sign-in`, { email });
    expect(asked.status).toBe(303);
    const mail = sent.filter((m) => m.to === email).at(-1)!;
    await browser.get(pathOf(mail.link));
    const done = await browser.post(new URL(mail.link).pathname, { next: `${base}/account` });
    expect(done.status).toBe(303);
    return browser;
  }

  test('when a shopper asks for a link, then the e-mail brings a link and a code; opening the link signs in nobody until its button is pressed, and it works once', async () => {
    const browser = pageClient(app);
    const form = await browser.get(`${base}/sign-in`);
    expect(form.status).toBe(200);
    const asked = await browser.post(`${base}/sign-in`, { email: 'Ana@Example.com' });
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toMatch(new RegExp(`^${base}/sign-in/code\\?request=ssi_[0-9a-z]{20}&next=`));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: 'ana@example.com', code: expect.stringMatching(/^\d{6}$/) });
    const link = pathOf(sent[0]!.link);

    const landing = await browser.get(link);
    expect(landing.status).toBe(200);
    expect(landing.text).toContain('<button type="submit">Sign in</button>');
    expect((await browser.get(`${base}/account`)).status).toBe(303); // still signed out

    const pressed = await browser.post(new URL(sent[0]!.link).pathname, { next: `${base}/account` });
    expect(pressed.status).toBe(303);
    expect(String(pressed.headers['set-cookie'])).toMatch(new RegExp(`bx_s=[^;]+; Max-Age=\\d+; Path=${base}; Expires=[^;]+; HttpOnly; SameSite=Lax`));
    const account = await browser.get(`${base}/account`);
    expect(account.status).toBe(200);
    expect(account.text).toContain(`href="${base}/subscriptions/${ana}"`);
    expect(account.text).not.toContain(bo);

    // Used: a second press (another device, a replay) signs in nobody.
    const again = await pageClient(app).post(new URL(sent[0]!.link).pathname, {});
    expect(again.status).toBe(403); // no form token on a fresh client…
    const other = pageClient(app);
    await other.get(`${base}/sign-in`); // a form token of its own
    expect(await other.get(link)).toHaveProperty('status', 410);
    expect((await other.post(new URL(sent[0]!.link).pathname, {})).status).toBe(410);
  });

  test('when the address has no account here, then the answer is the same and no e-mail is sent', async () => {
    const browser = pageClient(app);
    await browser.get(`${base}/sign-in`);
    const asked = await browser.post(`${base}/sign-in`, { email: 'nobody@example.com' });
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toMatch(/sign-in\/code\?request=ssi_/);
    expect(sent).toHaveLength(0);
    const codePage = await browser.get(asked.headers.location as string);
    expect(codePage.text).toContain('If this address has a subscription');
    const request = /request=(ssi_[0-9a-z]{20})/.exec(asked.headers.location as string)![1]!;
    expect((await browser.post(`${base}/sign-in/code`, { request, code: '123456' })).text).toContain('That code is not right');
  });

  test('when the code is typed, then it signs in once; wrong codes are counted and the sixth try is refused even with the right code', async () => {
    const browser = pageClient(app);
    await browser.get(`${base}/sign-in`);
    const asked = await browser.post(`${base}/sign-in`, { email: 'bo@example.com' });
    const request = /request=(ssi_[0-9a-z]{20})/.exec(asked.headers.location as string)![1]!;
    const code = sent[0]!.code;
    const wrong = code === '000000' ? '111111' : '000000';
    await browser.get(asked.headers.location as string);
    const first = await browser.post(`${base}/sign-in/code`, { request, code: wrong });
    expect(first.status).toBe(400);
    expect(first.text).toContain('4 tries left');
    expect((await browser.post(`${base}/sign-in/code`, { request, code: 'abc' })).text).toContain('Enter the 6 digits');
    for (let i = 0; i < 4; i += 1) await browser.post(`${base}/sign-in/code`, { request, code: wrong });
    const spent = await browser.post(`${base}/sign-in/code`, { request, code });
    expect(spent.status).toBe(400);
    expect(spent.text).toContain('too many wrong codes');

    // A new request: its code, spaced as people type it, signs in.
    await browser.get(`${base}/sign-in`);
    const again = await browser.post(`${base}/sign-in`, { email: 'bo@example.com' });
    const request2 = /request=(ssi_[0-9a-z]{20})/.exec(again.headers.location as string)![1]!;
    const code2 = sent[1]!.code;
    await browser.get(again.headers.location as string);
    const ok = await browser.post(`${base}/sign-in/code`, {
      request: request2,
      code: `${code2.slice(0, 3)} ${code2.slice(3)}`,
      next: `${base}/subscriptions/${bo}`,
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe(`${base}/subscriptions/${bo}`);
    expect((await browser.get(`${base}/subscriptions/${bo}`)).status).toBe(200);
    // The link of the request signed in with its code is spent too.
    const other = pageClient(app);
    await other.get(`${base}/sign-in`);
    expect(await other.get(pathOf(sent[1]!.link))).toHaveProperty('status', 410);
    expect((await other.post(new URL(sent[1]!.link).pathname, {})).status).toBe(410);
  });

  test('when a link is older than 15 minutes, then it no longer signs in', async () => {
    const browser = pageClient(app);
    await browser.get(`${base}/sign-in`);
    await browser.post(`${base}/sign-in`, { email: 'ana@example.com' });
    clock.advance(15 * 60_000 + 1);
    const landing = await browser.get(pathOf(sent[0]!.link));
    expect(landing.status).toBe(410);
    expect(landing.text).toContain('This sign-in link has expired');
  });

  test('when someone asks for links over and over, then the sixth request for one address in 15 minutes is refused', async () => {
    clock.advance(3_600_000);
    const browser = pageClient(app);
    await browser.get(`${base}/sign-in`);
    for (let i = 0; i < 5; i += 1) expect((await browser.post(`${base}/sign-in`, { email: 'ana@example.com' })).status).toBe(303);
    const refused = await browser.post(`${base}/sign-in`, { email: 'ana@example.com' });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(sent).toHaveLength(5);
  });

  test("when a shopper opens another shopper's subscription, or nobody is signed in, then it is not found, or the sign-in page", async () => {
    clock.advance(3_600_000);
    const browser = await signedIn('ana@example.com');
    expect((await browser.get(`${base}/subscriptions/${ana}`)).status).toBe(200);
    expect((await browser.get(`${base}/subscriptions/${bo}`)).status).toBe(404);
    expect((await browser.get(`${base}/subscriptions/not-an-id`)).status).toBe(404);
    expect((await browser.post(`${base}/subscriptions/${bo}/skip`, { cycleKey: '2026-05-18' })).status).toBe(404);
    const anonymous = pageClient(app);
    const redirected = await anonymous.get(`${base}/subscriptions/${ana}`);
    expect(redirected.status).toBe(303);
    expect(redirected.headers.location).toBe(`${base}/sign-in?next=${encodeURIComponent(`${base}/subscriptions/${ana}`)}`);
    expect((await browser.post(`${base}/subscriptions/${ana}/skip`, { cycleKey: '2026-05-18' }, { csrf: null })).status).toBe(403);
  });

  test('when a shopper skips a box, then the page says so with an undo, and undoing brings it back; both are on the timeline as theirs', async () => {
    clock.advance(3_600_000);
    const browser = await signedIn('ana@example.com');
    const page = await browser.get(`${base}/subscriptions/${ana}`);
    expect(page.text).toContain('Your next box');
    expect(page.text).toMatch(/left<\/span>/); // the cut-off countdown
    const cycleKey = /name="cycleKey" value="(\d{4}-\d{2}-\d{2})"[\s\S]{0,200}>Skip</.exec(page.text)![1]!;
    const skipped = await browser.post(`${base}/subscriptions/${ana}/skip`, { cycleKey });
    expect(skipped.status).toBe(303);
    expect(skipped.headers.location).toMatch(new RegExp(`^${base}/subscriptions/${ana}\\?done=${ana}%3A\\d{8}#receipt$`));
    const receipt = await browser.get(skipped.headers.location as string);
    const readable = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }).format(Date.parse(cycleKey));
    expect(receipt.text).toContain(`Done: the box of ${readable} was skipped.`);
    expect(receipt.text).toContain('>Undo</button>');
    const factId = /name="factId" value="([^"]+)"/.exec(receipt.text)![1]!;
    const undone = await browser.post(`${base}/subscriptions/${ana}/undo`, { factId });
    expect(undone.status).toBe(303);
    expect((await SubscriptionModel.findById(ana).lean())!.skippedCycleKeys).toEqual([]);
    const facts = (await factsAbout({ subjectId: ana })).slice(-2);
    expect(facts.map((f) => [f.type, f.actor.kind, f.actor.id])).toEqual([
      ['subscription.skipped', 'shopper', expect.stringMatching(/^cust_/)],
      ['subscription.unskipped', 'shopper', expect.stringMatching(/^cust_/)],
    ]);
    // An older change, once a newer one exists, is not offered for undoing.
    expect((await browser.get(`${base}/subscriptions/${ana}?done=${encodeURIComponent(factId)}`)).text).not.toContain('>Undo</button>');
  });

  test('when a shopper pauses for two boxes and resumes, then the page shows the pause and its end, then active again', async () => {
    clock.advance(3_600_000);
    const browser = await signedIn('ana@example.com');
    await browser.get(`${base}/subscriptions/${ana}`);
    const refused = await browser.post(`${base}/subscriptions/${ana}/pause`, { how: 'until', until: '' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('Choose a date');
    const paused = await browser.post(`${base}/subscriptions/${ana}/pause`, { how: 'cycles', cycles: '2' });
    expect(paused.status).toBe(303);
    const page = await browser.get(paused.headers.location as string);
    expect(page.text).toMatch(/Paused from \w+day, \w+ \d+, 2026; it resumes by itself with the box of \w+day, \w+ \d+, 2026/);
    expect((await browser.post(`${base}/subscriptions/${ana}/resume`, {})).status).toBe(303);
    expect((await SubscriptionModel.findById(ana).lean())!.status).toBe('active');
  });

  test('when a shopper signs out everywhere, then every session of theirs at this store ends, and others’ do not', async () => {
    clock.advance(3_600_000);
    const phone = await signedIn('ana@example.com');
    const laptop = await signedIn('ana@example.com');
    const boBrowser = await signedIn('bo@example.com');
    const account = await laptop.get(`${base}/account`);
    expect(account.text).toContain('(this device)');
    const out = await laptop.post(`${base}/sign-out-everywhere`, {});
    expect(out.status).toBe(303);
    expect((await phone.get(`${base}/account`)).status).toBe(303);
    expect((await laptop.get(`${base}/account`)).status).toBe(303);
    expect((await boBrowser.get(`${base}/account`)).status).toBe(200);
    expect(await WebSessionModel.countDocuments({ audience: 'shopper', email: 'ana@example.com', revokedAt: { $exists: false } })).toBe(0);
  });
});
