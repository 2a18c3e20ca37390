// Drives audian's web portal in a real browser (Debian's Chromium through
// playwright-core; no browser is ever downloaded) and checks the
// acceptance of the portal: sign in, create a key and use it once, rotate
// and revoke it, a generic sign-in error, CSRF refusal, sign out. A
// screenshot of every page goes to SCREENSHOT_DIR.
//
// scripts/compat-portal.sh starts audian and sets the environment.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const https = require('node:https');
const { chromium } = require('playwright-core');

const base = process.env.AUDIAN_URL;
const accountName = process.env.AUDIAN_ACCOUNT_NAME;
const username = process.env.AUDIAN_USERNAME;
const password = process.env.AUDIAN_PASSWORD;
const shots = process.env.SCREENSHOT_DIR || path.join(__dirname, 'screenshots');
const secretsOut = process.env.AUDIAN_SECRETS_OUT;
const ca = fs.readFileSync(process.env.AUDIAN_CA);

let browser, context, page;
const urls = [];     // every URL the browser requested
const secrets = [];  // every secret the page showed
const consoleErrors = [];

function shot(name) {
  return page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

// apiAuth exchanges an API key for a token: PUT /v2/api_auth over HTTPS.
function apiAuth(key) {
  const body = JSON.stringify({ data: { api_key: key } });
  const u = new URL('/v2/api_auth', base);
  return new Promise((resolve, reject) => {
    const req = https.request(u, {
      method: 'PUT', ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end(body);
  });
}

// api calls the /v2 API over HTTPS and returns the status and JSON body.
function api(method, p, token, body, contentType = 'application/json') {
  const u = new URL(p, base);
  const payload = body === undefined ? undefined : (Buffer.isBuffer(body) ? body : JSON.stringify(body));
  const headers = { 'content-type': contentType };
  if (token) headers['x-auth-token'] = token;
  if (payload) headers['content-length'] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    const req = https.request(u, { method, ca, headers }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: data ? JSON.parse(data) : {} }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function signIn(p, name, user, pass) {
  await p.getByLabel('Account name', { exact: true }).fill(name);
  await p.getByLabel('Username', { exact: true }).fill(user);
  await p.getByLabel('Password', { exact: true }).fill(pass);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.waitForLoadState('load');
}

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('request', (r) => urls.push(r.url()));
  // Anything the Content-Security-Policy blocks is a bug in a page.
  // (The 401 of a failed sign-in and the 403 of a refused form are meant.)
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
});

after(async () => {
  if (secretsOut) fs.writeFileSync(secretsOut, secrets.join('\n') + '\n');
  await browser?.close();
});

test('a wrong password shows a generic error', async () => {
  await page.goto(base + '/settings/api-keys');
  assert.match(page.url(), /\/sign-in\?return_to=%2Fsettings%2Fapi-keys$/);
  await shot('01-sign-in');

  await signIn(page, accountName, username, 'not-the-password');
  const wrongPassword = (await page.getByRole('alert').innerText()).trim();
  await shot('02-sign-in-wrong-password');
  await signIn(page, accountName, 'nobody-' + Date.now(), 'not-the-password');
  const unknownUser = (await page.getByRole('alert').innerText()).trim();
  await signIn(page, 'No Such Account ' + Date.now(), username, 'not-the-password');
  const unknownAccount = (await page.getByRole('alert').innerText()).trim();
  assert.equal(wrongPassword, 'The account name, username or password is incorrect.');
  assert.equal(unknownUser, wrongPassword, 'an unknown user must read like a wrong password');
  assert.equal(unknownAccount, wrongPassword, 'an unknown account must read like a wrong password');
  assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password is never echoed');
});

let firstSecret, rotatedSecret, prefix;

test('sign in, create "CI key", use its secret once', async () => {
  await signIn(page, accountName, username, password);
  assert.equal(new URL(page.url()).pathname, '/settings/api-keys', 'return_to is followed');
  await shot('03-api-keys-empty');

  await page.getByRole('link', { name: 'API Keys', exact: true }).click();
  await page.getByLabel('Name', { exact: true }).fill('CI key');
  await page.getByRole('button', { name: 'Create key', exact: true }).click();
  await page.waitForLoadState('load');
  const secretBox = page.getByLabel('Your new API key');
  firstSecret = await secretBox.inputValue();
  assert.match(firstSecret, /\S{20,}/);
  secrets.push(firstSecret);
  await shot('04-api-key-created');

  assert.equal(await apiAuth(firstSecret), 201, 'the new key works at PUT /v2/api_auth');

  await page.reload();
  const html = await page.content();
  assert.ok(!html.includes(firstSecret), 'the secret is gone after a reload');
  assert.equal(await page.getByLabel('Your new API key').count(), 0);
  const row = page.getByRole('row').filter({ hasText: 'CI key' });
  prefix = (await row.locator('code.prefix').innerText()).replace('…', '').trim();
  assert.ok(prefix.length >= 4 && firstSecret.startsWith(prefix), `prefix ${prefix} remains and names the key`);
  await shot('05-api-keys-list');
});

test('rotate with no grace: old secret 401, new one 201', async () => {
  const row = page.getByRole('row').filter({ hasText: 'CI key' });
  await row.getByRole('button', { name: 'Rotate', exact: true }).click();
  await page.waitForLoadState('load');
  await shot('06-rotate');
  await page.getByLabel('No grace: the old key stops working now').check();
  await page.getByRole('button', { name: 'Rotate', exact: true }).click();
  await page.waitForLoadState('load');
  rotatedSecret = await page.getByLabel('Your new API key').inputValue();
  secrets.push(rotatedSecret);
  assert.notEqual(rotatedSecret, firstSecret);
  await shot('07-rotated');
  assert.equal(await apiAuth(firstSecret), 401, 'the old secret is refused');
  assert.equal(await apiAuth(rotatedSecret), 201, 'the new secret works');
  await page.reload();
  assert.ok(!(await page.content()).includes(rotatedSecret), 'the rotated secret is gone after a reload');
});

test('revoke with confirmation: 401', async () => {
  const row = page.getByRole('row').filter({ hasText: 'CI key' });
  await row.getByRole('button', { name: 'Revoke', exact: true }).click();
  await page.waitForLoadState('load');
  await shot('08-revoke-confirm');
  await page.getByRole('button', { name: 'Revoke', exact: true }).click();
  await page.waitForLoadState('load');
  await shot('09-revoked');
  assert.equal(await page.getByRole('row').filter({ hasText: 'CI key' }).count(), 0);
  assert.equal(await apiAuth(rotatedSecret), 401, 'the revoked key is refused');
});

test('a form posted without its CSRF token is refused', async () => {
  const res = await page.request.post(base + '/settings/api-keys', {
    form: { name: 'forged' }, maxRedirects: 0, failOnStatusCode: false,
  });
  assert.equal(res.status(), 403);
  const wrong = await page.request.post(base + '/settings/api-keys', {
    form: { name: 'forged', csrf_token: 'x'.repeat(43) }, maxRedirects: 0, failOnStatusCode: false,
  });
  assert.equal(wrong.status(), 403);
  await page.goto(base + '/settings/api-keys');
  assert.equal(await page.getByRole('row').filter({ hasText: 'forged' }).count(), 0, 'no key was created');
});

test('every other page renders', async () => {
  for (const [name, p] of [['10-users', '/users'], ['11-sessions', '/sessions'], ['12-profile', '/profile'],
    ['13-audit', '/audit'], ['14-account-key', '/settings/account-key']]) {
    const res = await page.goto(base + p);
    assert.equal(res.status(), 200, p);
    await shot(name);
  }
  // The audit log holds the sign-in and the key's life.
  await page.goto(base + '/audit');
  const log = await page.locator('main').innerText();
  for (const action of ['portal.sign_in', 'api_keys.create', 'api_keys.rotate', 'api_keys.revoke']) {
    assert.ok(log.includes(action), `audit log shows ${action}`);
  }
  // A phone, with a scoped key in the list.
  await page.goto(base + '/settings/api-keys');
  await page.getByLabel('Name', { exact: true }).fill('Deploy bot');
  await page.locator('input[name=scope][value="keys:read"]').check();
  await page.locator('input[name=scope][value="users:read"]').check();
  await page.getByLabel('Expires').selectOption('90');
  await page.getByLabel(/Allowed addresses/).fill('127.0.0.1\n10.0.0.0/8');
  await page.getByRole('button', { name: 'Create key', exact: true }).click();
  await page.waitForLoadState('load');
  secrets.push(await page.getByLabel('Your new API key').inputValue());
  await shot('15-api-key-scoped-created');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + '/settings/api-keys');
  await page.reload();
  await shot('16-api-keys-phone');
  await page.goto(base + '/users');
  await page.getByLabel('Username', { exact: true }).fill('grace');
  await page.getByLabel('First name').fill('Grace');
  await page.getByLabel('Last name').fill('Hopper');
  await page.getByLabel('Initial password').fill('grace-initial-pw');
  await page.getByRole('button', { name: 'Create user', exact: true }).click();
  await page.waitForLoadState('load');
  await shot('17-users-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('row').filter({ hasText: 'grace' }).getByRole('link').click();
  await page.waitForLoadState('load');
  await shot('17b-user-detail');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test("the account's whitelabel name and logo", async () => {
  const login = await api('PUT', '/v2/api_auth', '', { data: { api_key: process.env.AUDIAN_API_KEY } });
  assert.equal(login.status, 201);
  const token = login.body.auth_token;
  const acct = '/v2/accounts/' + login.body.data.account_id;
  const host = new URL(base).hostname;
  const wl = await api('PUT', acct + '/whitelabel', token, { data: { company_name: 'Portal Check Voice', domain: host } });
  assert.equal(wl.status, 201, JSON.stringify(wl.body));
  const logo = await api('POST', acct + '/whitelabel/logo', token, fs.readFileSync(path.join(__dirname, 'brand-logo.png')), 'image/png');
  assert.equal(logo.status, 200, JSON.stringify(logo.body));
  await page.goto(base + '/settings/api-keys');
  assert.equal((await page.locator('.brand-name').innerText()).trim(), 'Portal Check Voice');
  assert.match(await page.title(), /· Portal Check Voice$/);
  assert.match(await page.locator('.brand-logo').getAttribute('src'), /^data:image\/png;base64,/);
  await shot('18-branded-api-keys');
  // Before sign-in, the host name chooses the branding.
  const anon = await browser.newContext({ ignoreHTTPSErrors: true });
  const p2 = await anon.newPage();
  await p2.goto(base + '/sign-in');
  assert.equal((await p2.locator('.brand-name').innerText()).trim(), 'Portal Check Voice');
  await p2.screenshot({ path: path.join(shots, '19-branded-sign-in.png'), fullPage: true });
  await p2.setViewportSize({ width: 390, height: 844 });
  await p2.screenshot({ path: path.join(shots, '20-branded-sign-in-phone.png'), fullPage: true });
  await anon.close();
});

test('after sign out the session cookie no longer works', async () => {
  await page.goto(base + '/settings/api-keys');
  const before = (await context.cookies()).find((c) => c.name === '__Host-audian_session');
  assert.ok(before, 'a session cookie is set');
  assert.ok(before.httpOnly && before.secure && before.sameSite === 'Lax', 'the cookie is HttpOnly, Secure, SameSite=Lax');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForLoadState('load');
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  await shot('21-signed-out');

  // Replay the old cookie from a fresh browser context.
  const other = await browser.newContext({ ignoreHTTPSErrors: true });
  await other.addCookies([{ ...before }]);
  const p2 = await other.newPage();
  await p2.goto(base + '/settings/api-keys');
  assert.equal(new URL(p2.url()).pathname, '/sign-in', 'the old cookie is refused');
  await other.close();
});

test('no page logged an error (a CSP violation among them)', () => {
  assert.deepEqual(consoleErrors, []);
});

test('no secret in any URL the browser requested', () => {
  assert.ok(secrets.length >= 2);
  for (const u of urls) {
    for (const s of secrets) {
      assert.ok(!u.includes(s) && !decodeURIComponent(u).includes(s), `secret in URL ${u}`);
    }
    assert.ok(!u.includes(password), `password in URL ${u}`);
  }
});
