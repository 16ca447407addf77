'use strict';
// Real koa + koa-session over real HTTP with a cookie jar, sessions in the test DynamoDB (every
// request the store sends is signature-checked by the test server).
const test = require('node:test');
const assert = require('node:assert/strict');
const { useServer, startApp } = require('./helpers');
const { createClient } = require('./support/cookie-client');

async function setup(t, sessionOptions = {}, storeOpts = {}) {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store(storeOpts);
  const app = await startApp(t, store, sessionOptions);
  return { server, store, app, client: () => createClient(app.url) };
}

function sessionKey(c) {
  return c.cookies()['koa.sess'];
}

test('login, a counter across requests, logout deletes the item', async (t) => {
  const { server, client } = await setup(t);
  const c = client();
  assert.deepEqual((await c.get('/whoami')).json(), { user: null, count: 0, isNew: true });
  assert.equal((await c.get('/login?user=ana')).status, 200);
  const key = sessionKey(c);
  assert.ok(key, 'the cookie holds the external key');
  assert.ok(c.cookies()['koa.sess.sig'], 'signed cookie');
  const item = await server.getItem('sessions', 'sessionId', key);
  assert.equal(item.session.M.user.S, 'ana');

  for (let i = 1; i <= 3; i++) assert.deepEqual((await c.get('/count')).json(), { user: 'ana', count: i });
  assert.equal((await server.getItem('sessions', 'sessionId', key)).session.M.count.N, '3');

  assert.equal((await c.get('/logout')).status, 200);
  assert.equal(await server.getItem('sessions', 'sessionId', key), undefined, 'the item is deleted');
  assert.equal(sessionKey(c), undefined, 'the cookie is cleared');
  assert.deepEqual((await c.get('/whoami')).json(), { user: null, count: 0, isNew: true });
});

test('a session whose item has expired in DynamoDB is gone, although the cookie is still valid', async (t) => {
  const { server, client } = await setup(t, { maxAge: 3600000 });
  const c = client();
  await c.get('/login?user=bo');
  const key = sessionKey(c);
  const item = await server.getItem('sessions', 'sessionId', key);
  // DynamoDB's TTL deletes lazily: the item is still there, past its expiry
  item.expires = { N: String(Math.floor(Date.now() / 1000) - 1) };
  await server.putItem('sessions', item);
  assert.deepEqual((await c.get('/whoami')).json(), { user: null, count: 0, isNew: true });
});

test('koa-session expiry: maxAge elapses, the session is new again', async (t) => {
  const { server, app } = await setup(t, { maxAge: 1000 });
  // a jar whose clock runs late keeps sending the cookie after it expired, as a stale browser would
  const c = createClient(app.url, { now: () => Date.now() - 60000 });
  await c.get('/login?user=cy');
  const key = sessionKey(c);
  const item = await server.getItem('sessions', 'sessionId', key);
  const expires = Number(item.expires.N);
  const now = Date.now() / 1000;
  // koa-session adds 10 s to the store's lifetime so the store outlives the cookie
  assert.ok(expires >= Math.floor(now + 10) && expires <= Math.ceil(now + 11.5), `expires ${expires} now ${now}`);
  assert.equal((await c.get('/whoami')).json().user, 'cy');
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual((await c.get('/whoami')).json(), { user: null, count: 0, isNew: true });
});

// Writes of the session: the whole session or only what changed (both UpdateItem; PutItem from 1.x).
const writesOf = (server) => (server.stats.byTarget.PutItem || 0) + (server.stats.byTarget.UpdateItem || 0);

test('rolling: every request writes the session again; without it, unchanged sessions are not written', async (t) => {
  const { server, client } = await setup(t, { rolling: true, maxAge: 60000 });
  const c = client();
  await c.get('/login?user=dee');
  const puts = writesOf(server);
  await c.get('/whoami');
  await c.get('/whoami');
  assert.equal(writesOf(server), puts + 2, 'rolling writes on each request (the expiry only: see test/parallel.test.js)');

  const plain = await setup(t, { rolling: false, maxAge: 60000 });
  const c2 = plain.client();
  await c2.get('/login?user=eve');
  const puts2 = writesOf(plain.server);
  await c2.get('/whoami');
  await c2.get('/whoami');
  assert.equal(writesOf(plain.server), puts2, 'no writes for unchanged sessions');
});

test('renew: a session close to its end is written again with a new expiry', async (t) => {
  const maxAge = 600000;
  const { server, client } = await setup(t, { renew: true, maxAge });
  const c = client();
  await c.get('/login?user=fay');
  const key = sessionKey(c);
  const item = await server.getItem('sessions', 'sessionId', key);
  // age the stored session: it now ends in less than maxAge / 2
  item.session.M._expire = { N: String(Date.now() + 60000) };
  await server.putItem('sessions', item);
  const puts = writesOf(server);
  assert.equal((await c.get('/whoami')).json().user, 'fay');
  assert.equal(writesOf(server), puts + 1, 'renewed');
  const renewed = await server.getItem('sessions', 'sessionId', key);
  assert.ok(Number(renewed.session.M._expire.N) > Date.now() + maxAge - 10000);
  assert.ok(Number(renewed.expires.N) > Date.now() / 1000 + maxAge / 1000 - 10);
});

test("maxAge 'session': a browser-session cookie, the item kept for the default lifetime", async (t) => {
  const { server, client } = await setup(t, { maxAge: 'session' });
  const c = client();
  const res = await c.get('/login?user=gus');
  const setCookie = [].concat(res.headers['set-cookie']).join('\n');
  assert.doesNotMatch(setCookie, /expires=/i, 'no Expires: a session cookie');
  const item = await server.getItem('sessions', 'sessionId', sessionKey(c));
  assert.equal(item.session.M._session.BOOL, true);
  const expires = Number(item.expires.N);
  assert.ok(Math.abs(expires - (Date.now() / 1000 + 86400)) < 10, `expires ${expires}`);
  assert.equal((await c.get('/count')).json().count, 1);
});

test('what goes in comes back equal through koa-session', async (t) => {
  const { client } = await setup(t);
  const c = client();
  const data = {
    nested: { deeper: { list: [1, { two: [3, 4, { five: 'six' }] }], empty: {} } },
    text: 'Grüße, 世界! 🚀 \u0000 \n\t "quoted" \\ back',
    numbers: { tenth: 0.1, max: 2 ** 53 - 1, neg: -1.5e-10, big: 1.7976931348623157e125, zero: 0 },
    empties: ['', [], {}],
    flags: [true, false, null],
  };
  await c.post('/data', JSON.stringify(data), { headers: { 'content-type': 'application/json' } });
  assert.deepEqual((await c.get('/data')).json().data, data);
});

test('200 concurrent clients: no session lost or crossed', async (t) => {
  const { server, client } = await setup(t);
  const n = 200;
  const clients = Array.from({ length: n }, () => client());
  await Promise.all(clients.map((c, i) => c.get(`/login?user=user-${i}`)));
  for (let round = 1; round <= 3; round++) {
    const res = await Promise.all(clients.map((c) => c.get('/count')));
    res.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { user: `user-${i}`, count: round });
    });
  }
  const keys = new Set(clients.map(sessionKey));
  assert.equal(keys.size, n, 'every client has its own session');
  const items = await server.scan('sessions');
  assert.equal(items.length, n);
  assert.ok(server.stats.verified >= n * 4);
});

test('a DynamoDB failure reaches the browser as a 500, not as DynamoDB\'s 400', async (t) => {
  const server = await useServer(t);
  const store = server.store({ table: { name: 'missing_table' } });
  const app = await startApp(t, store);
  const c = createClient(app.url);
  const r = await c.get('/login?user=x');
  assert.equal(r.status, 500);
  assert.doesNotMatch(r.text, /ResourceNotFound/, 'no internals shown to the browser');
});
