// Shared by the browser tests: the stack's address, Debian's chromium driven
// by playwright-core, direct API calls for set-up and checks, screenshots,
// axe-core and the budget report. A missing prerequisite (no chromium, no
// stack) fails the run; nothing is skipped.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const offset = Number(process.env.STACK_PORT_OFFSET || 0);
export const BASE = process.env.WEB_BASE_URL || `http://127.0.0.1:${8080 + offset}`;
export const ART = process.env.WEB_ARTIFACTS || join(here, '..', '..', 'var', 'web');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const RUN = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 375, height: 740 };

mkdirSync(join(ART, 'screens'), { recursive: true });

export async function launch() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (make deps)`);
  const res = await fetch(BASE + '/api/tags').catch((e) => e);
  assert.ok(res && res.ok, `the stack does not answer at ${BASE} (make up): ${res}`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

// A browser context whose every request must stay on the stack's origin:
// any other request is recorded (and the test that owns it fails).
export async function newContext(browser, { locale = 'en-US', viewport = DESKTOP } = {}) {
  const ctx = await browser.newContext({ locale, viewport, baseURL: BASE });
  ctx.outside = [];
  ctx.problems = [];
  ctx.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== BASE && u.protocol !== 'data:') ctx.outside.push(r.url());
  });
  ctx.on('page', (p) => {
    watch(ctx, p);
    open.add(p);
    p.on('close', () => open.delete(p));
  });
  return ctx;
}

// A new context (as newContext) and a page in it.
export async function fresh(browser, opts) {
  const ctx = await newContext(browser, opts);
  return { ctx, page: await ctx.newPage() };
}

// Checks that each context stayed on the stack's origin and saw no script
// error, CSP violation or unexpected dialog, then closes them.
export async function finish(...ctxs) {
  for (const ctx of ctxs) {
    assert.deepEqual(ctx.outside, [], 'requests to other origins');
    assert.deepEqual(ctx.problems, [], 'script errors, CSP violations or dialogs');
  }
  for (const ctx of ctxs) await ctx.close();
}

// Tops the wallet page up through its form and waits for the notice
// (done) and the account's new balance (in the page's language).
export async function topUp(page, { amount, currency, button, done, balance }) {
  await page.locator('#topup-amount').fill(amount);
  await page.locator('#topup-currency').selectOption(currency);
  await page.getByRole('button', { name: button }).click();
  await page.getByRole('status').filter({ hasText: done }).waitFor();
  await page.locator(`.account[data-currency="${currency}"] .bal`, { hasText: balance }).waitFor();
}

// A pay write whose answer is lost: the first POST matching pattern reaches
// the service (which answers 201) but the page gets a network failure and
// says so; the user presses button again and the page shows done. Returns
// the Idempotency-Keys of the POSTs sent.
export async function loseFirstAnswer(page, pattern, button, done) {
  const keys = [];
  await page.route(pattern, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length > 1) return route.continue();
    const r = await route.fetch();
    assert.equal(r.status(), 201);
    return route.abort('failed');
  });
  await page.getByRole('button', { name: button }).click();
  await page.getByRole('alert').filter({ hasText: 'The server could not be reached' }).waitFor();
  await page.getByRole('button', { name: button }).click();
  await page.getByRole('status').filter({ hasText: done }).waitFor();
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  return keys;
}

// The site's pages, [name, path], with the article slug and the profile of
// author.
export function sitePages(slug, author) {
  return [
    ['home', '/'],
    ['login', '/login'],
    ['register', '/register'],
    ['article', '/article/' + encodeURIComponent(slug)],
    ['profile', '/profile/' + encodeURIComponent(author)],
    ['editor', '/editor'],
    ['settings', '/settings'],
    ['wallet', '/wallet'],
    ['payments', '/payments'],
  ];
}

// Visits each of pages ([name, path]) once it has settled: check(page) if
// given, then axe-core, no sideways scroll, and a screenshot; label names
// the visit in failures, lang in the screenshots' names.
export async function tour(page, pages, { label, lang, check } = {}) {
  for (const [name, path] of pages) {
    await page.goto(path);
    await page.locator('main h1, main h2').first().waitFor();
    await settled(page);
    if (check) await check(page);
    await assertAccessible(page, `${name} (${label})`);
    await assertNoOverflow(page, `${name} (${label})`);
    await shoot(page, name, lang);
  }
}

// A test whose failure leaves a screenshot of every page still open under
// var/web/failures/, for the one reading the CI log.
const open = new Set();
export function ftest(name, fn) {
  return test(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      mkdirSync(join(ART, 'failures'), { recursive: true });
      let n = 0;
      for (const p of open) {
        const file = join(ART, 'failures', `${name.replace(/[^\w]+/g, '-').slice(0, 60)}-${n++}.png`);
        await p.screenshot({ path: file }).catch(() => {});
        console.log(`# failure screenshot: ${file} (${p.url()})`);
      }
      throw e;
    }
  });
}

function watch(ctx, page) {
  page.on('pageerror', (e) => ctx.problems.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    // The site's own failed API calls (4xx on purpose) log as errors in
    // Chromium; CSP violations and script errors are what matter here.
    if (m.type() === 'error' && /Content Security Policy|Refused to|Uncaught/.test(m.text())) {
      ctx.problems.push('console: ' + m.text());
    }
  });
  page.on('dialog', (d) => {
    if (d.type() !== 'confirm') ctx.problems.push('dialog: ' + d.message());
    d.accept().catch(() => {});
  });
}

export async function api(method, path, { token, body, key, prefix } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Token ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  const p = prefix || (path.startsWith('/pay/') ? '' : '/api');
  const r = await fetch(BASE + p + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: r.status, json, headers: r.headers };
}

export async function register(name, extra) {
  const email = `${name}@example.test`.toLowerCase();
  const r = await api('POST', '/users', { body: { user: { username: name, email, password: 'password-' + name } } });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  if (extra) {
    const u = await api('PUT', '/user', { token: r.json.user.token, body: { user: extra } });
    assert.equal(u.status, 200, JSON.stringify(u.json));
  }
  return { ...r.json.user, password: 'password-' + name, email };
}

// Puts a user's token into the page's storage, as signing in does.
export async function signInAs(page, user) {
  await page.goto('/');
  await page.evaluate((u) => {
    localStorage.setItem('conduit.token', u.token);
    localStorage.setItem('conduit.user', JSON.stringify({ username: u.username, email: u.email, bio: u.bio ?? null, image: u.image ?? null }));
  }, user);
}

export async function entries(user, currency) {
  const acc = await api('GET', '/pay/v1/accounts', { token: user.token });
  assert.equal(acc.status, 200);
  const a = acc.json.data.find((x) => x.currency === currency);
  if (!a) return { balance: 0, entries: [] };
  const e = await api('GET', `/pay/v1/accounts/${a.id}/entries?limit=100`, { token: user.token });
  assert.equal(e.status, 200);
  return { balance: a.balance, entries: e.json.data, id: a.id };
}

const shots = [];
export async function shoot(page, name, lang = 'en') {
  const vp = page.viewportSize();
  const kind = vp.width <= 400 ? 'mobile' : 'desktop';
  const file = join(ART, 'screens', `${lang}-${name}-${kind}.png`);
  await page.screenshot({ path: file, fullPage: kind === 'desktop' ? false : true });
  shots.push(file);
  return file;
}

// The page is no wider than the viewport: nothing forces a sideways scroll.
export async function assertNoOverflow(page, what) {
  const { sw, vw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, vw: window.innerWidth }));
  assert.ok(sw <= vw, `${what}: page is ${sw}px wide in a ${vw}px viewport`);
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const axeReport = [];

// axe-core, evaluated through the DevTools protocol (the page's CSP forbids
// injected scripts, rightly); serious and critical violations fail.
export async function assertAccessible(page, name) {
  await page.evaluate(axeSource + '\n;0');
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeReport.push({ page: name, violations: res.length, serious_or_critical: bad.length });
  assert.deepEqual(bad, [], `${name}: axe-core serious/critical violations`);
}

export const budgets = {};
export function report() {
  writeFileSync(join(ART, 'budgets.json'), JSON.stringify({ budgets, axe: axeReport, screenshots: shots.length }, null, 2));
}

// Every part of the page that loads data has finished (aria-busy="false").
export async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
}
