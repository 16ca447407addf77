'use strict';

// Self-tests of the test harness (test/support/*). Run: node --test test/support.test.js

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { SignatureV4 } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');
const {
  DynamoDBClient, CreateTableCommand, DescribeTableCommand, PutItemCommand, GetItemCommand,
  UpdateTimeToLiveCommand, DescribeTimeToLiveCommand, DeleteTableCommand, ListTablesCommand,
} = require('@aws-sdk/client-dynamodb');
const { startTestServer, crc32 } = require('./support/server');
const { createClient, parseSetCookie } = require('./support/cookie-client');

function sdk(server, extra = {}) {
  return new DynamoDBClient({
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    maxAttempts: 1,
    ...extra,
  });
}

/** Sign a request with @smithy/signature-v4; returns { headers, body } ready for rawPost (tamperable). */
async function signRaw(server, target, bodyObj, { credentials = server.credentials, applyChecksum = true,
  signingDate, unsignableHeaders, region = server.region } = {}) {
  const url = new URL(server.endpoint);
  const body = JSON.stringify(bodyObj);
  const signer = new SignatureV4({ credentials, region, service: 'dynamodb', sha256: Sha256, applyChecksum });
  const req = new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: +url.port,
    path: '/',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.' + target,
      host: url.host,
    },
    body,
  });
  const signed = await signer.sign(req, { signingDate, unsignableHeaders });
  return { headers: { ...signed.headers }, body };
}

function rawPost(server, headers, body, { timeoutMs = 10000 } = {}) {
  const url = new URL(server.endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, method: 'POST', path: '/', agent: false,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    const timer = setTimeout(() => req.destroy(new Error('rawPost timeout')), timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => { clearTimeout(timer); reject(e); });
      res.on('end', () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        let json;
        try { json = JSON.parse(buf.toString()); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, buf, text: buf.toString(), json });
      });
    });
    req.end(body);
  });
}

function typeName(body) {
  return body && body.__type ? body.__type.slice(body.__type.indexOf('#') + 1) : undefined;
}

describe('signature verification', () => {
  let server;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  test('requests signed by @aws-sdk/client-dynamodb pass and reach dynalite', async () => {
    const c = sdk(server);
    try {
      const created = await c.send(new CreateTableCommand({
        TableName: 'sdk_table',
        AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
        ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
      }));
      assert.equal(created.TableDescription.TableName, 'sdk_table');
      await server.waitForTableStatus('sdk_table', 'ACTIVE');
      const d = await c.send(new DescribeTableCommand({ TableName: 'sdk_table' }));
      assert.equal(d.Table.TableStatus, 'ACTIVE');
      await c.send(new PutItemCommand({ TableName: 'sdk_table', Item: { sessionId: { S: 'a' }, v: { S: '1' } } }));
      const got = await c.send(new GetItemCommand({ TableName: 'sdk_table', Key: { sessionId: { S: 'a' } }, ConsistentRead: true }));
      assert.deepEqual(got.Item, { sessionId: { S: 'a' }, v: { S: '1' } });
      assert.deepEqual(await server.getItem('sdk_table', 'sessionId', 'a'), got.Item);
      const lt = await c.send(new ListTablesCommand({}));
      assert.ok(lt.TableNames.includes('sdk_table'));
    } finally {
      c.destroy();
    }
    assert.equal(server.stats.rejected, 0, server.stats.rejections.join('\n'));
    assert.ok(server.stats.verified >= 5);
    assert.equal(server.stats.byTarget.PutItem, 1);
    assert.equal(server.stats.byTarget.GetItem, 1, 'harness getItem is internal and not counted');
    assert.ok(server.stats.internal >= 1);
  });

  test('a session-token identity signed by the SDK passes', async () => {
    const creds = server.addCredentials({ sessionToken: 'TOKEN-' + Date.now() });
    const c = sdk(server, { credentials: creds });
    try {
      const r = await c.send(new ListTablesCommand({}));
      assert.ok(Array.isArray(r.TableNames));
    } finally { c.destroy(); }
  });

  test('tampered signature -> InvalidSignatureException, stats.rejected increments', async () => {
    const before = server.stats.rejected;
    const { headers, body } = await signRaw(server, 'ListTables', {});
    const ok = await rawPost(server, headers, body);
    assert.equal(ok.status, 200, ok.text);
    headers.authorization = headers.authorization.replace(/Signature=([0-9a-f])/, (_, ch) => 'Signature=' + (ch === '0' ? '1' : '0'));
    const r = await rawPost(server, headers, body);
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], 'application/x-amz-json-1.0');
    assert.match(r.headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/);
    assert.equal(r.headers['x-amz-crc32'], String(crc32(r.buf)));
    assert.equal(r.json.__type, 'com.amazon.coral.service#InvalidSignatureException');
    assert.match(r.json.message, /^The request signature we calculated does not match the signature you provided\./);
    assert.match(r.json.message, /The Canonical String for this request should have been/);
    assert.equal(server.stats.rejected, before + 1);
    assert.match(server.stats.rejections.at(-1), /^InvalidSignatureException: .*ListTables/);
  });

  test('tampered body (with and without x-amz-content-sha256) is rejected', async () => {
    for (const applyChecksum of [true, false]) {
      const { headers, body } = await signRaw(server, 'GetItem',
        { TableName: 'sdk_table', Key: { sessionId: { S: 'a' } } }, { applyChecksum });
      assert.equal('x-amz-content-sha256' in headers, applyChecksum);
      const r = await rawPost(server, headers, body.replace('"a"', '"b"'));
      assert.equal(r.status, 400, `applyChecksum=${applyChecksum}`);
      assert.equal(typeName(r.json), 'InvalidSignatureException');
    }
  });

  test('tampered signed header is rejected, an added unsigned header is fine', async () => {
    const { headers, body } = await signRaw(server, 'ListTables', {});
    const extra = await rawPost(server, { ...headers, 'x-something-unsigned': 'yes', 'user-agent': 'whatever' }, body);
    assert.equal(extra.status, 200, extra.text);
    const r = await rawPost(server, { ...headers, 'x-amz-target': 'DynamoDB_20120810.DescribeLimits' }, body);
    assert.equal(r.status, 400);
    assert.equal(typeName(r.json), 'InvalidSignatureException');
    const r2 = await rawPost(server, { ...headers, 'content-type': 'application/json' }, body);
    assert.equal(typeName(r2.json), 'InvalidSignatureException');
  });

  test('wrong secret via the SDK -> InvalidSignatureException', async () => {
    const before = server.stats.rejected;
    const c = sdk(server, { credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: 'wrong' } });
    try {
      await assert.rejects(c.send(new ListTablesCommand({})), (e) => {
        assert.equal(e.name, 'InvalidSignatureException');
        assert.equal(e.$metadata.httpStatusCode, 400);
        return true;
      });
    } finally { c.destroy(); }
    assert.equal(server.stats.rejected, before + 1);
  });

  test('unknown access key -> UnrecognizedClientException', async () => {
    const c = sdk(server, { credentials: { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' } });
    try {
      await assert.rejects(c.send(new ListTablesCommand({})), (e) => {
        assert.equal(e.name, 'UnrecognizedClientException');
        assert.equal(e.message, 'The security token included in the request is invalid.');
        return true;
      });
    } finally { c.destroy(); }
  });

  test('session tokens: missing, wrong, expired', async () => {
    const creds = server.addCredentials({ sessionToken: 'right-token' });
    let r = await server.send('ListTables', {}, { credentials: { ...creds, sessionToken: undefined } });
    assert.equal(typeName(r.body), 'UnrecognizedClientException');
    r = await server.send('ListTables', {}, { credentials: { ...creds, sessionToken: 'wrong-token' } });
    assert.equal(typeName(r.body), 'UnrecognizedClientException');
    r = await server.send('ListTables', {}, { credentials: creds });
    assert.equal(r.status, 200);
    // a token sent for an identity that has none
    r = await server.send('ListTables', {}, { credentials: { ...server.credentials, sessionToken: 'x' } });
    assert.equal(typeName(r.body), 'UnrecognizedClientException');
    const expired = server.addCredentials({ sessionToken: 't2', expiresAt: Date.now() - 1 });
    r = await server.send('ListTables', {}, { credentials: expired });
    assert.equal(r.status, 400);
    assert.equal(typeName(r.body), 'ExpiredTokenException');
    // token header present but not signed
    const { headers, body } = await signRaw(server, 'ListTables', {}, {
      credentials: creds, unsignableHeaders: new Set(['x-amz-security-token']),
    });
    assert.ok(headers['x-amz-security-token']);
    const r2 = await rawPost(server, headers, body);
    assert.equal(typeName(r2.json), 'InvalidSignatureException');
    assert.match(r2.json.message, /X-Amz-Security-Token/);
  });

  test('scope and date checks', async () => {
    let r = await server.send('ListTables', {}, { region: 'eu-west-1' });
    assert.equal(typeName(r.body), 'InvalidSignatureException');
    assert.match(r.body.message, /region/);
    r = await server.send('ListTables', {}, { signingDate: new Date(Date.now() - 20 * 60 * 1000) });
    assert.equal(typeName(r.body), 'InvalidSignatureException');
    assert.match(r.body.message, /^Signature expired: /);
    r = await server.send('ListTables', {}, { signingDate: new Date(Date.now() + 20 * 60 * 1000) });
    assert.match(r.body.message, /^Signature not yet current: /);
    r = await server.send('ListTables', {}, { signingDate: new Date(Date.now() - 10 * 60 * 1000) });
    assert.equal(r.status, 200);
    const { headers, body } = await signRaw(server, 'ListTables', {}, { unsignableHeaders: new Set(['x-amz-target']) });
    const r2 = await rawPost(server, headers, body);
    assert.equal(typeName(r2.json), 'InvalidSignatureException');
    assert.match(r2.json.message, /'X-Amz-Target' must be a 'SignedHeader'/);
    const noAuth = { ...headers };
    delete noAuth.authorization;
    const r3 = await rawPost(server, noAuth, body);
    assert.equal(typeName(r3.json), 'MissingAuthenticationTokenException');
  });

  test('aws-sdk v2 (does not sign content-type): rejected by default, verified with requiredSignedHeaders', async () => {
    let AWS;
    try { AWS = require('aws-sdk'); } catch { return; } // only present as a dependency of the v1 package
    for (const [opts, ok] of [[{}, false], [{ requiredSignedHeaders: ['host', 'x-amz-date', 'x-amz-target'] }, true]]) {
      const s = await startTestServer(opts);
      try {
        await s.createTable('v2_table');
        const ddb = new AWS.DynamoDB({
          endpoint: s.endpoint, region: s.region, maxRetries: 0,
          credentials: new AWS.Credentials(s.credentials.accessKeyId, s.credentials.secretAccessKey),
        });
        const p = ddb.putItem({ TableName: 'v2_table', Item: { sessionId: { S: 'v2' } } }).promise();
        if (ok) {
          await p;
          assert.deepEqual(await s.getItem('v2_table', 'sessionId', 'v2'), { sessionId: { S: 'v2' } });
          assert.equal(s.stats.rejected, 0, s.stats.rejections.join('\n'));
        } else {
          await assert.rejects(p, (e) => e.code === 'InvalidSignatureException' && /'Content-Type' must be a 'SignedHeader'/.test(e.message));
        }
      } finally { await s.close(); }
    }
  });

  test('GET / health check passes through', async () => {
    const r = await new Promise((resolve, reject) => {
      http.get(server.endpoint + '/', { agent: false }, (res) => {
        let t = '';
        res.on('data', (c) => { t += c; });
        res.on('end', () => resolve({ status: res.statusCode, text: t }));
      }).on('error', reject);
    });
    assert.equal(r.status, 200);
    assert.match(r.text, /^healthy/);
  });

  test('200 concurrent SDK requests all verify', async () => {
    await server.createTable('conc');
    const c = sdk(server, { maxAttempts: 1 });
    const before = { ...server.stats };
    try {
      const N = 200;
      await Promise.all(Array.from({ length: N }, (_, i) => c.send(new PutItemCommand({
        TableName: 'conc', Item: { sessionId: { S: 'k' + i }, n: { N: String(i) } },
      }))));
      const got = await Promise.all(Array.from({ length: N }, (_, i) => c.send(new GetItemCommand({
        TableName: 'conc', Key: { sessionId: { S: 'k' + i } }, ConsistentRead: true,
      }))));
      got.forEach((g, i) => assert.equal(g.Item.n.N, String(i)));
    } finally { c.destroy(); }
    assert.equal(server.stats.rejected, before.rejected, server.stats.rejections.join('\n'));
    assert.equal(server.stats.verified - before.verified, 400);
  });
});

describe('TTL emulation and dynalite behaviour', () => {
  let server;
  let c;
  before(async () => {
    server = await startTestServer();
    c = sdk(server);
    await server.createTable('ttl_table');
  });
  after(async () => { c.destroy(); await server.close(); });

  test('UpdateTimeToLive / DescribeTimeToLive round trip', async () => {
    const d0 = await c.send(new DescribeTimeToLiveCommand({ TableName: 'ttl_table' }));
    assert.deepEqual(d0.TimeToLiveDescription, { TimeToLiveStatus: 'DISABLED' });
    const u = await c.send(new UpdateTimeToLiveCommand({
      TableName: 'ttl_table', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true },
    }));
    assert.deepEqual(u.TimeToLiveSpecification, { AttributeName: 'expires', Enabled: true });
    const raw = await server.send('DescribeTimeToLive', { TableName: 'ttl_table' });
    assert.deepEqual(raw.body, { TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'expires' } });
    assert.equal(raw.headers['x-amz-crc32'], String(crc32(JSON.stringify(raw.body))));
    assert.ok(raw.headers['x-amzn-requestid']);
    await assert.rejects(c.send(new UpdateTimeToLiveCommand({
      TableName: 'ttl_table', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true },
    })), (e) => e.name === 'ValidationException' && /TimeToLive is already enabled/.test(e.message));
    await c.send(new UpdateTimeToLiveCommand({
      TableName: 'ttl_table', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: false },
    }));
    assert.deepEqual(await server.describeTimeToLive('ttl_table'), { TimeToLiveStatus: 'DISABLED' });
    await assert.rejects(c.send(new UpdateTimeToLiveCommand({
      TableName: 'ttl_table', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: false },
    })), (e) => e.name === 'ValidationException' && /TimeToLive is already disabled/.test(e.message));
    await assert.rejects(c.send(new DescribeTimeToLiveCommand({ TableName: 'no_such_table' })),
      (e) => e.name === 'ResourceNotFoundException');
    await assert.rejects(c.send(new UpdateTimeToLiveCommand({
      TableName: 'no_such_table', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true },
    })), (e) => e.name === 'ResourceNotFoundException');
    const bad = await server.send('UpdateTimeToLive', { TableName: 'ttl_table' });
    assert.equal(typeName(bad.body), 'ValidationException');
    assert.equal(server.stats.rejected, 0);
  });

  test('DeleteTable drops the TTL state', async () => {
    await server.createTable('ttl_drop');
    await server.send('UpdateTimeToLive', { TableName: 'ttl_drop', TimeToLiveSpecification: { AttributeName: 'exp', Enabled: true } });
    assert.equal((await server.describeTimeToLive('ttl_drop')).TimeToLiveStatus, 'ENABLED');
    await c.send(new DeleteTableCommand({ TableName: 'ttl_drop' }));
    await server.waitForTableStatus('ttl_drop', 'DELETED');
    await server.createTable('ttl_drop');
    assert.deepEqual(await server.describeTimeToLive('ttl_drop'), { TimeToLiveStatus: 'DISABLED' });
  });

  test('ttlTransitionMs gives ENABLING then ENABLED', async () => {
    const s2 = await startTestServer({ ttlTransitionMs: 50 });
    try {
      await s2.createTable('ttt');
      await s2.send('UpdateTimeToLive', { TableName: 'ttt', TimeToLiveSpecification: { AttributeName: 'exp', Enabled: true } });
      assert.equal((await s2.describeTimeToLive('ttt')).TimeToLiveStatus, 'ENABLING');
      await new Promise((r) => setTimeout(r, 60));
      assert.deepEqual(await s2.describeTimeToLive('ttt'), { TimeToLiveStatus: 'ENABLED', AttributeName: 'exp' });
    } finally { await s2.close(); }
  });

  test('PAY_PER_REQUEST tables: BillingModeSummary, zero throughput, UpdateTable capacity rejected', async () => {
    const t = await server.createTable('ppr', { billingMode: 'PAY_PER_REQUEST' });
    assert.equal(t.BillingModeSummary.BillingMode, 'PAY_PER_REQUEST');
    assert.equal(t.ProvisionedThroughput.ReadCapacityUnits, 0);
    assert.equal(t.ProvisionedThroughput.WriteCapacityUnits, 0);
    const r = await server.send('UpdateTable', {
      TableName: 'ppr', ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    });
    assert.equal(typeName(r.body), 'ValidationException');
    const p = await server.describeTable('ttl_table');
    assert.equal(p.BillingModeSummary, undefined, 'dynalite omits BillingModeSummary for provisioned tables');
    assert.equal(await server.describeTable('missing_table'), undefined);
  });

  test('createTableMs delays ACTIVE', async () => {
    const s2 = await startTestServer({ createTableMs: 80 });
    try {
      const t = await s2.createTable('slow', { wait: false });
      assert.equal(t.TableStatus, 'CREATING');
      const t0 = Date.now();
      await s2.waitForTableStatus('slow', 'ACTIVE');
      assert.ok(Date.now() - t0 >= 40);
    } finally { await s2.close(); }
  });
});

describe('fault injection', () => {
  let server;
  const T = 'faults';
  const put = (k, opts = {}) => server.send('PutItem', { TableName: T, Item: { sessionId: { S: k } } }, { internal: false, ...opts });
  const get = (k, opts = {}) => server.send('GetItem', { TableName: T, Key: { sessionId: { S: k } }, ConsistentRead: true }, { internal: false, ...opts });

  before(async () => {
    server = await startTestServer();
    await server.createTable(T);
    await server.putItem(T, { sessionId: { S: 'present' }, v: { S: 'hello world, some payload' } });
  });
  after(async () => { await server.close(); });

  test('throttle / throttling / status', async () => {
    server.injectFault({ kind: 'throttle', target: 'PutItem' });
    let r = await put('t1');
    assert.equal(r.status, 400);
    assert.equal(typeName(r.body), 'ProvisionedThroughputExceededException');
    assert.equal(await server.getItem(T, 'sessionId', 't1'), undefined, 'not forwarded');
    r = await put('t1');
    assert.equal(r.status, 200, 'count 1: consumed');

    server.injectFault({ kind: 'throttling' });
    r = await get('present');
    assert.equal(typeName(r.body), 'ThrottlingException');

    for (const status of [500, 502, 503, 504]) {
      server.injectFault({ kind: 'status', status });
      r = await get('present');
      assert.equal(r.status, status);
      assert.equal(typeName(r.body), status === 503 ? 'ServiceUnavailableException' : 'InternalFailure');
    }
    assert.equal(server.stats.faultsByKind.status, 4);
  });

  test('target matching, count and internal requests', async () => {
    const h = server.injectFault({ kind: 'throttle', target: 'GetItem', count: 2 });
    assert.equal((await put('tm')).status, 200, 'PutItem does not match');
    assert.ok(await server.getItem(T, 'sessionId', 'tm'), 'internal helper does not consume');
    assert.equal((await get('tm')).status, 400);
    assert.equal((await get('tm')).status, 400);
    assert.equal((await get('tm')).status, 200);
    assert.equal(h.fired, 2);
    assert.equal(h.remaining, 0);
    server.injectFault({ kind: 'throttle', count: Infinity });
    assert.equal((await get('tm')).status, 400);
    server.clearFaults();
    assert.equal((await get('tm')).status, 200);
    assert.throws(() => server.injectFault({ kind: 'nope' }), TypeError);
  });

  test('SDK retries through a throttle', async () => {
    const c = sdk(server, { maxAttempts: 3, retryStrategy: undefined });
    const before = server.stats.faults;
    server.injectFault({ kind: 'throttle', target: 'GetItem' });
    try {
      const g = await c.send(new GetItemCommand({ TableName: T, Key: { sessionId: { S: 'present' } } }));
      assert.ok(g.Item);
      assert.equal(g.$metadata.attempts, 2);
    } finally { c.destroy(); }
    assert.equal(server.stats.faults, before + 1);
  });

  test("'reset-before': ECONNRESET and the write never reached dynalite", async () => {
    const fwd = server.stats.forwarded;
    server.injectFault({ kind: 'reset-before', target: 'PutItem' });
    await assert.rejects(put('rb'), (e) => e.code === 'ECONNRESET');
    assert.equal(server.stats.forwarded, fwd);
    assert.equal(await server.getItem(T, 'sessionId', 'rb'), undefined);
  });

  test("'reset-after': ECONNRESET and the item IS written", async () => {
    server.injectFault({ kind: 'reset-after', target: 'PutItem' });
    await assert.rejects(put('ra'), (e) => e.code === 'ECONNRESET');
    assert.deepEqual(await server.getItem(T, 'sessionId', 'ra'), { sessionId: { S: 'ra' } });
  });

  test("'delay': answer held, then normal; before: true holds before forwarding", async () => {
    server.injectFault({ kind: 'delay', ms: 120 });
    let t0 = Date.now();
    const r = await get('present');
    assert.ok(Date.now() - t0 >= 110);
    assert.equal(r.status, 200);
    assert.ok(r.body.Item);

    server.injectFault({ kind: 'delay', ms: 200, before: true, target: 'PutItem' });
    t0 = Date.now();
    await assert.rejects(put('dl', { timeoutMs: 50 }), /timed out/);
    assert.equal(await server.getItem(T, 'sessionId', 'dl'), undefined, 'not yet forwarded');
  });

  test("'delay' Infinity never answers and close() still ends it", async () => {
    const s2 = await startTestServer();
    s2.injectFault({ kind: 'delay', ms: Infinity });
    const p = s2.send('ListTables', {}, { internal: false, timeoutMs: 5000 });
    const settled = p.then(() => 'resolved', (e) => e.code || e.message);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await s2.close();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(await settled, 'ECONNRESET');
    await s2.close(); // idempotent
  });

  test("'malformed', 'content-type', 'garbage-status'", async () => {
    server.injectFault({ kind: 'malformed' });
    let r = await get('present');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'not json {');

    server.injectFault({ kind: 'content-type' });
    r = await get('present');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.match(r.body, /^<html>/);

    server.injectFault({ kind: 'garbage-status' });
    r = await get('present');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { __type: 'com.amazonaws.dynamodb.v20120810#ValidationException', message: 'x' });
    server.injectFault({ kind: 'garbage-status', status: 400 });
    r = await get('present');
    assert.equal(r.status, 400);
  });

  test("'truncated': Content-Length promises more than arrives", async () => {
    server.injectFault({ kind: 'truncated', target: 'GetItem' });
    await assert.rejects(get('present'), (e) => e.code === 'ECONNRESET' || /aborted/.test(e.message));
    // observe it byte by byte with node:http
    server.injectFault({ kind: 'truncated', target: 'GetItem' });
    const { headers, body } = await signRaw(server, 'GetItem', { TableName: T, Key: { sessionId: { S: 'present' } } });
    const url = new URL(server.endpoint);
    const seen = await new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', agent: false,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
      const timer = setTimeout(() => req.destroy(new Error('timeout')), 5000);
      req.on('error', reject);
      req.on('response', (res) => {
        let got = 0;
        res.on('data', (c) => { got += c.length; });
        res.on('error', (e) => { clearTimeout(timer); resolve({ got, declared: +res.headers['content-length'], code: e.code, status: res.statusCode }); });
        res.on('end', () => { clearTimeout(timer); resolve({ got, declared: +res.headers['content-length'], ended: true }); });
      });
      req.end(body);
    });
    assert.equal(seen.status, 200);
    assert.equal(seen.code, 'ECONNRESET');
    assert.ok(seen.got > 0 && seen.got < seen.declared, JSON.stringify(seen));
  });

  test("'bad-crc': real body, wrong x-amz-crc32", async () => {
    server.injectFault({ kind: 'bad-crc' });
    const r = await get('present');
    assert.equal(r.status, 200);
    assert.ok(r.body.Item);
    assert.notEqual(r.headers['x-amz-crc32'], String(crc32(JSON.stringify(r.body))));
    const ok = await get('present');
    assert.equal(ok.headers['x-amz-crc32'], String(crc32(JSON.stringify(ok.body))));
  });

  test("'oversized': 20 MB of valid JSON by default", async () => {
    server.injectFault({ kind: 'oversized' });
    const r = await rawPost(server, ...Object.values(await signRaw(server, 'GetItem',
      { TableName: T, Key: { sessionId: { S: 'present' } } })));
    assert.equal(r.status, 200);
    assert.equal(r.buf.length, 20 * 1024 * 1024);
    assert.equal(r.headers['content-length'], String(20 * 1024 * 1024));
    assert.equal(r.headers['x-amz-crc32'], String(crc32(r.buf)));
    assert.equal(r.json.Item.sessionId.S, 'oversized');
    server.injectFault({ kind: 'oversized', bytes: 4096 });
    const small = await get('present');
    assert.equal(JSON.stringify(small.body).length, 4096);
  });

  test("'forward: true' applies the write before a synthetic error", async () => {
    server.injectFault({ kind: 'status', status: 500, forward: true, target: 'PutItem' });
    const r = await put('fw');
    assert.equal(r.status, 500);
    assert.ok(await server.getItem(T, 'sessionId', 'fw'));
  });

  test('stats count faults and nothing was rejected', () => {
    assert.ok(server.stats.faults >= 15);
    assert.equal(server.stats.rejected, 0, server.stats.rejections.join('\n'));
  });
});

describe('cookie client', () => {
  let app;
  let httpServer;
  let base;
  before(async () => {
    const Koa = require('koa');
    const koaSession = require('koa-session');
    const session = typeof koaSession === 'function' ? koaSession : koaSession.default || koaSession.createSession;
    app = new Koa();
    app.keys = ['k1'];
    app.use(session({ key: 'koa.sess', maxAge: 60000 }, app));
    app.use(async (ctx) => {
      if (ctx.path === '/inc') {
        ctx.session.n = (ctx.session.n || 0) + 1;
        ctx.body = { n: ctx.session.n };
      } else if (ctx.path === '/clear') {
        ctx.session = null;
        ctx.body = { cleared: true };
      } else if (ctx.path === '/echo' && ctx.method === 'POST') {
        const chunks = [];
        for await (const ch of ctx.req) chunks.push(ch);
        ctx.body = { got: Buffer.concat(chunks).toString(), type: ctx.get('content-type') };
      } else {
        ctx.body = { n: ctx.session.n || 0 };
      }
    });
    httpServer = http.createServer(app.callback());
    httpServer.listen(0, '127.0.0.1');
    await new Promise((r) => httpServer.once('listening', r));
    base = `http://127.0.0.1:${httpServer.address().port}`;
  });
  after(async () => {
    await new Promise((r) => httpServer.close(r));
  });

  test('keeps koa-session cookies (incl. .sig) and deletes them on expiry', async () => {
    const c = createClient(base);
    assert.equal((await c.get('/inc')).json().n, 1);
    assert.deepEqual(Object.keys(c.cookies()).sort(), ['koa.sess', 'koa.sess.sig']);
    assert.equal((await c.get('/inc')).json().n, 2);
    assert.equal((await c.get('/')).json().n, 2);
    const r = await c.get('/clear');
    assert.ok(r.setCookies.some((s) => /koa\.sess=;.*expires=Thu, 01 Jan 1970/i.test(s)));
    assert.deepEqual(c.cookies(), {});
    assert.equal((await c.get('/')).json().n, 0);
    // a tampered cookie is refused by koa-session (the .sig no longer matches)
    await c.get('/inc');
    c.setCookie('koa.sess', c.cookies()['koa.sess'] + 'x');
    assert.equal((await c.get('/')).json().n, 0);
    c.clear();
    assert.deepEqual(c.cookies(), {});
  });

  test('Max-Age / Expires handling and a virtual clock', async () => {
    let t = Date.now();
    const c = createClient(base, { now: () => t });
    await c.get('/inc');
    assert.equal(Object.keys(c.cookies()).length, 2);
    t += 61000; // koa-session maxAge 60 s -> cookies expired
    assert.deepEqual(c.cookies(), {});
    const p = parseSetCookie('a=b; Max-Age=0; Expires=Wed, 01 Jan 2970 00:00:00 GMT', 1000);
    assert.equal(p.expires, 0, 'Max-Age wins over Expires');
    assert.equal(parseSetCookie('a=b; max-age=10; path=/x; HttpOnly', 1000).expires, 11000);
    assert.equal(parseSetCookie('a=b; path=/x', 0).path, '/x');
  });

  test('post bodies', async () => {
    const c = createClient(base);
    let r = await c.post('/echo', { a: 1 });
    assert.deepEqual(r.json(), { got: '{"a":1}', type: 'application/json' });
    r = await c.post('/echo', 'plain');
    assert.equal(r.json().got, 'plain');
  });

  test('200 concurrent clients', async () => {
    const clients = Array.from({ length: 200 }, () => createClient(base));
    await Promise.all(clients.map((c) => c.get('/inc')));
    const rs = await Promise.all(clients.map((c) => c.get('/inc')));
    rs.forEach((r) => assert.equal(r.json().n, 2));
  });
});

describe('lifecycle', () => {
  test('many servers start and close quickly; close is idempotent', async () => {
    const t0 = Date.now();
    const servers = await Promise.all(Array.from({ length: 5 }, () => startTestServer()));
    try {
      const ports = new Set(servers.map((s) => s.endpoint));
      assert.equal(ports.size, 5);
      for (const s of servers) assert.match(s.credentials.accessKeyId, /^AKIDTEST[0-9A-F]+$/);
      await Promise.all(servers.map(async (s) => {
        await s.createTable('xyz');
        const r = await s.send('ListTables', {});
        assert.deepEqual(r.body.TableNames, ['xyz']);
      }));
    } finally {
      await Promise.all(servers.map((s) => Promise.all([s.close(), s.close()])));
    }
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    await assert.rejects(servers[0].send('ListTables', {}), /closed/);
  });

  test('CLI prints one JSON line and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(__dirname, 'support', 'server.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 15000);
    try {
      const line = await new Promise((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d) => {
          buf += d;
          const i = buf.indexOf('\n');
          if (i !== -1) resolve(buf.slice(0, i));
        });
        child.on('exit', (code) => reject(new Error('exited early with ' + code)));
      });
      const info = JSON.parse(line);
      assert.match(info.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.region, 'us-east-1');
      const c = new DynamoDBClient({
        endpoint: info.endpoint, region: info.region, maxAttempts: 1,
        credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
      });
      try {
        const r = await c.send(new ListTablesCommand({}));
        assert.deepEqual(r.TableNames, []);
      } finally { c.destroy(); }
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      child.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null });
    } finally {
      clearTimeout(killTimer);
    }
  });
});
