import os from 'node:os';
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { http, newUserId, REPO_ROOT, useStack, userToken } from '@zephyr/testing';

/**
 * SPEC.md §8 in a real browser: the seat-map page served by the gateway, driven in headless Chromium
 * against the whole stack (expiry worker included), with two pages on one event.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// `UPDATE_SCREENSHOTS=1 npx jest services/gateway/test/page.test.ts` refreshes the committed pictures;
// an ordinary run writes them aside so a test run never leaves the checkout changed.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(REPO_ROOT, 'docs', 'images')
  : mkdtempSync(path.join(os.tmpdir(), 'zephyr-page-'));

const stack = useStack('page', { env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' }, timeoutMs: 90_000 });
let browser: Browser;
let eventId: string;
const requested: string[] = [];

async function openPage(token?: string, at = `/events/${eventId}`): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  page.on('request', (request) => requested.push(request.url()));
  page.on('websocket', (socket) => requested.push(socket.url()));
  await page.goto(`${stack.gatewayUrl}${at}`);
  if (token) {
    await page.fill('#token', token);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#signed-in:not([hidden])');
  }
  return page;
}

const seat = (page: Page, n: number, status: string, mine?: boolean) =>
  page.waitForSelector(
    `[data-seat="${n}"][data-status="${status}"]${mine === undefined ? '' : `[data-mine="${mine}"]`}`,
  );

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  stack.onTeardown(() => browser.close());
  eventId = await stack.createEvent({ name: 'Chamber concert', totalSeats: 40, seatsPerRow: 10, maxSeatsPerUser: 6 });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

let alice: Page;
let watcher: Page;

it('lists events and serves the page without a token', async () => {
  for (const target of ['/', `/events/${eventId}`]) {
    const res = await fetch(`${stack.gatewayUrl}${target}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'");
  }
  const contracts = await fetch(`${stack.gatewayUrl}/assets/contracts.js`);
  expect(await contracts.text()).toContain('"SEAT_UNAVAILABLE"');
  expect((await http(stack.gatewayUrl, 'GET', '/assets/nothing-here.js')).body).toMatchObject({
    error: { code: 'NOT_FOUND' },
  });

  watcher = await openPage(undefined, '/');
  await watcher.waitForSelector(`#events a[href="/events/${eventId}"]`);
  await watcher.click(`#events a[href="/events/${eventId}"]`);
  await seat(watcher, 1, 'available');
  expect(await watcher.getAttribute('[data-seat="12"]', 'aria-label')).toBe('Seat 12, row 2, available');
  await watcher.waitForSelector('#live-status[data-state="live"]');
});

it('two pages on one event: held shows in the other within 1 s, reserve, and a 10 s hold expires on screen', async () => {
  alice = await openPage(await userToken(newUserId()));
  await alice.waitForSelector('#live-status[data-state="live"]');

  // A short hold first, so its expiry runs while the rest is checked.
  await alice.fill('#hold-duration', '10');
  await alice.click('[data-seat="5"]');
  await seat(alice, 5, 'held', true);
  await alice.waitForSelector('[data-countdown="5"]:has-text("left")');
  await alice.fill('#hold-duration', '60');

  // Within 1 s of the change, i.e. of the hold's answer (the click's own round trip is not the push).
  const answered = alice.waitForResponse((r) => r.url().endsWith('/3/hold')).then(() => Date.now());
  const seen = seat(watcher, 3, 'held').then(() => Date.now());
  await alice.click('[data-seat="3"]');
  expect((await seen) - (await answered)).toBeLessThan(1000);
  await seat(alice, 3, 'held', true);
  expect(await alice.getAttribute('[data-seat="3"]', 'aria-label')).toBe('Seat 3, row 1, held by you');
  await alice.waitForSelector('[data-countdown="3"]');

  // Clicking one's own held seat leads to its Reserve/Release buttons.
  await alice.click('[data-seat="3"]');
  expect(await alice.evaluate(() => document.activeElement?.getAttribute('data-reserve'))).toBe('3');
  await alice.click('[data-reserve="3"]');
  await seat(alice, 3, 'reserved', true);
  await seat(watcher, 3, 'reserved', false);

  // Someone else's seat: refused in words.
  await watcher.click('[data-seat="3"]');
  await watcher.waitForSelector('#message:has-text("someone else")');
  await alice.screenshot({ path: path.join(SCREENSHOTS, 'seat-map.png'), fullPage: true });

  // Expiry is pushed within 2 s of expiresAt (SPEC.md §6).
  await seat(watcher, 5, 'available');
  await alice.waitForSelector('[data-seat="5"][data-status="available"]', { timeout: 16_000 });
  await alice.waitForSelector('[data-countdown="5"]', { state: 'detached' });
  await watcher.close();
}, 40_000);

it('says reconnecting while the notifier is down and catches up with no wrong seat', async () => {
  await seat(alice, 7, 'available');
  const [notifier] = stack.of('notifier');
  await notifier!.stop();
  await alice.waitForSelector('#live-status[data-state="reconnecting"]');
  expect(await alice.textContent('#live-status')).toBe('reconnecting…');
  const other = await userToken(newUserId());
  expect((await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/7/hold`, { token: other })).status).toBe(201);
  expect((await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/8/hold`, { token: other })).status).toBe(201);
  expect((await http(stack.gatewayUrl, 'DELETE', `/api/seats/${eventId}/8/hold`, { token: other })).status).toBe(204);

  await stack.startService('notifier', { NOTIFIER_REPLICA_ID: `r${notifier!.port}` }, { port: notifier!.port });
  await alice.waitForSelector('#live-status[data-state="live"]', { timeout: 15_000 });
  await seat(alice, 7, 'held', false);

  const map = await http<{ seats: { seatNumber: number; status: string }[] }>(
    stack.gatewayUrl,
    'GET',
    `/api/events/${eventId}/seats`,
  );
  const onScreen = await alice.$$eval('[data-seat]', (buttons) =>
    buttons.map((b) => ({ seatNumber: Number(b.getAttribute('data-seat')), status: b.getAttribute('data-status') })),
  );
  expect(onScreen).toEqual(map.body.seats.map((s) => ({ seatNumber: s.seatNumber, status: s.status })));
  expect(await alice.getAttribute('[data-seat="3"]', 'data-mine')).toBe('true');

  // Multi-seat (SPEC.md §7): held when the server has it, otherwise said in words and the controls hidden.
  await alice.check('#multi-select');
  await alice.click('[data-seat="21"]');
  await alice.click('[data-seat="22"]');
  expect(await alice.getAttribute('[data-seat="22"]', 'aria-label')).toBe('Seat 22, row 3, available, selected');
  await alice.click('#hold-selected');
  await alice.waitForSelector(
    '[data-seat="22"][data-status="held"][data-mine="true"], #message:has-text("does not offer multi-seat")',
  );
  if ((await alice.getAttribute('[data-seat="22"]', 'data-status')) === 'held') await seat(alice, 21, 'held', true);
  else expect(await alice.isHidden('#multi-controls')).toBe(true);
  await alice.close();
}, 40_000);

it('an admin creates an event with rows, changes its status and sees the audit trail live', async () => {
  const page = await openPage(stack.admin, '/');
  await page.fill('#event-name', 'Admin matinee');
  await page.fill('#total-seats', '12');
  await page.fill('#seats-per-row', '5');
  await page.click('#create-event button[type=submit]');
  await page.waitForURL(/\/events\/[0-9a-f-]{36}$/);
  await seat(page, 12, 'available');
  expect(await page.getAttribute('[data-seat="12"]', 'aria-label')).toBe('Seat 12, row 3, available');

  // Keyboard: seats are buttons, reached by Tab and taken with Enter.
  await page.focus('[data-seat="1"]');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.getAttribute('data-seat'))).toBe('2');
  await page.keyboard.press('Enter');
  await seat(page, 2, 'held', true);
  await page.waitForSelector('#history td:text-is("held")');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'seat-map-admin.png'), fullPage: true });

  // Best available (SPEC.md §7): two more seats when the server has it, otherwise said in words.
  await page.fill('#best-count', '2');
  await page.click('#best');
  await page.waitForFunction(
    () =>
      document.querySelectorAll('[data-mine="true"][data-status="held"]').length === 3 ||
      /does not offer multi-seat/.test(document.getElementById('message')?.textContent ?? ''),
  );

  // 200 % zoom of a 1100 px window: everything still fits the width (rows wrap, nothing scrolls sideways).
  await page.setViewportSize({ width: 550, height: 800 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'seat-map-narrow.png'), fullPage: true });
  await page.setViewportSize({ width: 1100, height: 800 });

  await page.selectOption('#event-status', 'inactive');
  await page.click('#apply-status');
  await page.waitForSelector('#event-status-text:text-is("inactive")');
  await page.click('[data-seat="4"]');
  await page.waitForSelector('#message:has-text("not open for booking")');
  await page.close();
});

it('made no request to any host but the gateway', () => {
  // Every page request and WebSocket of the tests above (SPEC.md §8: no external request).
  const gateway = new URL(stack.gatewayUrl).host;
  expect(requested.length).toBeGreaterThan(20);
  expect(requested.filter((url) => !url.startsWith('data:') && new URL(url).host !== gateway)).toEqual([]);
});
