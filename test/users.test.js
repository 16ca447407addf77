'use strict';
// A user's sessions (the users option): listing them and logging out everywhere, over HTTP with real
// koa and koa-session against the signature-checking test server; the index on the user attribute
// (created with the table, added to an existing one, refused); and lib/users.js itself over the
// harness's signed call where the store cannot steer the case (unprocessed batch items, a stale
// index, an index still being built).
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const Koa = require('koa');
const { createSession: session } = require('koa-session');
const { useServer, storeOptions, requestGates } = require('./helpers');
const { createClient } = require('./support/cookie-client');
const { DynamoDBStoreError } = require('../lib/errors');
const { resolveOptions } = require('../lib/config');
const users = require('../lib/users');
const { ensureTable } = require('../lib/table');

const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.0' };
const SETTLE_MS = 150; // the second pass's wait in these tests (1000 ms by default)

function warningsDuring(t) {
  const seen = [];
  const onWarning = (w) => seen.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  return seen;
}

const tick = () => new Promise((r) => setImmediate(r));

/**
 * A koa app on `store` whose requests can be held after koa-session read the session:
 *   /login?user=ana[&num=1]   session.user = 'ana' (a number with num=1)
 *   /anon                     deletes session.user
 *   /set?f=a&v=1[&hold=name]  session[f] = JSON.parse(v), after the hold
 *   /whoami                   { user, key } (key: the session's key, koa-session's externalKey)
 *   /logout-others            destroys the user's other sessions: { destroyed }
 *   /logout                   ctx.session = null
 */
async function startApp(t, store) {
  const app = new Koa();
  app.keys = ['users test key'];
  app.silent = true;
  const errors = [];
  app.on('error', (err) => errors.push(err));
  const { hold, wait } = requestGates();
  app.use(session({ store, key: 'sid' }, app));
  app.use(async (ctx) => {
    const s = ctx.session;
    const q = ctx.query;
    await wait(ctx);
    switch (ctx.path) {
      case '/login': s.user = q.num ? Number(q.user) : q.user; ctx.body = { ok: true }; break;
      case '/anon': delete s.user; ctx.body = { ok: true }; break;
      case '/set': s[q.f] = JSON.parse(q.v); ctx.body = s.toJSON(); break;
      case '/whoami': ctx.body = { user: s.user ?? null, key: s.externalKey ?? null, isNew: Boolean(s.isNew) }; break;
      case '/logout-others':
        ctx.body = { destroyed: await store.destroySessionsOf(s.user, { except: s.externalKey }) };
        break;
      case '/logout': ctx.session = null; ctx.body = { ok: true }; break;
      default: ctx.status = 404;
    }
  });
  const server = http.createServer(app.callback());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const url = `http://127.0.0.1:${server.address().port}`;
  const clients = [];
  const client = () => {
    const c = createClient(url, { privateAgent: true });
    clients.push(c);
    return c;
  };
  t.after(() => { for (const c of clients) c.close(); });
  return { client, hold, errors };
}

async function setup(t, { usersOptions = {}, serverOptions = {}, table = {} } = {}) {
  const server = await useServer(t, serverOptions);
  const store = server.store({ table, users: { of: (sess) => sess.user, settleMs: SETTLE_MS, ...usersOptions } });
  await store.createTableIfDontExists();
  const app = await startApp(t, store);
  return { server, store, ...app };
}

/** A client logged in as `user`; resolves [client, its session key]. */
async function loggedIn(app, user, query = '') {
  const c = app.client();
  assert.equal((await c.get(`/login?user=${encodeURIComponent(user)}${query}`)).status, 200);
  return [c, c.cookies().sid];
}

/** Records the requests the store sends: [{ target, body }] (a fault that never fires). */
function record(server) {
  const seen = [];
  server.injectFault({ kind: 'throttle', count: Infinity, filter: ({ target, body }) => { seen.push({ target, body }); return false; } });
  return seen;
}

const keysOf = (list) => list.map((s) => s.key).sort();

test('three sessions of one user, one of another, one anonymous: each user\'s live sessions are listed', async (t) => {
  const app = await setup(t);
  const { server, store } = app;
  const ana = [];
  for (let i = 0; i < 3; i++) ana.push((await loggedIn(app, 'ana'))[1]);
  const [, bob] = await loggedIn(app, 'bob');
  const anon = app.client();
  assert.equal((await anon.get('/set?f=cart&v=3')).status, 200);
  const anonKey = anon.cookies().sid;

  const list = await store.sessionsOf('ana');
  assert.deepEqual(keysOf(list), [...ana].sort());
  for (const s of list) {
    assert.ok(s.expires instanceof Date && s.expires.getTime() > Date.now(), 'expires is a future Date');
    assert.ok(s.createdAt instanceof Date && Math.abs(s.createdAt.getTime() - Date.now()) < 60000, 'createdAt is about now');
  }
  assert.deepEqual(keysOf(await store.sessionsOf('bob')), [bob]);
  assert.deepEqual(await store.sessionsOf('nobody'), []);

  // what the items hold: the user attribute (absent for the anonymous session) and createdAt
  const anaItem = await server.getItem('sessions', 'sessionId', ana[0]);
  assert.deepEqual(anaItem.userId, { S: 'ana' });
  assert.match(anaItem.createdAt.N, /^\d+$/);
  const anonItem = await server.getItem('sessions', 'sessionId', anonKey);
  assert.equal(anonItem.userId, undefined, 'an anonymous session is not in the index');
  assert.match(anonItem.createdAt.N, /^\d+$/);
  assert.deepEqual(app.errors, []);
});

test('numeric user ids are stored as their decimal text: 42 and \'42\' are the same user', async (t) => {
  const app = await setup(t);
  const [, key] = await loggedIn(app, '42', '&num=1');
  assert.deepEqual((await app.server.getItem('sessions', 'sessionId', key)).userId, { S: '42' });
  assert.deepEqual(keysOf(await app.store.sessionsOf(42)), [key]);
  assert.deepEqual(keysOf(await app.store.sessionsOf('42')), [key]);
});

test('listing is newest first, expired sessions left out (DynamoDB deletes them late)', async (t) => {
  const { server, store } = await setup(t);
  const now = Math.floor(Date.now() / 1000);
  const item = (key, createdAt, expires) => ({
    sessionId: { S: key }, session: { M: {} }, userId: { S: 'ana' }, expires: { N: String(expires) },
    ...(createdAt === null ? {} : { createdAt: { N: String(createdAt) } }), version: { N: '1' },
  });
  await server.putItem('sessions', item('old', now - 3000, now + 3600));
  await server.putItem('sessions', item('new', now - 10, now + 3600));
  await server.putItem('sessions', item('mid-b', now - 500, now + 3600));
  await server.putItem('sessions', item('mid-a', now - 500, now + 3600));
  await server.putItem('sessions', item('unknown', null, now + 3600)); // written before the users option
  await server.putItem('sessions', item('expired', now - 100, now - 1));
  const list = await store.sessionsOf('ana');
  assert.deepEqual(list.map((s) => s.key), ['new', 'mid-a', 'mid-b', 'old', 'unknown']);
  assert.equal(list[4].createdAt, null);
  assert.equal(list[0].createdAt.getTime(), (now - 10) * 1000);
  assert.equal(list[0].expires.getTime(), (now + 3600) * 1000);
  // destroying counts the live ones; the expired one is deleted too (no request can save it again)
  assert.equal(await store.destroySessionsOf('ana'), 5);
  assert.equal(await server.getItem('sessions', 'sessionId', 'expired'), undefined);
  assert.deepEqual(await server.scan('sessions'), []);
});

test('revoke all but the current session while a slow request of a revoked one is in flight: it stays revoked', async (t) => {
  const app = await setup(t);
  const { server, store, hold } = app;
  const [current, currentKey] = await loggedIn(app, 'ana');
  const [slowClient, slowKey] = await loggedIn(app, 'ana');
  const [other, otherKey] = await loggedIn(app, 'ana');
  const [bobClient, bobKey] = await loggedIn(app, 'bob');

  const slow = hold('slow');
  const pending = slowClient.get('/set?f=cart&v=%22books%22&hold=slow');
  await slow.arrived; // the slow request has read its session
  const seen = record(server);
  const r = await current.get('/logout-others');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { destroyed: 2 });
  assert.ok(seen.filter((x) => x.target === 'Query').length >= 2, 'the index was queried again after settleMs');
  slow.release();
  assert.equal((await pending).status, 200);

  assert.equal(await server.getItem('sessions', 'sessionId', slowKey), undefined, 'the slow save did not bring the session back');
  assert.equal(await server.getItem('sessions', 'sessionId', otherKey), undefined);
  assert.deepEqual(keysOf(await store.sessionsOf('ana')), [currentKey]);
  assert.deepEqual((await current.get('/whoami')).json(), { user: 'ana', key: currentKey, isNew: false });
  for (const c of [slowClient, other]) assert.equal((await c.get('/whoami')).json().user, null, 'logged out');
  assert.deepEqual((await bobClient.get('/whoami')).json().user, 'bob', 'another user is not touched');
  assert.deepEqual(keysOf(await store.sessionsOf('bob')), [bobKey]);
  assert.deepEqual(app.errors, []);
});

test('a user who logs in as someone else moves between users; logging out of the user leaves the index', async (t) => {
  const app = await setup(t);
  const { server, store } = app;
  const [c, key] = await loggedIn(app, 'ana');
  const created = (await server.getItem('sessions', 'sessionId', key)).createdAt;
  assert.deepEqual(keysOf(await store.sessionsOf('ana')), [key]);
  await c.get('/login?user=bob');
  assert.equal(c.cookies().sid, key, 'the same session');
  assert.deepEqual(await store.sessionsOf('ana'), []);
  assert.deepEqual(keysOf(await store.sessionsOf('bob')), [key]);
  await c.get('/anon');
  const item = await server.getItem('sessions', 'sessionId', key);
  assert.equal(item.userId, undefined, 'the attribute is removed');
  assert.deepEqual(item.createdAt, created, 'createdAt is set once');
  assert.deepEqual(await store.sessionsOf('bob'), []);
  // revoking bob now does not touch the (anonymous) session
  assert.equal(await store.destroySessionsOf('bob'), 0);
  assert.ok(await server.getItem('sessions', 'sessionId', key));
});

test('more sessions than one page of the query: every page is read, every session destroyed', async (t) => {
  const app = await setup(t, { usersOptions: { pageSize: 2 } });
  const { server, store } = app;
  const keys = [];
  for (let i = 0; i < 7; i++) keys.push((await loggedIn(app, 'ana'))[1]);
  await loggedIn(app, 'bob');
  const seen = record(server);
  assert.deepEqual(keysOf(await store.sessionsOf('ana')), keys.sort());
  const queries = seen.filter((x) => x.target === 'Query');
  assert.ok(queries.length >= 4, `7 sessions in pages of 2: ${queries.length} queries`);
  assert.ok(queries.every((q) => q.body.Limit === 2 && q.body.IndexName === 'userId-index'));
  assert.ok(queries.slice(1).every((q) => q.body.ExclusiveStartKey), 'pages after the first start where the last ended');
  assert.equal(await store.destroySessionsOf('ana'), 7);
  assert.deepEqual(await store.sessionsOf('ana'), []);
  for (const k of keys) assert.equal(await server.getItem('sessions', 'sessionId', k), undefined);
  assert.equal((await server.scan('sessions')).length, 1, 'bob\'s session is left');
});

test('more than 25 sessions: BatchWriteItem in chunks of 25; except takes an array', async (t) => {
  const { server, store } = await setup(t);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 30; i++) {
    await server.putItem('sessions', { sessionId: { S: `s${i}` }, session: { M: {} }, userId: { S: 'ana' }, expires: { N: String(now + 3600) }, createdAt: { N: String(now) } });
  }
  const seen = record(server);
  assert.equal(await store.destroySessionsOf('ana', { except: ['s0', 's1'] }), 28);
  const batches = seen.filter((x) => x.target === 'BatchWriteItem').map((x) => x.body.RequestItems.sessions.length);
  assert.deepEqual(batches, [25, 3]);
  assert.deepEqual(keysOf(await store.sessionsOf('ana')), ['s0', 's1']);
});

test('a session the index did not show yet is destroyed by the second pass; a stale one is not counted twice', async (t) => {
  const app = await setup(t);
  const { server, store } = app;
  const keys = [];
  for (let i = 0; i < 3; i++) keys.push((await loggedIn(app, 'ana'))[1]);
  const seen = record(server); // first: it sees every request, then lets the next fault take it
  // pass 1: the index does not show the sessions yet (eventual consistency)
  server.injectFault({ kind: 'respond', target: 'Query', status: 200, headers: JSON_HEADERS, body: JSON.stringify({ Items: [], Count: 0, ScannedCount: 0 }) });
  const t0 = Date.now();
  assert.equal(await store.destroySessionsOf('ana'), 3);
  assert.ok(Date.now() - t0 >= SETTLE_MS, 'waited settleMs before the second pass');
  assert.equal(seen.filter((x) => x.target === 'Query').length, 3, 'pass 1 (empty), pass 2 (found 3), pass 3 (nothing new)');
  assert.deepEqual(await server.scan('sessions'), []);

  // now a first pass that sees them and a second that still lists them (the deletes not propagated)
  const again = [];
  for (let i = 0; i < 2; i++) again.push((await loggedIn(app, 'ana'))[1]);
  const stale = { Items: again.map((k) => ({ sessionId: { S: k }, userId: { S: 'ana' }, expires: { N: String(Math.floor(Date.now() / 1000) + 600) } })), Count: 2, ScannedCount: 2 };
  let queries = 0;
  server.injectFault({ kind: 'respond', target: 'Query', status: 200, headers: JSON_HEADERS, body: JSON.stringify(stale), filter: () => ++queries === 2 });
  seen.length = 0;
  assert.equal(await store.destroySessionsOf('ana'), 2);
  assert.equal(seen.filter((x) => x.target === 'Query').length, 2, 'pass 2 found nothing new: no pass 3');
  assert.equal(seen.filter((x) => x.target === 'BatchWriteItem').length, 1, 'keys already destroyed are not sent again');
});

test('argument checks: userId, except, a store without the users option', async (t) => {
  const { server, store } = await setup(t);
  for (const bad of [undefined, null, '', NaN, Infinity, {}, ['ana'], true]) {
    await assert.rejects(store.sessionsOf(bad), (e) => e instanceof TypeError && /userId/.test(e.message), String(bad));
    await assert.rejects(store.destroySessionsOf(bad), (e) => e instanceof TypeError && /userId/.test(e.message), String(bad));
  }
  for (const bad of [42, [''], [1], {}, '']) {
    await assert.rejects(store.destroySessionsOf('ana', { except: bad }), (e) => e instanceof TypeError && /except/.test(e.message), JSON.stringify(bad));
  }
  const plain = server.store();
  await assert.rejects(plain.sessionsOf('ana'), (e) => e instanceof TypeError && /users/.test(e.message));
  await assert.rejects(plain.destroySessionsOf('ana'), (e) => e instanceof TypeError && /users/.test(e.message));
});

// ---- the index

test('createTableIfDontExists with users: a new table gets the sparse index (provisioned and on demand)', async (t) => {
  const server = await useServer(t);
  const store = server.store({ table: { readCapacityUnits: 3, writeCapacityUnits: 4 }, users: { of: (s) => s.user } });
  await store.createTableIfDontExists();
  const table = await server.describeTable('sessions');
  assert.deepEqual(table.AttributeDefinitions.map((d) => `${d.AttributeName}:${d.AttributeType}`).sort(), ['sessionId:S', 'userId:S']);
  const [index] = table.GlobalSecondaryIndexes;
  assert.equal(index.IndexName, 'userId-index');
  assert.equal(index.IndexStatus, 'ACTIVE');
  assert.deepEqual(index.KeySchema, [{ AttributeName: 'userId', KeyType: 'HASH' }]);
  assert.deepEqual(index.Projection, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['expires', 'createdAt'] });
  assert.equal(index.ProvisionedThroughput.ReadCapacityUnits, 3);
  assert.equal(index.ProvisionedThroughput.WriteCapacityUnits, 4);

  const d = await store.describeTable();
  assert.equal(d.name, 'sessions');
  assert.equal(d.status, 'ACTIVE');
  assert.deepEqual(d.keySchema, [{ attribute: 'sessionId', keyType: 'HASH', attributeType: 'S' }]);
  assert.deepEqual(d.ttl, { status: 'ENABLED', attribute: 'expires' });
  assert.equal(d.billingMode, 'PROVISIONED');
  assert.deepEqual(d.capacity, { read: 3, write: 4 });
  assert.deepEqual(d.indexes.map((i) => [i.name, i.status, i.projection.type, i.projection.attributes.join(',')]), [['userId-index', 'ACTIVE', 'INCLUDE', 'expires,createdAt']]);

  const onDemand = server.store({ table: { name: 'ondemand', billingMode: 'PAY_PER_REQUEST' }, users: { of: (s) => s.user, attribute: 'owner', index: 'by-owner' } });
  await onDemand.createTableIfDontExists();
  const od = await server.describeTable('ondemand');
  assert.equal(od.GlobalSecondaryIndexes[0].IndexName, 'by-owner');
  assert.deepEqual(od.GlobalSecondaryIndexes[0].KeySchema, [{ AttributeName: 'owner', KeyType: 'HASH' }]);
  assert.equal(od.GlobalSecondaryIndexes[0].ProvisionedThroughput.ReadCapacityUnits, 0, 'no capacity of its own on demand');
  await onDemand.set('k', { user: 'zoe' }, 60000);
  assert.deepEqual((await server.getItem('ondemand', 'sessionId', 'k')).owner, { S: 'zoe' });
  assert.deepEqual(keysOf(await onDemand.sessionsOf('zoe')), ['k']);
  assert.equal((await onDemand.describeTable()).capacity, null);
});

test('an existing table without the index: UpdateTable adds it, the store waits until it is ACTIVE, old sessions are backfilled', async (t) => {
  const server = await useServer(t, { indexCreateMs: 400 });
  await server.createTable('sessions');
  const before = server.store();
  await before.createTableIfDontExists();
  await before.set('plain', { user: 'ana' }, 60000); // written without the users option: no userId
  const now = Math.floor(Date.now() / 1000);
  await server.putItem('sessions', { sessionId: { S: 'tagged' }, session: { M: {} }, userId: { S: 'ana' }, expires: { N: String(now + 600) }, createdAt: { N: String(now) } });

  const store = server.store({ users: { of: (s) => s.user } });
  const t0 = Date.now();
  await store.createTableIfDontExists();
  assert.ok(Date.now() - t0 >= 350, `waited for the index to become ACTIVE (${Date.now() - t0} ms)`);
  assert.equal(server.stats.byTarget.UpdateTable, 1);
  const index = (await server.describeTable('sessions')).GlobalSecondaryIndexes[0];
  assert.equal(index.IndexStatus, 'ACTIVE');
  assert.deepEqual(index.Projection, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['expires', 'createdAt'] });
  assert.equal(index.ProvisionedThroughput.ReadCapacityUnits, 5);
  assert.deepEqual(keysOf(await store.sessionsOf('ana')), ['tagged'], 'backfilled; a session gets the attribute on its next save');
  await store.set('plain', { user: 'ana', again: true }, 60000);
  assert.deepEqual(keysOf(await store.sessionsOf('ana')), ['plain', 'tagged']);
  // a second call changes nothing
  await store.createTableIfDontExists();
  assert.equal(server.stats.byTarget.UpdateTable, 1);
});

test('autoCreate with users: the first operations wait for the table and its index', async (t) => {
  const server = await useServer(t, { createTableMs: 200 });
  const store = server.store({ table: { autoCreate: true }, users: { of: (s) => s.user } });
  await store.set('early', { user: 'ana' }, 60000);
  assert.deepEqual(keysOf(await store.sessionsOf('ana')), ['early']);
  assert.equal((await server.describeTable('sessions')).GlobalSecondaryIndexes[0].IndexStatus, 'ACTIVE');
});

test('the index refused (LimitExceededException): a warning naming the index, the store works, sessionsOf says what to do', async (t) => {
  const server = await useServer(t);
  const warnings = warningsDuring(t);
  await server.createTable('refused');
  server.injectFault({
    kind: 'respond', target: 'UpdateTable', count: Infinity, status: 400, headers: JSON_HEADERS,
    body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#LimitExceededException', message: 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table' }),
  });
  const store = server.store({ table: { name: 'refused' }, users: { of: (s) => s.user } });
  await store.createTableIfDontExists();
  await tick();
  const mine = warnings.filter((w) => /userId-index/.test(w));
  assert.equal(mine.length, 1, warnings.join(' | '));
  assert.match(mine[0], /could not add index userId-index to table refused \(LimitExceededException/);
  assert.match(mine[0], /create-table --table refused/);
  await store.set('k', { user: 'ana', n: 1 }, 60000);
  assert.deepEqual(await store.get('k'), { user: 'ana', n: 1 });
  await assert.rejects(store.sessionsOf('ana'), (e) => e instanceof DynamoDBStoreError && /no usable index "userId-index"/.test(e.message) && /createTableIfDontExists/.test(e.message));
  await assert.rejects(store.destroySessionsOf('ana'), (e) => /no usable index "userId-index"/.test(e.message));
});

test('an emulator that accepts the index and ignores it (plain dynalite): a warning, the rest works', async (t) => {
  const server = await useServer(t, { gsiUpdates: 'dynalite' });
  const warnings = warningsDuring(t);
  await server.createTable('ignored');
  const store = server.store({ table: { name: 'ignored' }, users: { of: (s) => s.user } });
  await store.createTableIfDontExists();
  await tick();
  assert.ok(warnings.some((w) => /accepted the creation of index userId-index on table ignored but did not create it/.test(w)), warnings.join(' | '));
  await store.set('k', { user: 'ana' }, 60000);
  assert.deepEqual(await store.get('k'), { user: 'ana' });
  await assert.rejects(store.sessionsOf('ana'), /no usable index/);
});

test('an existing index of that name on another key: a warning, nothing changed', async (t) => {
  const server = await useServer(t);
  const warnings = warningsDuring(t);
  await server.send('CreateTable', {
    TableName: 'otherkey',
    AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }, { AttributeName: 'tenant', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    GlobalSecondaryIndexes: [{ IndexName: 'userId-index', KeySchema: [{ AttributeName: 'tenant', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' }, ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } }],
  });
  await server.waitForTableStatus('otherkey');
  const store = server.store({ table: { name: 'otherkey' }, users: { of: (s) => s.user } });
  await store.createTableIfDontExists();
  await tick();
  assert.ok(warnings.some((w) => /table otherkey has an index userId-index whose key is tenant \(HASH\)/.test(w)), warnings.join(' | '));
  assert.equal(server.stats.byTarget.UpdateTable, undefined);
});

// ---- lib/users.js over the harness's signed call (cases the store cannot steer)

/** ctx for lib/users.js and lib/table.js: the harness's signed requests (faults apply), no sleeping. */
function harnessCtx(server, settings, warnings = []) {
  return {
    settings,
    warn: (m) => warnings.push(m),
    sleep: async () => {},
    call: async (operation, body) => {
      const r = await server.send(operation, body, { internal: false });
      if (r.status >= 200 && r.status < 300) return typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      const type = (r.body && r.body.__type) || 'UnknownError';
      throw new DynamoDBStoreError((r.body && (r.body.message || r.body.Message)) || type, {
        code: type.slice(type.indexOf('#') + 1), operation, httpStatusCode: r.status, retryable: r.status >= 500,
      });
    },
  };
}

async function harness(t, { serverOptions = {}, usersOptions = {} } = {}) {
  const server = await useServer(t, serverOptions);
  const settings = resolveOptions(storeOptions(server, { users: { of: (s) => s.user, ...usersOptions } }));
  const warnings = [];
  const ctx = harnessCtx(server, settings, warnings);
  return { server, settings, ctx, warnings };
}

async function putSessions(server, user, n, prefix = 's') {
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < n; i++) {
    await server.putItem('sessions', { sessionId: { S: `${prefix}${i}` }, session: { M: {} }, userId: { S: user }, expires: { N: String(now + 600) }, createdAt: { N: String(now) } });
  }
}

test('users.js: unprocessed BatchWriteItem items are retried until done', async (t) => {
  const { server, ctx, settings } = await harness(t);
  await ensureTable({ settings, ttlKey: settings.ttlKey, call: ctx.call, warn: ctx.warn });
  await putSessions(server, 'ana', 3);
  // twice: nothing processed (not applied), then everything but s2, then the real answer
  const unprocessed = (keys) => JSON.stringify({ UnprocessedItems: { sessions: keys.map((k) => ({ DeleteRequest: { Key: { sessionId: { S: k } } } })) } });
  server.injectFault({ kind: 'respond', target: 'BatchWriteItem', status: 200, headers: JSON_HEADERS, body: unprocessed(['s0', 's1', 's2']) });
  server.injectFault({ kind: 'respond', target: 'BatchWriteItem', status: 200, headers: JSON_HEADERS, body: unprocessed(['s2']), forward: true });
  const slept = [];
  ctx.sleep = async (ms) => { slept.push(ms); };
  assert.equal(await users.destroySessionsOf(ctx, 'ana'), 3);
  assert.equal(server.stats.byTarget.BatchWriteItem, 3);
  assert.deepEqual(await server.scan('sessions'), []);
  assert.ok(slept.length >= 2 && slept[0] >= 0 && slept[1] > 0, `backed off: ${slept}`);
});

test('users.js: items still unprocessed after the bounded attempts: rejects saying how many were destroyed and how many not', async (t) => {
  const { server, ctx, settings } = await harness(t);
  await ensureTable({ settings, ttlKey: settings.ttlKey, call: ctx.call, warn: ctx.warn });
  await putSessions(server, 'ana', 27);
  // the first chunk (25) goes through; the second (2) is never processed
  const never = server.injectFault({
    kind: 'respond', target: 'BatchWriteItem', count: Infinity, status: 200, headers: JSON_HEADERS, body: '',
    filter: ({ body }) => {
      const asked = body.RequestItems.sessions;
      if (asked.length >= 25) return false;
      never.body = JSON.stringify({ UnprocessedItems: { sessions: asked } });
      return true;
    },
  });
  const err = await users.destroySessionsOf(ctx, 'ana').catch((e) => e);
  assert.ok(err instanceof DynamoDBStoreError, String(err));
  assert.equal(err.destroyed, 25);
  assert.equal(err.notDestroyed, 2);
  assert.match(err.message, /25 sessions destroyed, 2 not/);
  assert.equal(err.retryable, true);
  assert.equal((await server.scan('sessions')).length, 2, 'the two left are still there');
  assert.equal(server.stats.byTarget.BatchWriteItem, 1 + users.BATCH_ATTEMPTS);
});

test('users.js: a BatchWriteItem that fails: the error says what was destroyed, never success', async (t) => {
  const { server, ctx, settings } = await harness(t);
  await ensureTable({ settings, ttlKey: settings.ttlKey, call: ctx.call, warn: ctx.warn });
  await putSessions(server, 'ana', 2);
  server.injectFault({ kind: 'status', status: 500, target: 'BatchWriteItem', count: Infinity });
  const err = await users.destroySessionsOf(ctx, 'ana').catch((e) => e);
  assert.ok(err instanceof DynamoDBStoreError);
  assert.equal(err.destroyed, 0);
  assert.equal(err.notDestroyed, 2);
  assert.equal(err.operation, 'BatchWriteItem');
  assert.match(err.message, /0 sessions destroyed, 2 not/);
});

test('users.js: an index still being built: createTableIfDontExists warns when its wait is up, sessionsOf says so', async (t) => {
  const { server, ctx, settings, warnings } = await harness(t, { serverOptions: { indexCreateMs: 60000 } });
  await server.createTable('sessions');
  await ensureTable({ settings, ttlKey: settings.ttlKey, call: ctx.call, warn: ctx.warn, indexWaitMs: 300 });
  assert.ok(warnings.some((w) => /index userId-index on table sessions is still CREATING \(backfilling\)/.test(w)), warnings.join(' | '));
  await assert.rejects(users.sessionsOf(ctx, 'ana'), (e) => /still being built/.test(e.message) && e.retryable === true);
  const d = await users.describeTable(ctx);
  assert.deepEqual(d.indexes.map((i) => [i.status, i.backfilling]), [['CREATING', true]]);
});

test('users.js: describeTable of a missing table names it; a server without DescribeTimeToLive: ttl UNKNOWN', async (t) => {
  const { server, ctx } = await harness(t);
  await assert.rejects(users.describeTable(ctx), (e) => e.code === 'ResourceNotFoundException' && e.message === 'table "sessions" does not exist');
  await assert.rejects(users.sessionsOf(ctx, 'ana'), (e) => e.code === 'ResourceNotFoundException' && /table "sessions"/.test(e.message));
  await server.createTable('sessions');
  server.injectFault({
    kind: 'respond', target: 'DescribeTimeToLive', status: 400, headers: JSON_HEADERS,
    body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#UnknownOperationException' }),
  });
  const d = await users.describeTable(ctx);
  assert.deepEqual(d.ttl, { status: 'UNKNOWN', attribute: null });
  assert.deepEqual(d.indexes, []);
});

test('users.js: inspectItem reads the metadata, the approximate size, null for a missing key', async (t) => {
  const { server, ctx } = await harness(t);
  await server.createTable('sessions');
  await server.putItem('sessions', {
    sessionId: { S: 'k' }, session: { M: { user: { S: 'ana' }, n: { N: '12345' }, list: { L: [{ BOOL: true }, { NULL: true }] } } },
    userId: { S: 'ana' }, expires: { N: '2000000000' }, createdAt: { N: '1900000000' }, version: { N: '7' },
  });
  const m = await users.inspectItem(ctx, 'k');
  assert.deepEqual(m, {
    key: 'k', expires: new Date(2000000000 * 1000), createdAt: new Date(1900000000 * 1000), user: 'ana', version: 7, size: m.size,
  });
  // DynamoDB's rules: names 9+7+6+7+9+7 = 45; 'k' 1; the map 3 + (1+4+3) + (1+1+4) + (1+4+(3+2+2)) = 29;
  // 'ana' 3; numbers: 1 byte per 2 significant digits + 1 (2000000000: 2, 1900000000: 2, 7: 2)
  assert.equal(m.size, 45 + 1 + 29 + 3 + 2 + 2 + 2);
  assert.equal(await users.inspectItem(ctx, 'missing'), null);
});
