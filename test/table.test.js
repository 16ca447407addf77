'use strict';
// createTableIfDontExists and table.autoCreate: creation, waiting for ACTIVE, TTL, capacity, races.
const test = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('./helpers');

function warningsDuring(t) {
  const seen = [];
  const onWarning = (w) => seen.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  return seen;
}

test('creates the table on a fresh server, waits until ACTIVE, enables TTL', async (t) => {
  const server = await useServer(t, { createTableMs: 600 });
  const store = server.store({ table: { readCapacityUnits: 3, writeCapacityUnits: 4 } });
  const t0 = Date.now();
  await store.createTableIfDontExists();
  assert.ok(Date.now() - t0 >= 500, 'waited for the table to leave CREATING');
  const table = await server.describeTable('sessions');
  assert.equal(table.TableStatus, 'ACTIVE');
  assert.deepEqual(table.KeySchema, [{ AttributeName: 'sessionId', KeyType: 'HASH' }]);
  assert.deepEqual(table.AttributeDefinitions, [{ AttributeName: 'sessionId', AttributeType: 'S' }]);
  assert.equal(table.ProvisionedThroughput.ReadCapacityUnits, 3);
  assert.equal(table.ProvisionedThroughput.WriteCapacityUnits, 4);
  assert.deepEqual(await server.describeTimeToLive('sessions'), { TimeToLiveStatus: 'ENABLED', AttributeName: 'expires' });
  await store.set('k', { a: 1 }, 1000);
  assert.deepEqual(await store.get('k'), { a: 1 });
  // a second call on the existing table changes nothing
  const before = { ...server.stats.byTarget };
  await store.createTableIfDontExists();
  assert.equal(server.stats.byTarget.CreateTable, before.CreateTable);
  assert.equal(server.stats.byTarget.UpdateTable, before.UpdateTable);
  assert.equal(server.stats.byTarget.UpdateTimeToLive, before.UpdateTimeToLive);
});

test('custom table name, hash key and TTL attribute; on-demand billing', async (t) => {
  const server = await useServer(t);
  const store = server.store({ table: { name: 'app.sessions-v2', hashKey: 'id', ttlKey: 'ttl', billingMode: 'PAY_PER_REQUEST' } });
  await store.createTableIfDontExists();
  const table = await server.describeTable('app.sessions-v2');
  assert.deepEqual(table.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
  assert.equal(table.BillingModeSummary && table.BillingModeSummary.BillingMode, 'PAY_PER_REQUEST');
  assert.deepEqual(await server.describeTimeToLive('app.sessions-v2'), { TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  await store.set('k', { a: 1 }, 60000);
  const item = await server.getItem('app.sessions-v2', 'id', 'k');
  assert.deepEqual(Object.keys(item).sort(), ['id', 'session', 'ttl']);
});

test('two stores create the same table at the same moment: both succeed', async (t) => {
  const server = await useServer(t, { createTableMs: 300 });
  const a = server.store();
  const b = server.store();
  await Promise.all([a.createTableIfDontExists(), b.createTableIfDontExists()]);
  assert.equal((await server.describeTable('sessions')).TableStatus, 'ACTIVE');
  assert.equal((await server.describeTimeToLive('sessions')).TimeToLiveStatus, 'ENABLED');
  await a.set('x', { from: 'a' }, 60000);
  assert.deepEqual(await b.get('x'), { from: 'a' });
});

test('autoCreate: the store creates the table at construction and its operations wait for it', async (t) => {
  const server = await useServer(t, { createTableMs: 300 });
  const store = server.store({ table: { autoCreate: true } });
  await store.set('early', { ok: true }, 60000); // issued before the table exists
  assert.deepEqual(await store.get('early'), { ok: true });
  assert.equal(server.stats.byTarget.CreateTable, 1);
});

test('autoCreate failure: the callback gets the error, operations reject, no unhandled rejection', async (t) => {
  const server = await useServer(t, {}, { expectRejections: true });
  const unhandled = [];
  const onUnhandled = (r) => unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const { DynamoDBStore, storeOptions } = require('./helpers');
  const opts = storeOptions(server, { table: { autoCreate: true }, dynamoConfig: { accessKeyId: 'AKIDNOBODY' } });
  const cbErr = await new Promise((resolve) => {
    const s = new DynamoDBStore(opts, resolve);
    t.after(() => s.close());
  });
  assert.equal(cbErr.code, 'UnrecognizedClientException');
  const store = new DynamoDBStore(opts);
  t.after(() => store.close());
  await assert.rejects(store.get('k'), (e) => e.code === 'UnrecognizedClientException');
  await assert.rejects(store.createTableIfDontExists(), (e) => e.code === 'UnrecognizedClientException');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(unhandled, []);
});

test('existing table with TTL off: TTL gets enabled on ttlKey', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  assert.equal((await server.describeTimeToLive('sessions')).TimeToLiveStatus, 'DISABLED');
  await server.store().createTableIfDontExists();
  assert.deepEqual(await server.describeTimeToLive('sessions'), { TimeToLiveStatus: 'ENABLED', AttributeName: 'expires' });
  assert.equal(server.stats.byTarget.CreateTable, undefined);
});

test('existing table with TTL on another attribute: that attribute wins, with a warning', async (t) => {
  const server = await useServer(t);
  const warnings = warningsDuring(t);
  await server.createTable('sessions');
  await server.send('UpdateTimeToLive', { TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } });
  const store = server.store();
  await store.createTableIfDontExists();
  assert.equal(store.ttlKey, 'expiresAt');
  await new Promise((r) => setImmediate(r));
  assert.ok(warnings.some((w) => /expiresAt/.test(w)), `warnings: ${warnings.join(' | ')}`);
  await store.set('k', { a: 1 }, 60000);
  const item = await server.getItem('sessions', 'sessionId', 'k');
  assert.ok(item.expiresAt && item.expiresAt.N, 'the expiry goes to the table\'s TTL attribute');
  assert.equal(item.expires, undefined);
  assert.deepEqual(await server.describeTimeToLive('sessions'), { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
  // expiry is read from that attribute too
  await server.putItem('sessions', { sessionId: { S: 'old' }, session: { M: {} }, expiresAt: { N: '1000' } });
  assert.equal(await store.get('old'), undefined);
});

test('useTtlExpired: false leaves TTL alone', async (t) => {
  const server = await useServer(t);
  await server.store({ table: { useTtlExpired: false } }).createTableIfDontExists();
  assert.equal((await server.describeTimeToLive('sessions')).TimeToLiveStatus, 'DISABLED');
  assert.equal(server.stats.byTarget.UpdateTimeToLive, undefined);
});

test('existing provisioned table: capacity is updated when it differs', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions', { rcu: 5, wcu: 5 });
  await server.store({ table: { readCapacityUnits: 7, writeCapacityUnits: '9' } }).createTableIfDontExists();
  const pt = (await server.describeTable('sessions')).ProvisionedThroughput;
  assert.equal(pt.ReadCapacityUnits, 7);
  assert.equal(pt.WriteCapacityUnits, 9);
  assert.equal(server.stats.byTarget.UpdateTable, 1);
});

test('existing on-demand table: capacity is never updated', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions', { billingMode: 'PAY_PER_REQUEST' });
  await server.store({ table: { readCapacityUnits: 7, writeCapacityUnits: 9 } }).createTableIfDontExists();
  assert.equal(server.stats.byTarget.UpdateTable, undefined);
});

test('callback style, as the JavaScript package allowed', async (t) => {
  const server = await useServer(t);
  const store = server.store();
  const err = await new Promise((resolve) => store.createTableIfDontExists(resolve));
  assert.equal(err, undefined);
  assert.equal((await server.describeTable('sessions')).TableStatus, 'ACTIVE');
});
