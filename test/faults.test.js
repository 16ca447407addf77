'use strict';
// Resilience: each fault the test server can inject, one test per fault. The store recovers when a
// retry can fix it, or fails clearly within its time bound; no session is lost or crossed.
const test = require('node:test');
const assert = require('node:assert/strict');
const { useServer, startApp } = require('./helpers');
const { createClient } = require('./support/cookie-client');
const { crc32 } = require('./support/server');

async function setup(t, opts = {}) {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store(opts);
  await store.set('k', { kept: true }, 60000);
  return { server, store };
}

function noStatus(err) {
  assert.equal('status' in err, false);
  assert.equal('statusCode' in err, false);
  return err;
}

async function failure(promise) {
  return noStatus(await promise.then((v) => assert.fail(`resolved with ${JSON.stringify(v)}`), (e) => e));
}

test('throttling: retried with backoff and recovered', async (t) => {
  const { server, store } = await setup(t);
  const f = server.injectFault({ kind: 'throttle', target: 'GetItem', count: 2 });
  assert.deepEqual(await store.get('k'), { kept: true });
  assert.equal(f.fired, 2);
  const g = server.injectFault({ kind: 'throttling', target: 'UpdateItem', count: 1 });
  await store.set('k2', { v: 2 }, 60000);
  assert.equal(g.fired, 1);
  assert.deepEqual(await store.get('k2'), { v: 2 });
});

test('throttling beyond maxAttempts: a clear, retryable error with the attempts made', async (t) => {
  const { server, store } = await setup(t, { dynamoConfig: { maxAttempts: 2 } });
  server.injectFault({ kind: 'throttle', target: 'GetItem', count: 5 });
  const err = await failure(store.get('k'));
  assert.equal(err.code, 'ProvisionedThroughputExceededException');
  assert.equal(err.httpStatusCode, 400);
  assert.equal(err.attempts, 2);
  assert.equal(err.retryable, true);
  assert.ok(err.requestId);
});

test('maxRetries: 0 (aws-sdk v2 name) means a single attempt', async (t) => {
  const { server, store } = await setup(t, { dynamoConfig: { maxRetries: 0 } });
  server.injectFault({ kind: 'status', status: 503, target: 'GetItem' });
  const err = await failure(store.get('k'));
  assert.equal(err.attempts, 1);
  assert.equal(err.httpStatusCode, 503);
});

for (const status of [500, 502, 503, 504]) {
  test(`HTTP ${status} once: retried and recovered`, async (t) => {
    const { server, store } = await setup(t);
    const f = server.injectFault({ kind: 'status', status, target: 'GetItem' });
    assert.deepEqual(await store.get('k'), { kept: true });
    assert.equal(f.fired, 1);
  });
}

test('connection reset before the request reached the server: retried, written once', async (t) => {
  const { server, store } = await setup(t);
  const f = server.injectFault({ kind: 'reset-before', target: 'UpdateItem' });
  await store.set('r1', { v: 'before' }, 60000);
  assert.equal(f.fired, 1);
  assert.deepEqual(await store.get('r1'), { v: 'before' });
});

test('connection reset after the write reached the server: retried safely (a whole-session write is idempotent)', async (t) => {
  const { server, store } = await setup(t);
  const f = server.injectFault({ kind: 'reset-after', target: 'UpdateItem' });
  await store.set('r2', { v: 'after' }, 60000);
  assert.equal(f.fired, 1);
  assert.deepEqual(await store.get('r2'), { v: 'after' });
  const g = server.injectFault({ kind: 'reset-after', target: 'DeleteItem' });
  await store.destroy('r2');
  assert.equal(g.fired, 1);
  assert.equal(await store.get('r2'), undefined);
});

test('an answer slower than requestTimeout: the attempt times out and the retry succeeds', async (t) => {
  const { server, store } = await setup(t, { dynamoConfig: { requestTimeout: 300 } });
  const f = server.injectFault({ kind: 'delay', ms: 2000, target: 'GetItem' });
  const t0 = Date.now();
  assert.deepEqual(await store.get('k'), { kept: true });
  assert.equal(f.fired, 1);
  const ms = Date.now() - t0;
  assert.ok(ms >= 290 && ms < 1500, `took ${ms} ms`);
});

test('a silent server: the operation fails within its bound, never hangs', async (t) => {
  const { server, store } = await setup(t, { dynamoConfig: { requestTimeout: 250, operationTimeout: 1000 } });
  server.injectFault({ kind: 'delay', ms: Infinity, target: 'GetItem', count: Infinity });
  const t0 = Date.now();
  const err = await failure(store.get('k'));
  const ms = Date.now() - t0;
  assert.equal(err.code, 'TimeoutError');
  assert.equal(err.retryable, true);
  assert.ok(err.attempts >= 2, `attempts ${err.attempts}`);
  assert.ok(ms >= 240 && ms < 1600, `took ${ms} ms`);
  server.clearFaults();
});

test('malformed JSON with HTTP 200: a clear error, nothing crashes', async (t) => {
  const { server, store } = await setup(t);
  server.injectFault({ kind: 'malformed', target: 'GetItem' });
  const err = await failure(store.get('k'));
  assert.equal(err.code, 'InvalidResponse');
  assert.match(err.message, /GetItem/);
  assert.deepEqual(await store.get('k'), { kept: true }, 'the next request is fine');
  server.injectFault({ kind: 'malformed', target: 'UpdateItem' });
  assert.equal((await failure(store.set('k3', { a: 1 }, 1000))).code, 'InvalidResponse');
});

test('a truncated body: retried as a network error and recovered', async (t) => {
  const { server, store } = await setup(t);
  await store.set('big', { blob: 'z'.repeat(20000) }, 60000);
  const f = server.injectFault({ kind: 'truncated', target: 'GetItem' });
  assert.deepEqual(await store.get('big'), { blob: 'z'.repeat(20000) });
  assert.equal(f.fired, 1);
});

test('a bad x-amz-crc32: retried; a persistent mismatch fails as CRC32CheckFailed', async (t) => {
  const { server, store } = await setup(t);
  const f = server.injectFault({ kind: 'bad-crc', target: 'GetItem' });
  assert.deepEqual(await store.get('k'), { kept: true });
  assert.equal(f.fired, 1);
  server.injectFault({ kind: 'bad-crc', target: 'GetItem', count: 10 });
  const err = await failure(store.get('k'));
  assert.equal(err.code, 'CRC32CheckFailed');
  assert.equal(err.attempts, 3);
  server.clearFaults();
});

test('an HTML answer (wrong content type): a clear error', async (t) => {
  const { server, store } = await setup(t);
  server.injectFault({ kind: 'content-type', target: 'GetItem' });
  const err = await failure(store.get('k'));
  assert.equal(err.code, 'InvalidResponse');
  server.injectFault({ kind: 'content-type', target: 'GetItem', status: 502 });
  assert.deepEqual(await store.get('k'), { kept: true }, 'a 502 HTML page is retried');
});

test('an oversized answer: refused with a clear error, memory bounded', async (t) => {
  const { server, store } = await setup(t);
  server.injectFault({ kind: 'oversized', target: 'GetItem', bytes: 20 * 1024 * 1024 });
  const err = await failure(store.get('k'));
  assert.equal(err.code, 'ResponseTooLarge');
  assert.match(err.message, /larger than \d+ bytes/);
});

test('an error body under HTTP 200 is an error, not a missing session', async (t) => {
  const { server, store } = await setup(t);
  server.injectFault({ kind: 'garbage-status', target: 'GetItem', status: 200 });
  const err = await failure(store.get('k'));
  assert.equal(err.code, 'ValidationException');
  server.injectFault({ kind: 'garbage-status', target: 'GetItem', status: 400 });
  assert.equal((await failure(store.get('k'))).code, 'ValidationException');
});

test('errors that retrying cannot fix fail at once', async (t) => {
  const { server, store } = await setup(t);
  const missing = server.store({ table: { name: 'nope_table' } });
  const err = await failure(missing.get('k'));
  assert.equal(err.code, 'ResourceNotFoundException');
  assert.equal(err.attempts, 1);
  assert.equal(err.retryable, false);
  const wrong = server.store({ dynamoConfig: { secretAccessKey: 'wrong' } });
  const e2 = await failure(wrong.get('k'));
  assert.equal(e2.code, 'InvalidSignatureException');
  assert.equal(e2.attempts, 1);
  server.stats.rejected = 0; // that rejection was the point
  assert.ok(store);
});

test('a throttling storm: the retry budget limits the retries sent', async (t) => {
  const { server, store } = await setup(t, { dynamoConfig: { maxAttempts: 5 } });
  server.injectFault({ kind: 'throttle', target: 'GetItem', count: Infinity });
  const before = server.stats.byTarget.GetItem || 0;
  const n = 300;
  const errs = await Promise.all(Array.from({ length: n }, () => store.get('k').then(() => null, (e) => e)));
  assert.ok(errs.every((e) => e && e.code === 'ProvisionedThroughputExceededException'));
  const sent = server.stats.byTarget.GetItem - before;
  // without a budget this would be n * 5 = 1500 requests
  assert.ok(sent >= n && sent <= n + 110, `sent ${sent}`);
  server.clearFaults();
});

test('under a mix of faults, 50 koa clients keep their own sessions and counts', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store({ dynamoConfig: { maxAttempts: 10, requestTimeout: 500 } });
  const app = await startApp(t, store);
  const clients = Array.from({ length: 50 }, () => createClient(app.url));
  await Promise.all(clients.map((c, i) => c.get(`/login?user=u${i}`)));
  server.injectFault({ kind: 'throttle', count: 10 });
  server.injectFault({ kind: 'status', status: 500, count: 5 });
  server.injectFault({ kind: 'reset-before', count: 5 });
  server.injectFault({ kind: 'reset-after', count: 5 });
  server.injectFault({ kind: 'bad-crc', count: 5 });
  server.injectFault({ kind: 'truncated', target: 'GetItem', count: 5 });
  server.injectFault({ kind: 'delay', ms: 800, count: 3 });
  for (let round = 1; round <= 3; round++) {
    const res = await Promise.all(clients.map((c) => c.get('/count')));
    res.forEach((r, i) => {
      assert.equal(r.status, 200, app.errors.map((e) => `${e.code}: ${e.message} (${e.attempts} attempts)`).join('\n'));
      assert.deepEqual(r.json(), { user: `u${i}`, count: round });
    });
  }
  assert.ok(server.stats.faults >= 30, `faults fired: ${server.stats.faults}`);
});

test("a client clock 30 minutes off: the server's Date header corrects it, once, and everything works", async (t) => {
  for (const offsetMin of [30, -30]) {
    // the server's clock is offsetMin ahead of this host's; it refuses signatures > 15 min off
    const server = await useServer(t, { now: () => Date.now() + offsetMin * 60000 }, { expectRejections: true });
    await server.createTable('sessions'); // (the harness signs with the server's clock)
    const store = server.store();
    // the first request is refused (Signature expired / not yet current), its answer's Date header
    // gives the offset, the retry is signed with the server's time and succeeds
    await store.set('skewed', { n: 1 }, 60000);
    assert.equal(server.stats.rejected, 1, server.stats.rejections.join('\n'));
    assert.match(server.stats.rejections[0], offsetMin > 0 ? /Signature expired/ : /Signature not yet current/);
    // from then on, every request is signed with the corrected clock: no more refusals
    assert.deepEqual(await store.get('skewed', 60000), { n: 1 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`s${i}`, { i }, 60000)));
    assert.deepEqual(await store.get('s7', 60000), { i: 7 });
    await store.destroy('skewed');
    assert.equal(await store.get('skewed', 60000), undefined);
    assert.equal(server.stats.rejected, 1, 'only the first request was refused');
  }
});

test('a server whose clock agrees within 5 minutes: no correction, no refusal', async (t) => {
  const server = await useServer(t, { now: () => Date.now() + 4 * 60000 });
  await server.createTable('sessions');
  const store = server.store();
  await store.set('k', { ok: 1 }, 60000);
  assert.deepEqual(await store.get('k', 60000), { ok: 1 });
});

test('clock skew with maxAttempts 1: the refusal is reported, and the next request is signed right', async (t) => {
  const server = await useServer(t, { now: () => Date.now() + 40 * 60000 }, { expectRejections: true });
  await server.createTable('sessions');
  const store = server.store({ dynamoConfig: { maxAttempts: 1 } });
  const err = await failure(store.get('k', 60000));
  assert.equal(err.code, 'InvalidSignatureException');
  assert.match(err.message, /Signature expired/);
  assert.equal(err.attempts, 1);
  await store.set('k', { later: true }, 60000);
  assert.deepEqual(await store.get('k', 60000), { later: true });
  assert.equal(server.stats.rejected, 1);
});

test('a server that closes idle connections: requests after a pause move to new connections, none fails', async (t) => {
  const server = await useServer(t, { keepAliveTimeoutMs: 100 });
  await server.createTable('sessions');
  const store = server.store({ dynamoConfig: { maxAttempts: 1 } }); // no retry may hide a failure
  await store.set('k', { kept: true }, 60000);
  const before = server.stats.connections;
  for (let round = 0; round < 3; round++) {
    // the connections of the last round are idle longer than the server keeps them (node:http
    // closes an idle connection about a second after keepAliveTimeout)
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const got = await Promise.all(Array.from({ length: 16 }, () => store.get('k')));
    for (const s of got) assert.deepEqual(s, { kept: true });
  }
  // each round needed new connections: the old ones had been closed by the server
  assert.ok(server.stats.connections - before >= 2 * 16, `connections ${server.stats.connections - before}`);
});

test('idle connections that the server closed are closed on our side too (no sockets left in CLOSE_WAIT)', async (t) => {
  const fs = require('node:fs');
  const sockets = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
    try { return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:'); } catch { return false; }
  }).length;
  const server = await useServer(t, { keepAliveTimeoutMs: 100 });
  await server.createTable('sessions');
  const store = server.store();
  await store.set('k', { kept: true }, 60000);
  await Promise.all(Array.from({ length: 16 }, () => store.get('k')));
  const before = sockets();
  // node:http closes its ends after ~1.1 s; the store looks at its idle connections once a second
  await new Promise((resolve) => setTimeout(resolve, 3500));
  const after = sockets();
  // the server's 16+ ends are gone either way; ours (the TCP socket, plus libcurl's wake-up pair
  // per connection) only if the store closed them
  assert.ok(before - after >= 16 * 2, `sockets ${before} -> ${after}`);
  assert.deepEqual(await store.get('k'), { kept: true });
});

test('a reused connection that dies before any answer: the request moves to a new one, even with maxAttempts 1', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store({ dynamoConfig: { maxAttempts: 1 } });
  await store.set('k', { kept: true }, 60000); // the connection now exists and is idle
  const f = server.injectFault({ kind: 'reset-before', target: 'GetItem' });
  const before = server.stats.connections;
  assert.deepEqual(await store.get('k'), { kept: true });
  assert.equal(f.fired, 1);
  assert.equal(server.stats.connections - before, 1, 'one new connection');
  // a second failure on the new connection is not moved again: it is the attempt's failure
  server.injectFault({ kind: 'reset-before', target: 'GetItem', count: 2 });
  const err = await store.get('k').then(() => assert.fail('resolved'), (e) => e);
  assert.equal(err.code, 'NetworkingError');
  assert.equal(err.attempts, 1);
});

test('a chunked answer (Transfer-Encoding: chunked, written in pieces) is read whole', async (t) => {
  const { server, store } = await setup(t);
  const expires = Math.floor(Date.now() / 1000) + 600;
  const body = JSON.stringify({
    Item: { sessionId: { S: 'k' }, expires: { N: String(expires) }, session: { M: { text: { S: 'x'.repeat(5000) }, n: { N: '7' } } } },
  });
  server.injectFault({
    kind: 'respond', target: 'GetItem', chunked: true, body,
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'x-amz-crc32': String(crc32(body)) },
  });
  assert.deepEqual(await store.get('k'), { text: 'x'.repeat(5000), n: 7 });
  // and the connection stays usable for the next request
  assert.deepEqual(await store.get('k'), { kept: true });
});
