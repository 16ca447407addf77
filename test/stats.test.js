'use strict';
// What the store shows of itself: store.stats(), the diagnostics channel
// 'koa-session-dynamodb-store:request' and NODE_DEBUG=koa-session-dynamodb-store, against the
// signature-checking test server (its throttling faults, dynalite's consumed capacity).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const diagnostics = require('node:diagnostics_channel');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { useServer } = require('./helpers');

const HOUR_MS = 3600 * 1000;
const CHANNEL = 'koa-session-dynamodb-store:request';

test('stats(): counts, errors, retries, throttles, latency and consumed capacity per operation', async (t) => {
  const server = await useServer(t);
  const store = server.store();
  await store.createTableIfDontExists();
  const before = store.stats();
  assert.deepEqual(Object.keys(before).sort(), ['conflicts', 'consumedCapacity', 'operations', 'touchesSkipped', 'unreadable']);
  await store.set('a', { v: 1 }, HOUR_MS); // a new session: the whole session (UpdateItem)
  await store.set('b', { v: 'x'.repeat(3000) }, HOUR_MS); // 3 KB: 3 write units
  assert.deepEqual(await store.get('a'), { v: 1 });
  assert.equal(await store.get('missing'), undefined);
  await store.destroy('a');
  const f = server.injectFault({ kind: 'throttle', target: 'GetItem', count: 2 });
  assert.deepEqual(await store.get('b'), { v: 'x'.repeat(3000) });
  assert.equal(f.fired, 2);
  server.injectFault({ kind: 'malformed', target: 'DeleteItem' }); // a 200 that is not JSON: not retried
  await assert.rejects(store.destroy('b'), { code: 'InvalidResponse' });

  const s = store.stats();
  const get = s.operations.GetItem;
  assert.equal(get.count, 3);
  assert.equal(get.retries, 2);
  assert.equal(get.throttles, 2);
  assert.deepEqual(get.errors, {});
  assert.ok(get.latencyMs.p50 > 0 && get.latencyMs.p99 >= get.latencyMs.p50, JSON.stringify(get.latencyMs));
  assert.equal(s.operations.UpdateItem.count, 2);
  assert.equal(s.operations.DeleteItem.count, 2);
  assert.deepEqual(s.operations.DeleteItem.errors, { InvalidResponse: 1 });
  // dynalite's units: a strongly consistent read of up to 4 KB is 1 (a miss too); writes per KB
  assert.equal(s.consumedCapacity.read, 3);
  assert.ok(s.consumedCapacity.write >= 1 + 3 + 1, JSON.stringify(s.consumedCapacity));
  assert.ok(s.operations.CreateTable.count >= 1, 'table operations are counted too');
  // a snapshot is a copy
  s.operations.GetItem.count = 99;
  assert.equal(store.stats().operations.GetItem.count, 3);
});

test('stats(): conflicts and touches skipped', async (t) => {
  const server = await useServer(t);
  const store = server.store({ concurrency: 'strict', touchAfter: 60 });
  await store.createTableIfDontExists();
  await store.set('s', { n: 0, _expire: Date.now() + HOUR_MS, _maxAge: HOUR_MS }, HOUR_MS);
  const c1 = {};
  const c2 = {};
  const x = await store.get('s', HOUR_MS, { ctx: c1 });
  const y = await store.get('s', HOUR_MS, { ctx: c2 });
  await store.set('s', { ...x, n: 1 }, HOUR_MS, { ctx: c1 });
  await assert.rejects(store.set('s', { ...y, n: 2 }, HOUR_MS, { ctx: c2 }), { code: 'SessionConflict' });
  assert.equal(store.stats().conflicts, 1);
  // a save that only moves the expiry, inside touchAfter: skipped
  const c3 = {};
  const z = await store.get('s', HOUR_MS, { ctx: c3 });
  await store.set('s', { ...z, _expire: z._expire + 1000 }, HOUR_MS, { ctx: c3 });
  assert.equal(store.stats().touchesSkipped, 1);
});

test('diagnostics channel: one message per request, with the numbers and never a key or session data', async (t) => {
  const server = await useServer(t);
  const store = server.store();
  await store.createTableIfDontExists();
  const messages = [];
  const listener = (m) => messages.push(m);
  diagnostics.subscribe(CHANNEL, listener);
  t.after(() => diagnostics.unsubscribe(CHANNEL, listener));
  const secretKey = 'key-SECRET-4711';
  await store.set(secretKey, { card: 'SESSION-DATA-0815' }, HOUR_MS);
  await store.get(secretKey);
  server.injectFault({ kind: 'throttle', target: 'GetItem', count: 1 });
  await store.get(secretKey);
  server.injectFault({ kind: 'malformed', target: 'GetItem', count: 1 });
  await assert.rejects(store.get(secretKey), { code: 'InvalidResponse' });
  assert.deepEqual(messages.map((m) => m.operation), ['UpdateItem', 'GetItem', 'GetItem', 'GetItem']);
  for (const m of messages) {
    assert.equal(typeof m.durationMs, 'number');
    assert.ok(m.durationMs > 0);
    assert.ok(m.attempts >= 1);
    assert.equal(m.table, 'sessions');
    assert.equal(typeof m.consumedCapacity, 'number');
  }
  assert.equal(messages[1].httpStatusCode, 200);
  assert.equal(messages[1].consumedCapacity, 1);
  assert.equal(messages[2].attempts, 2, 'the throttled attempt and its retry');
  assert.equal(messages[3].errorCode, 'InvalidResponse');
  assert.equal(messages[3].httpStatusCode, 200);
  assert.ok(!('errorCode' in messages[1]));
  const text = JSON.stringify(messages);
  assert.ok(!text.includes(secretKey) && !text.includes('SESSION-DATA'), text);
});

test('NODE_DEBUG=koa-session-dynamodb-store logs each request without keys, session content or secrets', async (t) => {
  const server = await useServer(t);
  // (asynchronous: the test server runs in this process)
  const child = await new Promise((resolve) => execFile(process.execPath, ['-e', `
    const DynamoDBStore = require(${JSON.stringify(path.join(__dirname, '..'))});
    const store = new DynamoDBStore(${JSON.stringify({
    table: { name: 'sessions' },
    dynamoConfig: { region: server.region, endpoint: server.endpoint, accessKeyId: server.credentials.accessKeyId, secretAccessKey: server.credentials.secretAccessKey },
  })});
    (async () => {
      await store.createTableIfDontExists();
      await store.set('key-SECRET-4711', { card: 'SESSION-DATA-0815' }, 60000);
      await store.get('key-SECRET-4711');
      await store.close();
    })().catch((e) => { console.error('FAILED', e.code); process.exit(1); });
  `], { env: { ...process.env, NODE_DEBUG: 'koa-session-dynamodb-store' }, encoding: 'utf8', timeout: 60_000 },
  (err, stdout, stderr) => resolve({ status: err ? err.code ?? 1 : 0, stderr })));
  assert.equal(child.status, 0, child.stderr);
  const lines = child.stderr.split('\n').filter((l) => /KOA-SESSION-DYNAMODB-STORE/.test(l));
  assert.ok(lines.some((l) => /UpdateItem ok/.test(l)) && lines.some((l) => /GetItem ok/.test(l)), child.stderr);
  for (const secret of ['key-SECRET-4711', 'SESSION-DATA', server.credentials.secretAccessKey, server.credentials.accessKeyId]) {
    assert.ok(!child.stderr.includes(secret), `${secret} in the debug output`);
  }
});
