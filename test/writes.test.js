'use strict';
// lib/writes.js: which write a koa-session save becomes (pure). The behaviour over HTTP, with real
// koa-session and parallel requests, is in test/parallel.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const { planSave } = require('../lib/writes');

const NOW = 1_800_000_000_000;
const read = (sess, version = 4) => ({ version, text: JSON.stringify(sess) });
const base = { user: 'ana', cart: [1, 2], _expire: NOW + 60_000 - 5_000, _maxAge: 60_000 };

test('nothing read for the key: the whole session, unconditional, version 1', () => {
  for (const mode of ['merge', 'strict', 'overwrite']) {
    assert.deepEqual(planSave({ mode, read: null, sess: base, now: NOW, touchAfterMs: 0 }),
      { kind: 'put', requireExists: false, newVersion: 1, expectVersion: -2 });
  }
});

test('overwrite: the whole session, on condition that the item still exists', () => {
  assert.deepEqual(planSave({ mode: 'overwrite', read: read(base), sess: { ...base, user: 'bo' }, now: NOW, touchAfterMs: 0 }),
    { kind: 'put', requireExists: true, newVersion: 5, expectVersion: -2 });
  // an item written by the 1.x package has no version
  assert.equal(planSave({ mode: 'overwrite', read: read(base, -1), sess: base, now: NOW, touchAfterMs: 0 }).newVersion, 1);
});

test('merge: only the fields that changed or were removed, versioned, on condition that the item exists', () => {
  const sess = { ...base, cart: [1, 2, 3], theme: 'dark', _expire: NOW + 60_000 };
  delete sess.user;
  const p = planSave({ mode: 'merge', read: read(base), sess, now: NOW, touchAfterMs: 0 });
  assert.equal(p.kind, 'update');
  assert.deepEqual(JSON.parse(p.set), { cart: [1, 2, 3], theme: 'dark', _expire: NOW + 60_000 });
  assert.deepEqual(JSON.parse(p.remove), ['user']);
  assert.equal(p.versioned, true);
  assert.equal(p.requireExists, true);
  assert.equal(p.expectVersion, -2);
  assert.equal(p.touch, false);
});

test('strict: the same update, on condition that the version is the one read (or absent for a 1.x item)', () => {
  const sess = { ...base, user: 'bo' };
  assert.equal(planSave({ mode: 'strict', read: read(base, 7), sess, now: NOW, touchAfterMs: 0 }).expectVersion, 7);
  assert.equal(planSave({ mode: 'strict', read: read(base, -1), sess, now: NOW, touchAfterMs: 0 }).expectVersion, -1);
});

test('a change inside a nested value is a change of its top-level field; field order does not matter', () => {
  const r = read({ a: { b: 1, c: [1] }, d: 1 });
  const p = planSave({ mode: 'merge', read: r, sess: { d: 1, a: { b: 1, c: [1, 2] } }, now: NOW, touchAfterMs: 0 });
  assert.deepEqual(JSON.parse(p.set), { a: { b: 1, c: [1, 2] } });
  assert.equal(p.remove, null);
});

test('only the expiry fields changed: a touch (expiry only, not versioned), skipped inside touchAfter', () => {
  const sess = { ...base, _expire: NOW + 60_000 };
  const touch = planSave({ mode: 'strict', read: read(base), sess, now: NOW, touchAfterMs: 0 });
  assert.equal(touch.kind, 'update');
  assert.equal(touch.touch, true);
  assert.equal(touch.versioned, false);
  assert.equal(touch.expectVersion, -2);
  assert.deepEqual(JSON.parse(touch.set), { _expire: NOW + 60_000 });
  // stored expiry written 5 s ago (_expire - _maxAge): inside a 300 s window, nothing is written
  assert.deepEqual(planSave({ mode: 'merge', read: read(base), sess, now: NOW, touchAfterMs: 300_000 }), { kind: 'skip' });
  // outside it, the touch is written
  assert.equal(planSave({ mode: 'merge', read: read(base), sess, now: NOW + 300_000, touchAfterMs: 300_000 }).kind, 'update');
  // unknown write time (no _expire/_maxAge, e.g. maxAge 'session'): written
  const plain = { user: 'ana' };
  assert.equal(planSave({ mode: 'merge', read: read(plain), sess: { ...plain }, now: NOW, touchAfterMs: 300_000 }).kind, 'update');
  // a real change is never skipped, whatever touchAfter says
  assert.equal(planSave({ mode: 'merge', read: read(base), sess: { ...sess, user: 'bo' }, now: NOW, touchAfterMs: 300_000 }).touch, false);
});

test('a read that was not a session object: the whole session', () => {
  assert.equal(planSave({ mode: 'merge', read: { version: 1, text: '[1]' }, sess: base, now: NOW, touchAfterMs: 0 }).kind, 'put');
  assert.equal(planSave({ mode: 'merge', read: { version: 1, text: 'not json' }, sess: base, now: NOW, touchAfterMs: 0 }).requireExists, true);
});
