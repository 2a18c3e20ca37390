// Compatibility check: the `openid-client` npm package (6.x, a certified
// OpenID Connect relying party nobody here wrote) uses audian's OAuth
// provider over HTTPS: discovery with an exact issuer, the client
// credentials grant with client_secret_basic and client_secret_post,
// introspection (RFC 7662), revocation (RFC 7009), and the device grant
// (RFC 8628, approved on the portal's sign-in and /device pages) with
// refresh token rotation and reuse detection. The server is started
// by scripts/compat-oauth.sh, which passes everything through the
// environment:
//
//   AUDIAN_URL          https://127.0.0.1:<port> (the API)
//   AUDIAN_ISSUER       https://localhost:<port> (the OAuth issuer)
//   AUDIAN_CA           the self-signed certificate; NODE_EXTRA_CA_CERTS too
//   AUDIAN_ACCOUNT_NAME, AUDIAN_USERNAME, AUDIAN_PASSWORD, AUDIAN_ACCOUNT_ID
import test from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (see scripts/compat-oauth.sh)`);
  return v;
}

const api = env('AUDIAN_URL');
const issuer = env('AUDIAN_ISSUER');
const accountID = env('AUDIAN_ACCOUNT_ID');

// v2 calls the Crossbar API with fetch.
async function v2(method, path, token, data) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers['x-auth-token'] = token;
  const res = await fetch(api + path, {
    method, headers, body: data === undefined ? undefined : JSON.stringify({ data }),
  });
  return { status: res.status, body: await res.json() };
}

async function adminToken() {
  const r = await v2('PUT', '/v2/user_auth', '', {
    username: env('AUDIAN_USERNAME'), password: env('AUDIAN_PASSWORD'), account_name: env('AUDIAN_ACCOUNT_NAME'),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.auth_token;
}

async function registerApp(token) {
  const r = await v2('PUT', `/v2/accounts/${accountID}/oauth_apps`, token, {
    name: 'openid-client compat', grant_types: ['client_credentials'], scopes: ['users:read'],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.data.client_id, secret: r.body.data.client_secret };
}

test('discovery, client credentials, introspection and revocation', async () => {
  const admin = await adminToken();
  const app = await registerApp(admin);

  const config = await client.discovery(new URL(issuer), app.id, undefined, client.ClientSecretBasic(app.secret));
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, issuer, 'the issuer matches byte for byte');
  assert.ok(meta.token_endpoint.startsWith(issuer + '/'));

  const tokens = await client.clientCredentialsGrant(config, { scope: 'users:read' });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.expiresIn() > 3500 && tokens.expiresIn() <= 3600, `expires in ${tokens.expiresIn()}`);
  assert.equal(tokens.refresh_token, undefined);

  // The access token works on /v2 with exactly its scope.
  assert.equal((await v2('GET', `/v2/accounts/${accountID}/users`, tokens.access_token)).status, 200);
  assert.equal((await v2('PUT', `/v2/accounts/${accountID}/users`, tokens.access_token, { first_name: 'No', last_name: 'Way' })).status, 403);

  const info = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(info.active, true);
  assert.equal(info.scope, 'users:read');
  assert.equal(info.client_id, app.id);

  // client_secret_post works as well.
  const post = await client.discovery(new URL(issuer), app.id, undefined, client.ClientSecretPost(app.secret));
  const again = await client.clientCredentialsGrant(post, { scope: 'users:read' });
  assert.ok(again.access_token);

  await client.tokenRevocation(config, tokens.access_token);
  assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
  assert.equal((await v2('GET', `/v2/accounts/${accountID}/users`, tokens.access_token)).status, 401);

  // A wrong secret is refused.
  const wrong = await client.discovery(new URL(issuer), app.id, undefined, client.ClientSecretBasic('acs_wrong'));
  await assert.rejects(client.clientCredentialsGrant(wrong, { scope: 'users:read' }));
});

// A browser without a browser: fetch with a cookie jar of its own, for the
// portal's sign-in and the device page.
class Browser {
  constructor(base) { this.base = base; this.cookies = new Map(); }
  async go(method, path, form) {
    const headers = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }
  static csrf(page) {
    const m = page.match(/name="csrf_token" value="([^"]+)"/);
    assert.ok(m, 'the page has a CSRF token');
    return m[1];
  }
}

test('device authorization, refresh rotation and introspection', async () => {
  const admin = await adminToken();
  const r = await v2('PUT', `/v2/accounts/${accountID}/oauth_apps`, admin, {
    name: 'openid-client device', grant_types: [
      'urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    scopes: ['openid', 'offline_access', 'users:read'],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const config = await client.discovery(new URL(issuer), r.body.data.client_id, undefined,
    client.ClientSecretBasic(r.body.data.client_secret));

  const da = await client.initiateDeviceAuthorization(config, { scope: 'openid offline_access users:read' });
  assert.match(da.user_code, /^[A-Z]{4}-[A-Z]{4}$/);

  // The person signs in on the portal and approves the code on /device.
  const b = new Browser(issuer);
  let page = await b.go('GET', '/sign-in?return_to=%2Fdevice');
  let res = await b.go('POST', '/sign-in', {
    csrf_token: Browser.csrf(page.text), return_to: '/device', account_name: env('AUDIAN_ACCOUNT_NAME'),
    username: env('AUDIAN_USERNAME'), password: env('AUDIAN_PASSWORD'),
  });
  assert.equal(res.status, 303, res.text);
  assert.equal(res.location, '/device');
  page = await b.go('GET', '/device');
  res = await b.go('POST', '/device', { csrf_token: Browser.csrf(page.text), user_code: da.user_code });
  assert.equal(res.status, 200);
  assert.match(res.text, /openid-client device/);
  res = await b.go('POST', '/device', { csrf_token: Browser.csrf(res.text), user_code: da.user_code, decision: 'allow' });
  assert.equal(res.status, 200);

  const tokens = await client.pollDeviceAuthorizationGrant(config, da);
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  assert.ok(tokens.id_token, 'openid gives an ID token');
  assert.equal((await v2('GET', `/v2/accounts/${accountID}/users`, tokens.access_token)).status, 200);

  const next = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(next.refresh_token && next.refresh_token !== tokens.refresh_token, 'the refresh token rotates');
  assert.equal((await client.tokenIntrospection(config, next.access_token)).active, true);

  // The rotated token used again kills the family.
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token));
  await assert.rejects(client.refreshTokenGrant(config, next.refresh_token));
  assert.equal((await client.tokenIntrospection(config, next.access_token)).active, false);
});
