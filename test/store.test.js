'use strict';
// The store on its own: the koa-session interface, the item format, expiry, errors, bad input,
// close() and the item format shared with the JavaScript package (koa-session-dynamodb-store 1.x).
const test = require('node:test');
const assert = require('node:assert/strict');
const { useServer, DynamoDBStore } = require('./helpers');
const LegacyStore = require('koa-session-dynamodb-store-v1');

async function ready(t, opts) {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store(opts);
  return { server, store };
}

test('set, get and destroy a session; the item has the JavaScript package\'s format', async (t) => {
  const { server, store } = await ready(t);
  const sess = { user: 'ana', count: 3, _expire: Date.now() + 60000, _maxAge: 60000 };
  const before = Math.floor(Date.now() / 1000);
  await store.set('key-1', sess, 70000, { rolling: false, changed: true });
  assert.deepEqual(await store.get('key-1', 70000, { rolling: false }), sess);

  const item = await server.getItem('sessions', 'sessionId', 'key-1');
  // the 1.x attributes, plus the version of conditional writes (see test/parallel.test.js)
  assert.deepEqual(Object.keys(item).sort(), ['expires', 'session', 'sessionId', 'version']);
  assert.equal(item.version.N, '1');
  assert.deepEqual(item.sessionId, { S: 'key-1' });
  assert.deepEqual(item.session, {
    M: { user: { S: 'ana' }, count: { N: '3' }, _expire: { N: String(sess._expire) }, _maxAge: { N: '60000' } },
  });
  const expires = Number(item.expires.N);
  assert.ok(expires >= before + 70 && expires <= Math.ceil(Date.now() / 1000) + 70, `expires ${expires}`); // rounded up

  await store.destroy('key-1', {});
  assert.equal(await store.get('key-1'), undefined);
  assert.equal(await server.getItem('sessions', 'sessionId', 'key-1'), undefined);
  assert.ok(server.stats.verified >= 4);
});

test('reads are strongly consistent by default, and the option turns it off', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const seen = [];
  // Look at what the store sends: the fault filter sees every GetItem body, and never fires.
  server.injectFault({ kind: 'throttle', target: 'GetItem', count: Infinity, filter: ({ body }) => { seen.push(body); return false; } });
  await server.store().get('a');
  await server.store({ consistentRead: false }).get('b');
  assert.equal(seen.length, 2);
  assert.equal(seen[0].ConsistentRead, true);
  assert.equal(seen[1].ConsistentRead, undefined);
  assert.deepEqual(seen[0].Key, { sessionId: { S: 'a' } });
});

test('values come back exactly: nesting, Unicode, numbers, empty values', async (t) => {
  const { store } = await ready(t);
  const sess = {
    nested: { a: { b: { c: [1, [2, [3, { d: 'deep' }]]] } } },
    unicode: 'héllo wörld – 日本語 – עברית – 😀👍🏽 – e\u0301 – \u2028\u2029',
    controls: '\u0000\u0001\b\f\n\r\t\u001f"\\/',
    numbers: [0, -0, 0.1, 0.30000000000000004, 1 / 3, 2 ** 53 - 1, -(2 ** 53 - 1), 1e21, 1.5e-7, 123456789012.5, -42],
    empties: { s: '', o: {}, a: [] },
    bools: [true, false],
    nil: null,
    'key with spaces & ünïcödé 🔑': 'v',
  };
  await store.set('values', sess, 60000);
  const back = await store.get('values');
  assert.deepEqual(back, JSON.parse(JSON.stringify(sess)));
  assert.ok(Object.is(back.numbers[2], 0.1));
  assert.equal(back.numbers[5], 9007199254740991);
});

test('get treats an expired item as absent, although DynamoDB still holds it', async (t) => {
  const { server, store } = await ready(t);
  const now = Math.floor(Date.now() / 1000);
  await server.putItem('sessions', { sessionId: { S: 'old' }, session: { M: { user: { S: 'x' } } }, expires: { N: String(now - 1) } });
  await server.putItem('sessions', { sessionId: { S: 'live' }, session: { M: { user: { S: 'y' } } }, expires: { N: String(now + 100) } });
  await server.putItem('sessions', { sessionId: { S: 'no-ttl' }, session: { M: { user: { S: 'z' } } } });
  assert.equal(await store.get('old'), undefined);
  assert.ok(await server.getItem('sessions', 'sessionId', 'old'), 'the item is still in the table');
  assert.deepEqual(await store.get('live'), { user: 'y' });
  assert.deepEqual(await store.get('no-ttl'), { user: 'z' });

  // and through set: an item whose lifetime has run out is gone for get
  await store.set('short', { a: 1 }, 1);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(await store.get('short'), undefined);
});

test("maxAge 'session' stores the session for sessionMaxAge (a day by default)", async (t) => {
  const { server, store } = await ready(t);
  const shortStore = server.store({ sessionMaxAge: 120000 });
  await store.set('s1', { a: 1 }, 'session');
  await shortStore.set('s2', { a: 2 }, 'session');
  const now = Date.now() / 1000;
  const e1 = Number((await server.getItem('sessions', 'sessionId', 's1')).expires.N);
  const e2 = Number((await server.getItem('sessions', 'sessionId', 's2')).expires.N);
  assert.ok(Math.abs(e1 - (now + 86400)) < 5, `expires ${e1}`);
  assert.ok(Math.abs(e2 - (now + 120)) < 5, `expires ${e2}`);
  assert.deepEqual(await store.get('s1', 'session'), { a: 1 });
});

test('sessions written by the JavaScript package are read, and the other way round', async (t) => {
  // aws-sdk v2 does not sign content-type (real DynamoDB does not require it); the store still must
  const server = await useServer(t, { requiredSignedHeaders: ['host', 'x-amz-date', 'x-amz-target'] });
  await server.createTable('sessions');
  const store = server.store();
  const legacy = new LegacyStore({
    table: { name: 'sessions' },
    dynamoConfig: {
      region: server.region, endpoint: server.endpoint,
      accessKeyId: server.credentials.accessKeyId, secretAccessKey: server.credentials.secretAccessKey,
    },
  });
  const sess = { user: 'ana', n: 0.1, big: 2 ** 53 - 1, list: [1, 'two', { three: true }], empty: '', obj: {}, nil: null, _expire: Date.now() + 60000, _maxAge: 60000 };
  await legacy.set('from-legacy', sess, 60000);
  assert.deepEqual(await store.get('from-legacy'), sess);
  await store.set('from-native', sess, 60000);
  assert.deepEqual(await legacy.get('from-native'), sess);
  // the raw items are identical apart from the key
  const a = await server.getItem('sessions', 'sessionId', 'from-legacy');
  const b = await server.getItem('sessions', 'sessionId', 'from-native');
  assert.deepEqual(a.session, b.session);
  await legacy.destroy('from-native');
  assert.equal(await store.get('from-native'), undefined);
});

test('bad keys throw TypeError/RangeError before any request is sent', async (t) => {
  const { server, store } = await ready(t);
  const before = server.stats.requests;
  for (const [key, type] of [[undefined, TypeError], [42, TypeError], [null, TypeError], [{}, TypeError], ['', RangeError],
    ['x'.repeat(2049), RangeError], ['é'.repeat(1025), RangeError], ['\ud800', RangeError]]) {
    for (const op of [() => store.get(key), () => store.set(key, { a: 1 }, 1000), () => store.destroy(key)]) {
      await assert.rejects(op(), (err) => err instanceof type && /key/.test(err.message), `key ${String(key).slice(0, 10)}`);
    }
  }
  assert.equal(server.stats.requests, before, 'no request was sent');
  await store.set('x'.repeat(2048), { ok: 1 }, 1000); // exactly the limit is fine
  assert.deepEqual(await store.get('x'.repeat(2048)), { ok: 1 });
});

test('sessions that cannot be stored reject clearly and lose nothing', async (t) => {
  const { server, store } = await ready(t);
  await store.set('k', { keep: 'me' }, 60000);
  const before = server.stats.requests;
  const circular = { a: 1 };
  circular.self = circular;
  await assert.rejects(store.set('k', circular, 60000), (e) => e instanceof TypeError && /JSON/.test(e.message));
  await assert.rejects(store.set('k', { n: 10n }, 60000), (e) => e instanceof TypeError && /JSON/.test(e.message));
  await assert.rejects(store.set('k', undefined, 60000), TypeError);
  await assert.rejects(store.set('k', { a: 1 }, 'soon'), (e) => e instanceof TypeError && /maxAge/.test(e.message));
  // too large: checked before sending, with the size in the message
  await assert.rejects(store.set('k', { blob: 'x'.repeat(500 * 1024) }, 60000), (e) => {
    assert.equal(e.code, 'SessionTooLarge');
    assert.match(e.message, /\d{6} bytes/);
    assert.match(e.message, /409600/);
    return true;
  });
  // numbers DynamoDB cannot hold; deeper than 32 levels; a lone surrogate
  await assert.rejects(store.set('k', { n: 1e300 }, 60000), (e) => e.code === 'InvalidSession' && /1e\+300/.test(e.message));
  let deep = {};
  for (let i = 0; i < 40; i++) deep = { d: deep };
  await assert.rejects(store.set('k', deep, 60000), (e) => e.code === 'InvalidSession' && /32/.test(e.message));
  await assert.rejects(store.set('k', { s: 'a\udc00b' }, 60000), (e) => e.code === 'InvalidSession');
  assert.equal(server.stats.requests, before, 'nothing was sent');
  assert.deepEqual(await store.get('k'), { keep: 'me' });
  // just under the limit works
  const big = { blob: 'y'.repeat(390 * 1024) };
  await store.set('big', big, 60000);
  assert.deepEqual(await store.get('big'), big);
});

test('DynamoDB errors carry code, message, requestId and httpStatusCode, never status', async (t) => {
  const server = await useServer(t);
  const store = server.store({ table: { name: 'no_such_table' } });
  const err = await store.get('k').then(() => assert.fail('resolved'), (e) => e);
  assert.ok(err instanceof DynamoDBStore.DynamoDBStoreError);
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'ResourceNotFoundException');
  assert.equal(err.httpStatusCode, 400);
  assert.equal(err.operation, 'GetItem');
  assert.equal(err.retryable, false);
  assert.equal(err.attempts, 1);
  assert.match(err.requestId, /\S{8,}/);
  assert.match(err.message, /not found|non-existent|Requested resource/i);
  assert.equal('status' in err, false);
  assert.equal('statusCode' in err, false);
});

test('a store with credentials the server does not know fails with the service\'s error', async (t) => {
  const server = await useServer(t, {}, { expectRejections: true });
  await server.createTable('sessions');
  const store = server.store({ dynamoConfig: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'nope' } });
  await assert.rejects(store.get('k'), (e) => e.code === 'UnrecognizedClientException' && e.httpStatusCode === 400);
  const wrongSecret = server.store({ dynamoConfig: { secretAccessKey: 'not-the-secret' } });
  await assert.rejects(wrongSecret.get('k'), (e) => e.code === 'InvalidSignatureException');
  assert.equal(server.stats.rejected, 2);
});

test('a server that is down: the operation fails within a few seconds, no hang', async (t) => {
  const net = require('node:net');
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const store = new DynamoDBStore({ dynamoConfig: { region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 'b' } });
  t.after(() => store.close());
  const t0 = Date.now();
  const err = await store.get('k').then(() => assert.fail('resolved'), (e) => e);
  assert.equal(err.code, 'NetworkingError');
  assert.equal(err.retryable, true);
  assert.ok(err.attempts >= 2, `attempts ${err.attempts}`);
  // libcurl's detail names the host and port (not just "Couldn't connect to server")
  assert.match(err.message, new RegExp(`^GetItem failed \\(Failed to connect to 127\\.0\\.0\\.1 port ${port}\\b`));
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.equal('status' in err, false);
});

test('close() waits for requests in flight, is idempotent, and later calls reject', async (t) => {
  const { store } = await ready(t);
  await store.set('c', { v: 1 }, 60000);
  const inflight = Array.from({ length: 50 }, () => store.get('c'));
  const closing = store.close();
  const results = await Promise.all(inflight);
  assert.ok(results.every((r) => r && r.v === 1));
  await closing;
  await store.close();
  await assert.rejects(store.get('c'), (e) => e.code === 'StoreClosed' && /closed/.test(e.message));
  await assert.rejects(store.set('c', {}, 1), (e) => e.code === 'StoreClosed');
  await assert.rejects(store.destroy('c'), (e) => e.code === 'StoreClosed');
});

test('hundreds of requests in flight at once on one store', async (t) => {
  // dynalite behind the verifying proxy is slow (more so under sanitizers): time is not the point here
  const { store } = await ready(t, { dynamoConfig: { requestTimeout: 30000, operationTimeout: 60000 } });
  const n = 400;
  await Promise.all(Array.from({ length: n }, (_, i) => store.set(`many-${i}`, { i, pad: 'p'.repeat(i % 50) }, 60000)));
  const got = await Promise.all(Array.from({ length: n }, (_, i) => store.get(`many-${i}`)));
  got.forEach((g, i) => assert.equal(g.i, i));
  await Promise.all(Array.from({ length: n }, (_, i) => store.destroy(`many-${i}`)));
  const after = await Promise.all(Array.from({ length: n }, (_, i) => store.get(`many-${i}`)));
  assert.ok(after.every((g) => g === undefined));
});

test('util.inspect and JSON never show the secret', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store({ dynamoConfig: { sessionToken: undefined } });
  await store.get('warm');
  const util = require('node:util');
  const shown = util.inspect(store, { depth: 10, showHidden: true }) + JSON.stringify(store) + String(store);
  assert.equal(shown.includes(server.credentials.secretAccessKey), false);
  assert.match(shown, /redacted/);
  assert.ok(shown.includes(server.credentials.accessKeyId));
});

test('libcurl runs on the same OpenSSL major.minor as Node', () => {
  const v = DynamoDBStore.versions();
  const m = /OpenSSL\/(\d+)\.(\d+)/.exec(v.curlSsl);
  assert.ok(m, `libcurl's TLS backend is ${v.curlSsl}, not OpenSSL`);
  const [maj, min] = process.versions.openssl.split('.');
  assert.equal(`${m[1]}.${m[2]}`, `${maj}.${min}`, `libcurl ${v.curlSsl} vs node ${process.versions.openssl}`);
  assert.equal(v.curlThreadsafe, true);
});

test('close(): calls made before it run to the end, even those still waiting for credentials; later calls reject', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  // a provider that answers late: the calls below wait for it, and close() comes meanwhile
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const store = server.store({
    dynamoConfig: {
      accessKeyId: undefined,
      secretAccessKey: undefined,
      credentials: async () => { await gate; return { ...server.credentials }; },
    },
  });
  const set = store.set('before-close', { user: 'ana' }, 60000);
  const get = store.get('before-close');
  const closed = store.close();
  release();
  await set;
  await get; // ran after the set or before it: either way it resolved, not StoreClosed
  await closed;
  const item = await server.getItem('sessions', 'sessionId', 'before-close');
  assert.equal(item.session.M.user.S, 'ana', 'the set made before close() was written');
  await assert.rejects(store.get('before-close'), { code: 'StoreClosed' });
  assert.equal(DynamoDBStore.LOCAL_ERROR_CODES.includes('StoreClosed'), true);
});
