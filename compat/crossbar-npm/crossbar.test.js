// Compatibility check: the `crossbar` npm package (1.0.0, a Kazoo Node.js
// SDK) logs in to audian with user_auth and reads the account and its
// users, unchanged. The server is started by scripts/compat-crossbar.sh,
// which passes everything through the environment:
//
//   AUDIAN_URL            https://127.0.0.1:<port>
//   AUDIAN_CA             the server's self-signed certificate; node reads
//                         it through NODE_EXTRA_CA_CERTS, set to the same path
//   AUDIAN_ACCOUNT_NAME   the bootstrap account's name
//   AUDIAN_USERNAME       its administrator
//   AUDIAN_PASSWORD       the administrator's password
//   AUDIAN_ACCOUNT_ID     optional: the account id bootstrap printed
//   AUDIAN_USER_ID        optional: the user id bootstrap printed
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const Crossbar = require('crossbar');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (see scripts/compat-crossbar.sh)`);
  return v;
}

const base = new URL(env('AUDIAN_URL'));
if (base.protocol === 'https:' && process.env.NODE_EXTRA_CA_CERTS !== env('AUDIAN_CA')) {
  throw new Error('set NODE_EXTRA_CA_CERTS to AUDIAN_CA so that node trusts the server certificate');
}
const accountName = env('AUDIAN_ACCOUNT_NAME');
const username = env('AUDIAN_USERNAME');
const password = env('AUDIAN_PASSWORD');

const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/;
const ID = /^[0-9a-f]{32}$/;

// The SDK builds "<url>:<port>/<version><path>".
function client() {
  return new Crossbar({ url: `${base.protocol}//${base.hostname}`, port: base.port, version: 'v2' });
}

// call runs one SDK method and resolves with the reply envelope. The SDK
// calls back with the parsed body, except that it asks `request` to parse
// JSON only for bodies it sends, so GET replies arrive as strings; it
// reports an error envelope as its err argument.
function call(cb, api, method, args) {
  return new Promise((resolve, reject) => {
    cb.api[api][method](args, (err, body) => {
      if (err) {
        reject(err instanceof Error ? err : Object.assign(new Error(`${api}.${method}: ${JSON.stringify(err)}`), { body: err }));
        return;
      }
      try {
        resolve(typeof body === 'string' ? JSON.parse(body) : body);
      } catch (e) {
        reject(new Error(`${api}.${method}: reply is not JSON: ${body}`));
      }
    });
  });
}

function hex(alg, s) {
  return crypto.createHash(alg).update(s).digest('hex');
}

// Kazoo credentials: a digest of lower(username) + ":" + password.
const creds = (alg) => hex(alg, `${username.toLowerCase()}:${password}`);

async function login(cb, data) {
  const body = await call(cb, 'user_auth', 'create_user_auth', { data });
  assert.equal(body.status, 'success');
  assert.match(body.auth_token, JWT, 'auth_token must be a JWT');
  assert.match(body.data.account_id, ID);
  assert.match(body.data.owner_id, ID);
  if (process.env.AUDIAN_ACCOUNT_ID) assert.equal(body.data.account_id, process.env.AUDIAN_ACCOUNT_ID);
  if (process.env.AUDIAN_USER_ID) assert.equal(body.data.owner_id, process.env.AUDIAN_USER_ID);
  return body;
}

test('user_auth with md5 credentials and the account name', async () => {
  const body = await login(client(), { credentials: creds('md5'), account_name: accountName });
  assert.equal(body.data.account_name, accountName);
});

test('user_auth with sha credentials, account name in other case and punctuation', async () => {
  const mangled = accountName.toUpperCase().replace(/[^A-Z0-9]+/g, '-');
  await login(client(), { credentials: creds('sha1'), method: 'sha', account_name: mangled });
});

test('user_auth with a wrong password is refused with a 401 envelope', async () => {
  const wrong = hex('md5', `${username.toLowerCase()}:not-${password}`);
  await assert.rejects(call(client(), 'user_auth', 'create_user_auth', { data: { credentials: wrong, account_name: accountName } }), (err) => {
    assert.equal(err.body.status, 'error');
    assert.equal(err.body.error, '401');
    assert.equal(err.body.message, 'unauthorized');
    assert.equal(JSON.stringify(err.body).includes(password), false);
    return true;
  });
});

test('the login token reads the account and its users', async () => {
  const cb = client();
  const auth = await login(cb, { credentials: creds('md5'), account_name: accountName });
  cb.set_auth_token(auth.auth_token);
  const accountID = auth.data.account_id;
  const userID = auth.data.owner_id;

  const account = await call(cb, 'accounts', 'get_account', { url_params: { account_id: accountID } });
  assert.equal(account.status, 'success');
  assert.equal(account.data.id, accountID);
  assert.equal(account.data.name, accountName);

  const users = await call(cb, 'users', 'get_users', { url_params: { account_id: accountID } });
  assert.equal(users.status, 'success');
  assert.ok(Array.isArray(users.data), 'users data is a list');
  const me = users.data.find((u) => u.id === userID);
  assert.ok(me, 'the list holds the logged-in user');
  assert.equal(me.username, username.toLowerCase());
  for (const u of users.data) {
    assert.equal(typeof u.first_name, 'string');
    assert.equal(typeof u.last_name, 'string');
  }

  const user = await call(cb, 'users', 'get_user', { url_params: { account_id: accountID, user_id: userID } });
  assert.equal(user.status, 'success');
  assert.equal(user.data.id, userID);
  assert.equal(user.data.username, username.toLowerCase());
  assert.equal(user.data.priv_level, 'admin');
  for (const key of Object.keys(user.data)) {
    assert.doesNotMatch(key, /^(password|credentials)$|hash|^pvt_/, `user document exposes ${key}`);
  }
});

test('a request without a token is refused', async () => {
  const auth = await login(client(), { credentials: creds('md5'), account_name: accountName });
  const body = await call(client(), 'accounts', 'get_account', { url_params: { account_id: auth.data.account_id } });
  assert.equal(body.status, 'error');
  assert.equal(body.error, '401');
});
