'use strict';

// The benchmark's own parts that its numbers depend on: the fake DynamoDB server's fast PutItem
// scanner must read bodies exactly as JSON.parse does, and the server must give back, byte for
// byte, what a store wrote. Run: node --test test/bench.test.js

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const http = require('node:http');
const net = require('node:net');
const { fastPutItem, FAST_PUT_MIN } = require('../bench/lib/fast-put');
const rawHttp = require('../bench/lib/raw-http');
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

  test('a whole-session UpdateItem of 100 KB through the fast path keeps the other attributes and comes back equal', async () => {
    const item = sessionItem('whole', makeSession(102400, 5), 86400000);
    await post('PutItem', JSON.stringify({ TableName: 'sessions', Item: { ...item, createdAt: { N: '17' }, version: { N: '1' } } }));
    const next = makeSession(102400, 6);
    const value = sessionItem('whole', next, 86400000).session;
    const body = JSON.stringify({
      TableName: 'sessions', Key: { sessionId: { S: 'whole' } },
      UpdateExpression: 'SET #s = :s, #t = :t, #ver = :nv, #c = if_not_exists(#c, :c)',
      ConditionExpression: 'attribute_exists(#k) AND #ver = :ev',
      ExpressionAttributeNames: { '#s': 'session', '#t': 'expires', '#ver': 'version', '#c': 'createdAt', '#k': 'sessionId' },
      ExpressionAttributeValues: { ':t': { N: '99' }, ':nv': { N: '2' }, ':c': { N: '18' }, ':ev': { N: '1' }, ':s': value },
    });
    assert.ok(body.length > FAST_PUT_MIN);
    const r = await post('UpdateItem', body);
    assert.equal(r.status, 200, r.body.toString());
    const got = JSON.parse((await post('GetItem', JSON.stringify({ TableName: 'sessions', Key: { sessionId: { S: 'whole' } } }))).body.toString());
    assert.deepEqual(got.Item, { sessionId: { S: 'whole' }, session: value, expires: { N: '99' }, createdAt: { N: '17' }, version: { N: '2' } });
    // the condition is checked: the version is now 2
    const stale = await post('UpdateItem', body);
    assert.equal(stale.status, 400);
    assert.match(JSON.parse(stale.body.toString()).__type, /ConditionalCheckFailedException/);
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

describe('fake server: its HTTP/1.1 layer (bench/lib/raw-http.js)', () => {
  let server;
  let port;
  const seen = [];
  before(async () => {
    server = rawHttp.createServer((req, reply) => {
      seen.push(req);
      const delay = Number(req.headers['x-delay'] || 0);
      const answer = () => reply(200, [['Content-Type', 'text/plain'], ['X-Echo', req.url]], `${req.method} ${req.url} ${req.body.length}:${req.body.toString()}`);
      if (delay) setTimeout(answer, delay);
      else answer();
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = server.address().port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  // Sends raw bytes on one connection; resolves with everything received until the server closes
  // or `until` matches the received text.
  function exchange(chunks, { until, gapMs = 5 } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`timeout; got ${JSON.stringify(got)}`)); }, 5000);
      sock.on('data', (d) => {
        got += d.toString('latin1');
        if (until && until.test(got)) { clearTimeout(timer); sock.destroy(); resolve(got); }
      });
      sock.on('end', () => { clearTimeout(timer); resolve(got); });
      sock.on('error', reject);
      (async () => {
        for (const c of chunks) {
          sock.write(c);
          await new Promise((r) => setTimeout(r, gapMs));
        }
      })();
    });
  }

  test('node:http requests with keep-alive: many on one connection, bodies split across packets', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 20; i++) {
        const body = 'x'.repeat(i * 5000);
        const got = await new Promise((resolve, reject) => {
          const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: `/p${i}`, agent, headers: { 'content-length': body.length } }, (res) => {
            let t = '';
            res.on('data', (d) => { t += d; });
            res.on('end', () => resolve({ status: res.statusCode, echo: res.headers['x-echo'], t }));
          });
          req.on('error', reject);
          req.end(body);
        });
        assert.deepEqual(got, { status: 200, echo: `/p${i}`, t: `POST /p${i} ${body.length}:${body}` });
      }
    } finally {
      agent.destroy();
    }
  });

  test('chunked request bodies, with chunk extensions and trailers', async () => {
    const req = 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n';
    const got = await exchange([req.slice(0, 40), req.slice(40, 70), req.slice(70)], { until: /hello world$/ });
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(got, /Content-Length: 22\r\n/);
    assert.match(got, /\r\n\r\nPOST \/c 11:hello world$/);
  });

  test('Expect: 100-continue gets a 100 Continue before the body is sent', async () => {
    const got = await exchange(['POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n', 'abc'], { until: /abc$/, gapMs: 50 });
    assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  });

  test('pipelined requests are answered in order even when the first answer comes last', async () => {
    const a = 'POST /slow HTTP/1.1\r\nHost: x\r\nX-Delay: 60\r\nContent-Length: 1\r\n\r\nA';
    const b = 'POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nB';
    const got = await exchange([a + b], { until: /POST \/fast 1:B$/ });
    assert.ok(got.indexOf('/slow 1:A') < got.indexOf('/fast 1:B'), got);
  });

  test('Connection: close ends the connection after the answer; HTTP/1.0 too', async () => {
    const got = await exchange(['POST /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n']);
    assert.match(got, /Connection: close\r\n/);
    assert.match(got, /POST \/x 0:$/);
    const old = await exchange(['POST /y HTTP/1.0\r\nContent-Length: 2\r\n\r\nok']);
    assert.match(old, /POST \/y 2:ok$/);
  });

  test('malformed requests get 400 and the connection is closed', async () => {
    const before = seen.length;
    for (const bad of ['NOT HTTP\r\n\r\n', 'POST / HTTP/1.1\r\nNoColonHere\r\n\r\n', 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']) {
      const got = await exchange([bad]);
      assert.match(got, /^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close/, JSON.stringify(bad));
    }
    assert.equal(seen.length, before, 'no malformed request reached the handler');
  });
});
