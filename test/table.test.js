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
  assert.deepEqual(Object.keys(item).sort(), ['id', 'session', 'ttl', 'version']);
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

// ---------------------------------------------------------------------------------------------
// Table requests built in lib/table.js; a server without TTL operations

const binding = require('../lib/binding');
const { ttlUnsupported } = require('../lib/table');
const { DynamoDBStore, storeOptions } = require('./helpers');

/** While the test runs: native stores whose control() throws, so only the generic call can be used. */
function withoutNativeControl(t) {
  const Real = binding.NativeStore;
  binding.NativeStore = class extends Real {
    control() {
      throw new Error('native.control must not be used');
    }
  };
  t.after(() => { binding.NativeStore = Real; });
}

/** Records the body of every client request for `target` (the filter sees them all and never fires). */
function bodiesOf(server, target) {
  const seen = [];
  server.injectFault({ kind: 'throttle', target, count: Infinity, filter: ({ body }) => { seen.push(body); return false; } });
  return seen;
}

function ttlWarnings(warnings, endpoint) {
  return warnings.filter((w) => /does not support TTL/.test(w) && w.includes(endpoint));
}

test('the table requests are JSON built in JavaScript and sent through the generic call (never native.control)', async (t) => {
  withoutNativeControl(t);
  const server = await useServer(t);
  const creates = bodiesOf(server, 'CreateTable');
  const ttls = bodiesOf(server, 'UpdateTimeToLive');
  const describes = bodiesOf(server, 'DescribeTable');
  await server.store({ table: { readCapacityUnits: 3, writeCapacityUnits: '4' } }).createTableIfDontExists();
  assert.deepEqual(creates, [{
    TableName: 'sessions',
    AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
    BillingMode: 'PROVISIONED',
    ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 4 },
  }]);
  assert.deepEqual(ttls, [{ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true } }]);
  assert.ok(describes.length >= 2 && describes.every((b) => JSON.stringify(b) === '{"TableName":"sessions"}'));

  const updates = bodiesOf(server, 'UpdateTable');
  await server.store({ table: { readCapacityUnits: 6, writeCapacityUnits: 7 } }).createTableIfDontExists();
  assert.deepEqual(updates, [{ TableName: 'sessions', ProvisionedThroughput: { ReadCapacityUnits: 6, WriteCapacityUnits: 7 } }]);

  await server.store({ table: { name: 'ondemand', hashKey: 'id \u00e9\u{1F511}', ttlKey: 'ttl', billingMode: 'PAY_PER_REQUEST' } }).createTableIfDontExists();
  assert.deepEqual(creates[1], {
    TableName: 'ondemand',
    AttributeDefinitions: [{ AttributeName: 'id \u00e9\u{1F511}', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id \u00e9\u{1F511}', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  assert.deepEqual(await server.describeTimeToLive('ondemand'), { TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
});

test('a server without TTL operations (plain dynalite): createTableIfDontExists resolves with one warning, and get/set work', async (t) => {
  const server = await useServer(t, {}, { expectRejections: true });
  const warnings = warningsDuring(t);
  const codes = [];
  const onWarning = (w) => codes.push(w.code);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const store = server.store({ dynamoConfig: { endpoint: server.dynaliteEndpoint } });
  await store.createTableIfDontExists(); // a new table
  await store.createTableIfDontExists(); // the same table again: TTL is still off, still not supported
  await new Promise((r) => setImmediate(r));
  const mine = ttlWarnings(warnings, server.dynaliteEndpoint);
  assert.equal(mine.length, 1, `warnings: ${warnings.join(' | ')}`);
  assert.match(mine[0], /the server at http:\/\/127\.0\.0\.1:\d+\/ does not support TTL \(UpdateTimeToLive: UnknownOperationException\), so it will not delete expired sessions from table sessions; the store's reads ignore expired sessions anyway/);
  assert.ok(codes.includes('DYNAMODB_STORE'));
  assert.equal((await server.describeTable('sessions')).TableStatus, 'ACTIVE');
  assert.equal(store.ttlKey, 'expires');

  await store.set('k', { a: 1 }, 60000);
  assert.deepEqual(await store.get('k'), { a: 1 });
  const item = await server.getItem('sessions', 'sessionId', 'k');
  assert.ok(Number(item.expires.N) > Date.now() / 1000, 'the expiry is still written');
  // Reads ignore expired items, as the warning says.
  await server.putItem('sessions', { sessionId: { S: 'old' }, session: { M: {} }, expires: { N: String(Math.floor(Date.now() / 1000) - 5) } });
  assert.equal(await store.get('old'), undefined);
  await store.destroy('k');
  assert.equal(await store.get('k'), undefined);
});

test('autoCreate against plain dynalite: the store starts, warns once, and works', async (t) => {
  const server = await useServer(t, {}, { expectRejections: true });
  const warnings = warningsDuring(t);
  const opts = storeOptions(server, { table: { autoCreate: true, billingMode: 'PAY_PER_REQUEST' }, dynamoConfig: { endpoint: server.dynaliteEndpoint } });
  let store;
  const err = await new Promise((resolve) => { store = new DynamoDBStore(opts, resolve); });
  t.after(() => store.close());
  assert.equal(err, undefined);
  await store.set('auto', { ok: true }, 60000);
  assert.deepEqual(await store.get('auto'), { ok: true });
  await new Promise((r) => setImmediate(r));
  assert.equal(ttlWarnings(warnings, server.dynaliteEndpoint).length, 1, warnings.join(' | '));
});

test('a server that does not know DescribeTimeToLive either: a warning, not a failure', async (t) => {
  const server = await useServer(t);
  const warnings = warningsDuring(t);
  server.injectFault({
    kind: 'respond', target: 'DescribeTimeToLive', count: Infinity, status: 400, headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ValidationException', message: 'The operation DescribeTimeToLive is not supported by this emulator' }),
  });
  const store = server.store();
  await store.createTableIfDontExists();
  await new Promise((r) => setImmediate(r));
  const mine = ttlWarnings(warnings, server.endpoint);
  assert.equal(mine.length, 1, warnings.join(' | '));
  assert.match(mine[0], /DescribeTimeToLive: ValidationException/);
  assert.equal(server.stats.byTarget.UpdateTimeToLive, undefined);
  await store.set('k', { a: 1 }, 60000);
  assert.deepEqual(await store.get('k'), { a: 1 });
});

test('other TTL failures on a new table still reject (only an unknown operation is a warning)', async (t) => {
  const server = await useServer(t);
  server.injectFault({
    kind: 'respond', target: 'UpdateTimeToLive', count: Infinity, status: 400, headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message: 'not authorized to perform: dynamodb:UpdateTimeToLive' }),
  });
  await assert.rejects(server.store().createTableIfDontExists(), (e) => e.code === 'AccessDeniedException' && e.status === undefined && e.statusCode === undefined);
});

test('ttlUnsupported: by error code, or a 400 saying the operation is unknown or not supported', () => {
  const yes = [
    { code: 'UnknownOperationException' },
    { code: 'UnknownOperationException', httpStatusCode: 400, message: 'UnknownOperationException' },
    { code: 'ValidationException', httpStatusCode: 400, message: 'The operation UpdateTimeToLive is not supported' },
    { code: 'UnknownError', httpStatusCode: 400, message: 'Unknown operation: DescribeTimeToLive' },
    { code: 'NotImplemented', httpStatusCode: 400, message: 'UpdateTimeToLive is not yet implemented' },
    { code: 'InvalidAction', httpStatusCode: 400, message: 'Unsupported operation' },
  ];
  const no = [
    null,
    { code: 'ValidationException', httpStatusCode: 400, message: 'TimeToLive is already enabled' },
    { code: 'ValidationException', httpStatusCode: 400, message: 'Time to live has been modified multiple times within a fixed interval' },
    { code: 'ResourceInUseException', httpStatusCode: 400, message: 'Table is being updated' },
    { code: 'InternalServerError', httpStatusCode: 500, message: 'The operation is not supported right now' },
    { code: 'NetworkingError', message: 'UpdateTimeToLive failed (Connection refused)' },
  ];
  for (const e of yes) assert.equal(ttlUnsupported(e), true, JSON.stringify(e));
  for (const e of no) assert.equal(ttlUnsupported(e), false, JSON.stringify(e));
});

test('a TTL attribute name in the answer that the store cannot use: a warning on an existing table, the store keeps its ttlKey', async (t) => {
  const server = await useServer(t);
  const warnings = warningsDuring(t);
  await server.createTable('sessions');
  server.injectFault({
    kind: 'respond', target: 'DescribeTimeToLive', status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'exp\u0000ires' } }),
  });
  const store = server.store();
  await store.createTableIfDontExists();
  assert.equal(store.ttlKey, 'expires');
  await new Promise((r) => setImmediate(r));
  assert.ok(warnings.some((w) => /could not enable TTL on table sessions \(InvalidResponse: .*NUL character/.test(w)), warnings.join(' | '));
  await store.set('k', { a: 1 }, 60000);
  assert.deepEqual(await store.get('k'), { a: 1 });
});
