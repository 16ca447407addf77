'use strict';
// Compression and encryption of stored sessions (options compress and encrypt), against the
// signature-checking test server: round trips of many random sessions through each mode against
// the plain path, what is in the table (no plaintext of an encrypted session anywhere), blobs
// altered or moved (they read as no session, counted), key rotation, the compression threshold,
// turning the options on and off, and parallel requests of one blob-stored session.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer, storeOptions } = require('./helpers');
const DynamoDBStore = require('..');

const HOUR_MS = 3600 * 1000;
const KEY_A = crypto.createHash('sha256').update('test key a').digest();
const KEY_B = crypto.createHash('sha256').update('test key b').digest();

/** A deterministic pseudo-random generator (xorshift32). */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

const WORDS = ['cart', 'sku', 'name', 'qty', 'price', 'Grüße', '日本', 'a.b', 'x y', '#s', ':v0', 'emoji 😀', ''];
function randomValue(r, depth) {
  const k = Math.floor(r() * (depth > 3 ? 4 : 7));
  switch (k) {
    case 0: return Math.floor(r() * 1e6) / (r() < 0.5 ? 1 : 100);
    case 1: return WORDS[Math.floor(r() * WORDS.length)].repeat(1 + Math.floor(r() * 20));
    case 2: return r() < 0.5;
    case 3: return null;
    case 4: return Array.from({ length: Math.floor(r() * 6) }, () => randomValue(r, depth + 1));
    default: {
      const o = {};
      for (let i = Math.floor(r() * 6); i > 0; i--) o[`${WORDS[Math.floor(r() * WORDS.length)]}${i}`] = randomValue(r, depth + 1);
      return o;
    }
  }
}
/** A session of about `bytes` bytes of JSON: random fields plus a cart of that size. */
function randomSession(r, bytes) {
  const sess = { user: `u${Math.floor(r() * 1000)}`, misc: randomValue(r, 0), cart: [] };
  while (JSON.stringify(sess).length < bytes) sess.cart.push({ sku: `SKU-${Math.floor(r() * 1e6)}`, name: `Product ${Math.floor(r() * 500)}`, qty: 1 + Math.floor(r() * 4), note: randomValue(r, 2) });
  return sess;
}

const MODES = {
  plain: {},
  compress: { compress: { threshold: 256 } },
  encrypt: { encrypt: { keys: { a: KEY_A }, current: 'a' } },
  both: { compress: true, encrypt: { keys: { a: KEY_A }, current: 'a' } },
};

test('round trips of random sessions: compress, encrypt and both give back what the plain path gives', async (t) => {
  const server = await useServer(t);
  const stores = Object.fromEntries(Object.entries(MODES).map(([m, o]) => [m, server.store({ table: { name: `t_${m}` }, ...o })]));
  for (const s of Object.values(stores)) await s.createTableIfDontExists();
  const r = rng(14);
  const sizes = [0, 10, 200, 255, 256, 257, 1023, 1024, 1025, 5000, 30000, 120000];
  let n = 0;
  for (let i = 0; i < 60; i++) {
    const size = sizes[i % sizes.length];
    const sess = size === 0 ? {} : randomSession(r, size);
    const key = `k${i}`;
    for (const s of Object.values(stores)) await s.set(key, sess, HOUR_MS);
    const want = await stores.plain.get(key);
    assert.deepEqual(want, JSON.parse(JSON.stringify(sess)));
    for (const m of ['compress', 'encrypt', 'both']) assert.deepEqual(await stores[m].get(key), want, `${m}, ${size} bytes`);
    n++;
  }
  assert.equal(n, 60);
  // what is stored: a map for small sessions (compress), a blob otherwise; never plaintext encrypted
  const forms = {};
  for (const m of Object.keys(MODES)) {
    const items = await server.scan(`t_${m}`);
    forms[m] = items.map((it) => Object.keys(it.session)[0]);
  }
  assert.ok(forms.plain.every((f) => f === 'M'));
  assert.ok(forms.encrypt.every((f) => f === 'B') && forms.both.every((f) => f === 'B'));
  assert.ok(forms.compress.includes('M') && forms.compress.includes('B'));
  for (const s of Object.values(stores)) assert.equal(s.stats().unreadable, 0);
});

test('no plaintext of an encrypted session anywhere in the table', async (t) => {
  const server = await useServer(t);
  const store = server.store({ encrypt: { keys: { a: KEY_A }, current: 'a' } });
  await store.createTableIfDontExists();
  const secret = 'Sensitive-Marker-7Q2';
  await store.set('s1', { note: secret, nested: { deep: [secret, 'ok'] }, [secret]: 1 }, HOUR_MS);
  await store.set('s2', { note: secret.repeat(400) }, HOUR_MS);
  const dump = JSON.stringify(await server.scan('sessions'));
  assert.ok(!dump.includes(secret), 'the marker is not in any attribute');
  for (const item of await server.scan('sessions')) {
    const blob = Buffer.from(item.session.B, 'base64');
    assert.ok(!blob.includes(Buffer.from(secret)), 'nor in any blob');
    assert.ok(!blob.includes(Buffer.from(secret.slice(0, 8))), 'nor a part of it');
  }
  assert.equal((await store.get('s1')).note, secret);
});

test('a blob with one byte flipped, or moved to another key or table, reads as no session and is counted', async (t) => {
  const server = await useServer(t);
  const enc = { encrypt: { keys: { a: KEY_A }, current: 'a' } };
  const store = server.store(enc);
  const other = server.store({ table: { name: 'other' }, ...enc });
  await store.createTableIfDontExists();
  await other.createTableIfDontExists();
  await store.set('alice', { user: 'alice', role: 'admin' }, HOUR_MS);
  await store.set('bob', { user: 'bob' }, HOUR_MS);
  const item = await server.getItem('sessions', 'sessionId', 'alice');
  const blob = Buffer.from(item.session.B, 'base64');
  // every byte position, flipped one at a time (a sample of positions for longer blobs)
  const positions = [...new Set([0, 1, 2, 3, blob.length - 1, ...Array.from({ length: 24 }, (_, i) => Math.floor(i * blob.length / 24))])];
  let refused = 0;
  for (const p of positions) {
    const bad = Buffer.from(blob);
    bad[p] ^= 0x01;
    await server.putItem('sessions', { ...item, session: { B: bad.toString('base64') } });
    assert.equal(await store.get('alice'), undefined, `byte ${p} flipped`);
    refused++;
  }
  assert.equal(store.stats().unreadable, refused);
  // truncated
  await server.putItem('sessions', { ...item, session: { B: blob.subarray(0, blob.length - 1).toString('base64') } });
  assert.equal(await store.get('alice'), undefined);
  // alice's blob copied onto bob's key: bob does not get alice's session
  await server.putItem('sessions', { ...item, sessionId: { S: 'bob' } });
  assert.equal(await store.get('bob'), undefined, 'moved to another key');
  // into another table with the same key set
  await server.putItem('other', item);
  assert.equal(await other.get('alice'), undefined, 'moved to another table');
  // the original still reads
  await server.putItem('sessions', item);
  assert.deepEqual(await store.get('alice'), { user: 'alice', role: 'admin' });
  // the failed reads never failed the request: a koa request of such a session starts a new one
  assert.ok(store.stats().unreadable >= refused + 2);
});

test('key rotation: older keys still decrypt, writes use current; a retired key is no longer accepted', async (t) => {
  const server = await useServer(t);
  const v1 = server.store({ encrypt: { keys: { a: KEY_A }, current: 'a' } });
  await v1.createTableIfDontExists();
  await v1.set('old', { written: 'with a' }, HOUR_MS);
  const v2 = server.store({ encrypt: { keys: { a: KEY_A, b: KEY_B.toString('base64') }, current: 'b' } });
  assert.deepEqual(await v2.get('old'), { written: 'with a' }, 'the old key decrypts');
  await v2.set('new', { written: 'with b' }, HOUR_MS);
  await v2.set('old', { written: 'again, with b' }, HOUR_MS);
  assert.equal(await v1.get('new'), undefined, 'a store without key b cannot read it');
  const v3 = server.store({ encrypt: { keys: { b: KEY_B }, current: 'b' } });
  assert.deepEqual(await v3.get('old'), { written: 'again, with b' }, 'rewritten with the current key');
  assert.deepEqual(await v3.get('new'), { written: 'with b' });
  await v1.set('left', { written: 'with a' }, HOUR_MS);
  assert.equal(await v3.get('left'), undefined, 'key a retired');
  assert.equal(v3.stats().unreadable, 1);
});

test('the compression threshold: a session of threshold bytes stays a map, one byte more is compressed', async (t) => {
  const server = await useServer(t);
  const threshold = 300;
  const store = server.store({ compress: { threshold } });
  await store.createTableIfDontExists();
  const sized = (n) => { const s = { pad: '' }; s.pad = 'ab'.repeat(n).slice(0, n - JSON.stringify(s).length); return s; };
  const at = sized(threshold);
  const over = sized(threshold + 1);
  assert.equal(Buffer.byteLength(JSON.stringify(at)), threshold);
  assert.equal(Buffer.byteLength(JSON.stringify(over)), threshold + 1);
  await store.set('at', at, HOUR_MS);
  await store.set('over', over, HOUR_MS);
  assert.ok((await server.getItem('sessions', 'sessionId', 'at')).session.M, 'at the threshold: a map');
  assert.ok((await server.getItem('sessions', 'sessionId', 'over')).session.B, 'over it: a blob');
  // multi-byte characters count as bytes
  const wide = { pad: 'é'.repeat(150) }; // 310 bytes of JSON, 160 characters
  await store.set('wide', wide, HOUR_MS);
  assert.ok((await server.getItem('sessions', 'sessionId', 'wide')).session.B);
  assert.deepEqual(await store.get('wide'), wide);
});

test('turning compression on and off is safe: every store reads both forms', async (t) => {
  const server = await useServer(t);
  const on = server.store({ compress: { threshold: 10 } });
  const off = server.store();
  await on.createTableIfDontExists();
  const sess = { items: Array.from({ length: 50 }, (_, i) => ({ i, name: `item ${i}` })) };
  await on.set('z', sess, HOUR_MS);
  assert.ok((await server.getItem('sessions', 'sessionId', 'z')).session.B);
  assert.deepEqual(await off.get('z'), sess, 'a store without compress reads a compressed item');
  await off.set('p', sess, HOUR_MS);
  assert.deepEqual(await on.get('p'), sess, 'and the other way round');
  // a plain (1.x) item in an encrypting store still reads, and is encrypted by its next write
  const enc = server.store({ encrypt: { keys: { a: KEY_A }, current: 'a' } });
  assert.deepEqual(await enc.get('p'), sess);
  await enc.set('p', { ...sess, more: 1 }, HOUR_MS);
  assert.ok((await server.getItem('sessions', 'sessionId', 'p')).session.B);
});

test('parallel requests of one encrypted session: merge keeps both changes, a destroyed session stays destroyed', async (t) => {
  const server = await useServer(t);
  const store = server.store({ encrypt: { keys: { a: KEY_A }, current: 'a' } });
  await store.createTableIfDontExists();
  await store.set('s', { user: 'ana', n: 0 }, HOUR_MS);
  const ctxA = {};
  const ctxB = {};
  const a = await store.get('s', HOUR_MS, { ctx: ctxA });
  const b = await store.get('s', HOUR_MS, { ctx: ctxB });
  await store.set('s', { ...a, fromA: 1 }, HOUR_MS, { ctx: ctxA });
  await store.set('s', { ...b, fromB: 2 }, HOUR_MS, { ctx: ctxB }); // wrote after A: merged onto A's
  assert.deepEqual(await store.get('s'), { user: 'ana', n: 0, fromA: 1, fromB: 2 });
  assert.ok(store.stats().conflicts >= 1);
  // strict: the second one is a SessionConflict
  const strict = server.store({ concurrency: 'strict', encrypt: { keys: { a: KEY_A }, current: 'a' } });
  const c1 = {};
  const c2 = {};
  const x = await strict.get('s', HOUR_MS, { ctx: c1 });
  const y = await strict.get('s', HOUR_MS, { ctx: c2 });
  await strict.set('s', { ...x, one: 1 }, HOUR_MS, { ctx: c1 });
  await assert.rejects(strict.set('s', { ...y, two: 2 }, HOUR_MS, { ctx: c2 }), { code: 'SessionConflict' });
  // a logout meanwhile: the slow request's save does not bring it back
  const slow = {};
  const s0 = await store.get('s', HOUR_MS, { ctx: slow });
  await store.destroy('s');
  await store.set('s', { ...s0, late: true }, HOUR_MS, { ctx: slow });
  assert.equal(await store.get('s'), undefined);
  assert.equal(await server.getItem('sessions', 'sessionId', 's'), undefined);
});

test('options: bad compress and encrypt values are refused with the option named, keys never in messages or inspect', async () => {
  const base = { dynamoConfig: { region: 'us-east-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x'.repeat(40) } };
  const make = (o) => () => new DynamoDBStore({ ...base, ...o });
  assert.throws(make({ compress: 'yes' }), /option compress/);
  assert.throws(make({ compress: { threshold: -1 } }), /compress\.threshold/);
  assert.throws(make({ compress: { level: 30 } }), /compress\.level/);
  assert.throws(make({ compress: { fast: true } }), /compress\.fast/);
  assert.throws(make({ encrypt: { keys: {}, current: 'a' } }), /encrypt\.keys/);
  assert.throws(make({ encrypt: { keys: { a: Buffer.alloc(16) }, current: 'a' } }), /32 bytes/);
  assert.throws(make({ encrypt: { keys: { a: 'not base64!' }, current: 'a' } }), /base64/);
  assert.throws(make({ encrypt: { keys: { a: KEY_A }, current: 'b' } }), /encrypt\.current/);
  assert.throws(make({ encrypt: { keys: { 'bad id': KEY_A }, current: 'bad id' } }), /key id/);
  const hex = KEY_A.toString('hex');
  const b64 = KEY_A.toString('base64');
  for (const f of [make({ encrypt: { keys: { a: KEY_A.subarray(0, 31) }, current: 'a' } }), make({ encrypt: { keys: { a: b64.slice(1) }, current: 'a' } })]) {
    try { f(); assert.fail('should throw'); } catch (err) {
      assert.ok(!err.message.includes(hex) && !err.message.includes(b64) && !err.message.includes(b64.slice(1)));
    }
  }
  const store = new DynamoDBStore(storeOptions({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x'.repeat(40) } }, { encrypt: { keys: { a: KEY_A }, current: 'a' } }));
  const shown = require('node:util').inspect(store, { depth: 10, showHidden: true }) + JSON.stringify(store);
  assert.ok(!shown.includes(hex) && !shown.includes(b64));
  await store.close();
});
