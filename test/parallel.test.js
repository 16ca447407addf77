'use strict';
// Parallel requests of one session, over HTTP with real koa and koa-session, against the
// signature-checking test server: no lost updates (merge), no resurrected sessions (every mode),
// conflicts refused (strict), the 1.x behaviour (overwrite), fewer writes (touchAfter), and interop
// with the 1.x package both ways.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const Koa = require('koa');
const { createSession: session } = require('koa-session');
const { useServer, storeOptions, requestGates } = require('./helpers');
const { createClient } = require('./support/cookie-client');
const LegacyStore = require('koa-session-dynamodb-store-v1');

/**
 * A koa app whose requests can be held after koa-session read the session:
 *   GET /set?f=<field>&v=<json>[&hold=<name>]   sets session[f] = v (after the hold, if any)
 *   GET /unset?f=<field>                           deletes session[f]
 *   GET /show                                      the session as JSON
 *   GET /touch                                     reads the session, changes nothing
 *   GET /logout                                    ctx.session = null
 * hold(name) returns { arrived, release }: arrived resolves when a request with hold=name has
 * read its session; release() lets it go on.
 */
async function startApp(t, store, sessionOptions = {}) {
  const app = new Koa();
  app.keys = ['parallel test key'];
  app.silent = true;
  const errors = [];
  app.on('error', (err) => errors.push(err));
  const { hold, wait } = requestGates();
  app.use(session({ store, key: 'sid', ...sessionOptions }, app));
  app.use(async (ctx) => {
    const s = ctx.session;
    const q = ctx.query;
    await wait(ctx);
    switch (ctx.path) {
      case '/set': s[q.f] = JSON.parse(q.v); break;
      case '/post': {
        const chunks = [];
        for await (const c of ctx.req) chunks.push(c);
        const { f, v } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        s[f] = v;
        break;
      }
      case '/unset': delete s[q.f]; break;
      case '/touch': break;
      case '/logout': ctx.session = null; break;
      case '/show': break;
      default: ctx.status = 404; return;
    }
    ctx.body = ctx.session ? ctx.session.toJSON() : null;
  });
  const server = http.createServer(app.callback());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const client = createClient(`http://127.0.0.1:${server.address().port}`, { privateAgent: true });
  t.after(() => client.close());
  return { client, hold, errors };
}

/** Records the DynamoDB requests the store sends: [{ target, bytes }]. */
function recordWrites(server) {
  const seen = [];
  server.injectFault({
    kind: 'throttle', count: Infinity,
    filter: ({ target, body }) => {
      // a whole session is an UpdateItem that sets the session map ("SET #s = :s"): named 'whole' here
      const whole = target === 'UpdateItem' && /^SET #s = :s\b/.test(body.UpdateExpression || '');
      seen.push({ target: whole ? 'whole' : target, bytes: Buffer.byteLength(JSON.stringify(body)) });
      return false;
    },
  });
  return seen;
}

const writes = (seen) => seen.filter((r) => r.target === 'whole' || r.target === 'UpdateItem');

async function setup(t, storeOpts = {}, sessionOptions = {}) {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store(storeOpts);
  const app = await startApp(t, store, sessionOptions);
  return { server, store, ...app };
}

function sidOf(client) {
  return client.cookies().sid;
}

test('merge (default): two parallel requests that change different fields both keep their change', async (t) => {
  const { client, hold, server } = await setup(t);
  assert.equal((await client.get('/set?f=user&v=%22ana%22')).status, 200);
  const slow = hold('slow');
  const pending = client.get('/set?f=a&v=1&hold=slow');
  await slow.arrived; // the slow request read the session
  assert.equal((await client.get('/set?f=b&v=2')).status, 200);
  slow.release();
  assert.equal((await pending).status, 200);
  const shown = (await client.get('/show')).json();
  assert.equal(shown.user, 'ana');
  assert.equal(shown.a, 1, 'the slow request kept its change');
  assert.equal(shown.b, 2, 'the fast request kept its change');
  const item = await server.getItem('sessions', 'sessionId', sidOf(client));
  assert.ok(Number(item.version.N) >= 3, `versioned item: ${JSON.stringify(item.version)}`);
});

test('merge: for the same field the later save wins; removed fields are removed', async (t) => {
  const { client, hold } = await setup(t);
  await client.get('/set?f=a&v=%22first%22');
  await client.get('/set?f=gone&v=true');
  const slow = hold('slow');
  const pending = client.get('/set?f=a&v=%22slow%22&hold=slow');
  await slow.arrived;
  await client.get('/set?f=a&v=%22fast%22');
  await client.get('/unset?f=gone');
  slow.release();
  await pending;
  const shown = (await client.get('/show')).json();
  assert.equal(shown.a, 'slow');
  assert.equal('gone' in shown, false);
});

for (const concurrency of ['merge', 'strict', 'overwrite']) {
  test(`${concurrency}: a logout during a slow request stays logged out (no item afterwards)`, async (t) => {
    const { client, hold, server } = await setup(t, { concurrency });
    await client.get('/set?f=user&v=%22ana%22');
    const sid = sidOf(client);
    const slow = hold('slow');
    const pending = client.get('/set?f=a&v=1&hold=slow');
    await slow.arrived;
    // another tab logs out (the same session cookie)
    await client.get('/logout');
    assert.equal(await server.getItem('sessions', 'sessionId', sid), undefined, 'destroyed');
    slow.release();
    assert.equal((await pending).status, 200, 'the slow request still succeeds');
    assert.equal(await server.getItem('sessions', 'sessionId', sid), undefined, 'the session did not come back');
  });
}

test('strict: a save of a session written since it was read is refused (SessionConflict, 500); the newer session stays', async (t) => {
  const { client, hold, errors, server } = await setup(t, { concurrency: 'strict' });
  await client.get('/set?f=user&v=%22ana%22');
  const slow = hold('slow');
  const pending = client.get('/set?f=a&v=1&hold=slow');
  await slow.arrived;
  await client.get('/set?f=b&v=2');
  slow.release();
  const r = await pending;
  assert.equal(r.status, 500, 'koa answers 500, not a DynamoDB status');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, 'SessionConflict');
  assert.equal(errors[0].name, 'DynamoDBStoreError');
  const item = await server.getItem('sessions', 'sessionId', sidOf(client));
  assert.equal(item.session.M.b.N, '2');
  assert.equal(item.session.M.a, undefined);
  // without a parallel writer, strict saves go through
  assert.equal((await client.get('/set?f=c&v=3')).status, 200);
});

test('overwrite: the 1.x behaviour, the whole session (later save wins whole)', async (t) => {
  const { client, hold, server } = await setup(t, { concurrency: 'overwrite' });
  const seen = recordWrites(server);
  await client.get('/set?f=user&v=%22ana%22');
  const slow = hold('slow');
  const pending = client.get('/set?f=a&v=1&hold=slow');
  await slow.arrived;
  await client.get('/set?f=b&v=2');
  slow.release();
  await pending;
  assert.deepEqual([...new Set(writes(seen).map((w) => w.target))], ['whole']);
  const shown = (await client.get('/show')).json();
  assert.equal(shown.a, 1);
  assert.equal('b' in shown, false, 'the slow whole-session save overwrote the fast one');
});

test('touchAfter: unchanged rolling requests inside the window write nothing; a change is written at once', async (t) => {
  const { client, server } = await setup(t, { touchAfter: 300 }, { rolling: true });
  const seen = recordWrites(server);
  await client.get('/set?f=user&v=%22ana%22');
  const afterLogin = writes(seen).length;
  assert.equal(afterLogin, 1);
  for (let i = 0; i < 5; i++) assert.equal((await client.get('/touch')).status, 200);
  assert.equal(writes(seen).length, afterLogin, 'no write for unchanged rolling requests');
  await client.get('/set?f=theme&v=%22dark%22');
  assert.equal(writes(seen).length, afterLogin + 1);
  assert.equal(writes(seen).at(-1).target, 'UpdateItem');
  assert.equal((await client.get('/show')).json().theme, 'dark');
});

test('without touchAfter: an unchanged rolling request of a 50 KB session writes only the expiry, under 4 KB on the wire', async (t) => {
  const { client, server } = await setup(t, {}, { rolling: true });
  const seen = recordWrites(server);
  assert.equal((await client.post('/post', { f: 'blob', v: 'x'.repeat(50 * 1024) })).status, 200);
  const login = writes(seen).at(-1);
  assert.ok(login.bytes > 50 * 1024, `the first write carries the whole session (${login.bytes} bytes)`);
  const before = await server.getItem('sessions', 'sessionId', sidOf(client));
  await new Promise((r) => setTimeout(r, 1100)); // so that the new expiry differs from the old one
  assert.equal((await client.get('/touch')).status, 200);
  const touch = writes(seen).at(-1);
  assert.equal(touch.target, 'UpdateItem');
  assert.ok(touch.bytes < 4096, `the touch is ${touch.bytes} bytes`);
  const after = await server.getItem('sessions', 'sessionId', sidOf(client));
  assert.ok(Number(after.expires.N) > Number(before.expires.N), 'the expiry moved');
  assert.equal(after.version.N, before.version.N, 'a touch does not change the version');
  assert.equal(after.session.M.blob.S.length, 50 * 1024, 'the session is intact');
});

test('interop with the 1.x package both ways: items without a version, shared during a migration', async (t) => {
  const server = await useServer(t, { requiredSignedHeaders: ['host', 'x-amz-date', 'x-amz-target'] });
  await server.createTable('sessions');
  const opts = storeOptions(server);
  const legacy = new LegacyStore({ ...opts, dynamoConfig: { ...opts.dynamoConfig } });
  const store = server.store({ concurrency: 'strict' });
  const ctx = {};
  await legacy.set('mixed', { user: 'ana', n: 1 }, 60000);
  assert.deepEqual(await store.get('mixed', 60000, { ctx }), { user: 'ana', n: 1 });
  await store.set('mixed', { user: 'ana', n: 2 }, 60000, { ctx, changed: true });
  assert.equal((await legacy.get('mixed')).n, 2, '1.x reads what this store merged');
  const item = await server.getItem('sessions', 'sessionId', 'mixed');
  assert.equal(item.version.N, '1');
  // 1.x writes in between: this store's strict save of its older read is a conflict, not a loss
  const ctx2 = {};
  await store.get('mixed', 60000, { ctx: ctx2 });
  await legacy.set('mixed', { user: 'ana', n: 3 }, 60000);
  await assert.rejects(store.set('mixed', { user: 'ana', n: 4 }, 60000, { ctx: ctx2, changed: true }), { code: 'SessionConflict' });
  assert.equal((await legacy.get('mixed')).n, 3);
});

test('a session this request did not read (new, regenerated, no ctx) is written whole', async (t) => {
  const { server, store } = await setup(t);
  const seen = recordWrites(server);
  await store.set('fresh', { a: 1 }, 60000, { ctx: {}, changed: true });
  await store.set('no-ctx', { a: 1 }, 60000);
  const ctx = {};
  await store.get('fresh', 60000, { ctx });
  await store.set('regenerated', { a: 1 }, 60000, { ctx, changed: true }); // another key than the one read
  assert.deepEqual(writes(seen).map((w) => w.target), ['whole', 'whole', 'whole']);
  for (const k of ['fresh', 'no-ctx', 'regenerated']) assert.equal((await server.getItem('sessions', 'sessionId', k)).version.N, '1');
});

test('field names of any kind: Unicode, reserved words, dots, spaces', async (t) => {
  const { store } = await setup(t);
  const ctx = {};
  await store.set('names', { base: 1 }, 60000, { ctx });
  await store.get('names', 60000, { ctx });
  const sess = { base: 1, 'a.b': 1, 'size': 2, 'with space': 3, 'ünï©ødé 🎉': 4, '#x': 5, ':y': 6 };
  await store.set('names', sess, 60000, { ctx, changed: true });
  assert.deepEqual(await store.get('names'), sess);
});

test('a row without a session map (written by hand, read as a whole item): its save falls back to a whole, conditional write', async (t) => {
  const { server, store } = await setup(t);
  await server.putItem('sessions', { sessionId: { S: 'by-hand' }, user: { S: 'x' } });
  const ctx = {};
  const read = await store.get('by-hand', 60000, { ctx });
  assert.equal(read.user, 'x');
  await store.set('by-hand', { ...read, user: 'y' }, 60000, { ctx, changed: true });
  const item = await server.getItem('sessions', 'sessionId', 'by-hand');
  assert.equal(item.session.M.user.S, 'y');
});
