'use strict';

// The benchmark's own parts that its numbers depend on: the fake DynamoDB server's fast PutItem
// scanner must read bodies exactly as JSON.parse does, and the server must give back, byte for
// byte, what a store wrote. Run: node --test test/bench.test.js

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const http = require('node:http');
const { fastPutItem, FAST_PUT_MIN } = require('../bench/lib/fast-put');
const { rng, makeSession } = require('../bench/lib/session');
const { sessionItem } = require('../bench/lib/ddb-json');
const { startServer } = require('../bench/lib/children');
const { ensureTable, CREDENTIALS } = require('../bench/lib/setup');
const DynamoDBStore = require('..');

// Random JSON values with the things a scanner can get wrong: escaped quotes and backslashes,
// brackets inside strings, unicode, deep nesting, empty containers, numbers and literals.
function randomValue(next, depth = 0) {
  const r = next();
  if (depth > 5 || r < 0.35) {
    const pick = Math.floor(next() * 9);
    const strings = ['', 'plain', 'q"uote', 'back\\slash\\', '\\"', '{[}]', 'é✓😀', 'ctl\n\t\u0001', '"}]'];
    if (pick < 5) return strings[Math.floor(next() * strings.length)] + 'x'.repeat(Math.floor(next() * 40));
    if (pick === 5) return Math.floor(next() * 1e6) / 100;
    if (pick === 6) return next() < 0.5;
    if (pick === 7) return null;
    return -1e21 * next();
  }
  if (r < 0.65) return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth + 1));
  const o = {};
  for (let i = Math.floor(next() * 6); i > 0; i--) o[`k${Math.floor(next() * 100)}"\\{`] = randomValue(next, depth + 1);
  return o;
}

// JSON text with random whitespace between tokens (JSON.stringify with indentation, and tabs/CRs).
function spaced(value, next) {
  const indent = [0, 1, 2, '\t', ' \r '][Math.floor(next() * 5)];
  return JSON.stringify(value, null, indent);
}

describe('fake server: the fast PutItem scanner', () => {
  test('agrees with JSON.parse on 300 random bodies', () => {
    const next = rng(42);
    for (let n = 0; n < 300; n++) {
      const item = {
        sessionId: { S: `key-${n}"\\` },
        session: { M: { data: randomValue(next), pad: { S: 'p'.repeat(FAST_PUT_MIN) } } },
        expires: { N: String(1700000000 + n) },
      };
      if (n % 3 === 0) item.extra = { L: [randomValue(next)] };
      const req = { TableName: 'sessions', Item: item };
      if (n % 2) req.ReturnValues = 'ALL_OLD';
      if (n % 5 === 0) req.ConditionExpression = 'attribute_not_exists(#k)';
      const body = Buffer.from(spaced(req, next));
      const fast = fastPutItem(body);
      assert.ok(fast, `body ${n} was declined`);
      const full = JSON.parse(body.toString());
      assert.deepEqual(JSON.parse(fast.itemText.toString()), full.Item, `body ${n}: Item text`);
      for (const k of Object.keys(full)) if (k !== 'Item') assert.deepEqual(fast[k], full[k], `body ${n}: ${k}`);
      assert.deepEqual(fast.Item.sessionId, full.Item.sessionId);
      assert.deepEqual(fast.Item.expires, full.Item.expires);
      assert.deepEqual(Object.keys(fast.Item), Object.keys(full.Item));
    }
  });

  test('declines malformed bodies (so JSON.parse reports them)', () => {
    const good = JSON.stringify({ TableName: 't', Item: { sessionId: { S: 'a' }, session: { S: 'x'.repeat(5000) } } });
    assert.ok(fastPutItem(Buffer.from(good)));
    const bad = [
      good.slice(0, -1), // truncated
      good.slice(0, 3000), // truncated inside a string
      `${good}x`, // trailing garbage
      `${good},{}`,
      `[${good}]`, // not an object
      good.replace('"Item":', '"Item"'), // missing colon
      good.replace('},"session"', '} "session"'), // missing comma
      good.replace('{"sessionId"', '{sessionId'), // unquoted name
    ];
    for (const b of bad) {
      let r;
      try {
        r = fastPutItem(Buffer.from(b));
      } catch {
        r = null; // JSON.parse of a member threw: reported as a SerializationException too
      }
      assert.equal(r, null, b.slice(0, 60));
    }
  });
});

describe('fake server: what is written is read back', () => {
  let server;
  before(async () => {
    server = await startServer({ kind: 'fake' });
    await ensureTable(server.endpoint);
  });
  after(() => server && server.stop());

  function post(op, body) {
    const u = new URL(server.endpoint);
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: u.hostname, port: u.port, method: 'POST', path: '/', agent: false,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${op}`, authorization: 'AWS4-HMAC-SHA256 x' },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('a 100 KB item through the fast path and a small one through JSON.parse come back equal, with a correct crc32', async () => {
    for (const [key, size] of [['big', 102400], ['small', 1024]]) {
      const item = sessionItem(key, makeSession(size, 7), 86400000);
      const body = JSON.stringify({ TableName: 'sessions', Item: item }, null, size > 2000 ? 1 : 0);
      assert.equal(body.length > FAST_PUT_MIN, size > 2000);
      const put = await post('PutItem', body);
      assert.equal(put.status, 200, put.body.toString());
      const got = await post('GetItem', JSON.stringify({ TableName: 'sessions', Key: { sessionId: { S: key } } }));
      assert.equal(got.status, 200);
      assert.equal(Number(got.headers['x-amz-crc32']), zlib.crc32(got.body));
      assert.deepEqual(JSON.parse(got.body.toString()), { Item: item });
      // ALL_OLD gives the previous item back
      const again = await post('PutItem', JSON.stringify({ TableName: 'sessions', Item: item, ReturnValues: 'ALL_OLD' }));
      assert.deepEqual(JSON.parse(again.body.toString()), { Attributes: item });
    }
  });

  test('a malformed large PutItem body gets a SerializationException and writes nothing', async () => {
    const body = JSON.stringify({ TableName: 'sessions', Item: { sessionId: { S: 'broken' }, session: { S: 'x'.repeat(6000) } } });
    const r = await post('PutItem', body.slice(0, -2));
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body.toString()).__type, /SerializationException/);
    const got = await post('GetItem', JSON.stringify({ TableName: 'sessions', Key: { sessionId: { S: 'broken' } } }));
    assert.deepEqual(JSON.parse(got.body.toString()), {});
  });

  test('the native store round-trips 1 KB and 100 KB sessions through the fake server', async () => {
    const store = new DynamoDBStore({ table: { name: 'sessions' }, dynamoConfig: { ...CREDENTIALS, endpoint: server.endpoint } });
    try {
      for (const size of [1024, 102400]) {
        const sess = makeSession(size, 11);
        await store.set(`native-${size}`, sess, 86400000);
        assert.deepEqual(await store.get(`native-${size}`, 86400000), sess);
        await store.destroy(`native-${size}`);
        assert.equal(await store.get(`native-${size}`, 86400000), undefined);
      }
    } finally {
      await store.close();
    }
  });
});
