// Drives the zitadel/oidc example relying party (go install
// github.com/zitadel/oidc/v3/example/client/app@v3.52.0, a client nobody
// here wrote) through a full authorization code flow with PKCE against
// audian, in Debian's Chromium through playwright-core: the relying
// party's /login sends the browser to audian, which sends it to the
// portal's sign-in, then shows the consent page; after "Allow" the relying
// party exchanges the code, verifies the ID token against audian's JWKS,
// calls userinfo and shows the result.
//
// scripts/compat-oauth-rp.sh starts audian and the relying party and sets
// the environment: RP_URL, AUDIAN_ACCOUNT_NAME, AUDIAN_USERNAME,
// AUDIAN_PASSWORD, SCREENSHOT_DIR.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (see scripts/compat-oauth-rp.sh)`);
  return v;
}

test('the example relying party signs in through audian', async () => {
  const shots = process.env.SCREENSHOT_DIR || path.join(__dirname, 'screenshots');
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'],
  });
  try {
    // audian's certificate is self-signed; the relying party trusts it
    // through SSL_CERT_FILE, the browser through this flag.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(env('RP_URL') + '/login');
    await page.waitForURL(/\/sign-in\?return_to=/);
    await page.screenshot({ path: path.join(shots, '1-sign-in.png'), fullPage: true });
    await page.getByLabel('Account name', { exact: true }).fill(env('AUDIAN_ACCOUNT_NAME'));
    await page.getByLabel('Username', { exact: true }).fill(env('AUDIAN_USERNAME'));
    await page.getByLabel('Password', { exact: true }).fill(env('AUDIAN_PASSWORD'));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();

    await page.waitForURL(/\/oauth\/login\?id=/);
    await assert.doesNotReject(page.getByRole('heading', { name: 'Authorize Example RP' }).waitFor());
    assert.ok(await page.getByText('See your email address').isVisible(), 'the consent page names each permission');
    await page.screenshot({ path: path.join(shots, '2-consent.png'), fullPage: true });
    await page.getByRole('button', { name: 'Allow', exact: true }).click();

    await page.waitForURL(new RegExp('^' + env('RP_URL').replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/auth/callback'));
    const body = await page.textContent('body');
    await page.screenshot({ path: path.join(shots, '3-relying-party.png'), fullPage: true });
    const info = JSON.parse(body);
    assert.equal(info.preferred_username, env('AUDIAN_USERNAME'));
    assert.match(info.sub, /^[0-9a-f]{32}\.[0-9a-f]{32}$/);

    // Another browser, signing in again: the consent is remembered, and
    // the sign-in form's answer leads on to the relying party.
    const second = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await second.goto(env('RP_URL') + '/login');
    await second.waitForURL(/\/sign-in\?return_to=/);
    await second.getByLabel('Account name', { exact: true }).fill(env('AUDIAN_ACCOUNT_NAME'));
    await second.getByLabel('Username', { exact: true }).fill(env('AUDIAN_USERNAME'));
    await second.getByLabel('Password', { exact: true }).fill(env('AUDIAN_PASSWORD'));
    await second.getByRole('button', { name: 'Sign in', exact: true }).click();
    await second.waitForURL(new RegExp('^' + env('RP_URL').replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/auth/callback'));
    assert.equal(JSON.parse(await second.textContent('body')).sub, info.sub);
  } finally {
    await browser.close();
  }
});
