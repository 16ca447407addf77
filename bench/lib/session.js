'use strict';
// Realistic koa-session session objects of a target JSON size, generated deterministically so
// every store writes (and the populate step pre-loads) byte-identical sessions.

const MAX_AGE = 86400000; // koa-session's default maxAge: one day, in ms
const SIZES = { '1KB': 1024, '100KB': 100 * 1024 };

// mulberry32: a small, fast, seedable PRNG (deterministic workloads across stores).
function rng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function token(next, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[Math.floor(next() * ALNUM.length)];
  return s;
}

const PAGES = ['/', '/products', '/products/search', '/cart', '/checkout', '/account', '/account/orders', '/help'];

function historyEntry(next, i) {
  return {
    path: `${PAGES[i % PAGES.length]}/${Math.floor(next() * 100000)}`,
    at: 1700000000000 + i * 1337,
    ms: Math.round(next() * 5000) / 10,
    ok: next() > 0.05,
    tags: ['web', i % 3 === 0 ? 'search' : 'browse'],
  };
}

// A session like a koa app keeps: user profile, preferences, cart, CSRF token, flash, counters,
// a browsing history that carries the bulk for large sessions, plus koa-session's _expire/_maxAge.
function makeSession(targetBytes, seed = 1) {
  const next = rng(seed * 7919 + targetBytes);
  const sess = {
    user: {
      id: 100000 + seed,
      name: 'Ada Lovelace',
      email: `ada.${seed}@example.com`,
      roles: ['user', 'editor'],
      verified: true,
      prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London', notifications: { email: true, sms: false } },
    },
    csrf: token(next, 32),
    cart: [
      { sku: 'SKU-1001', qty: 2, price: 19.99, title: 'Analytical engine gear set' },
      { sku: 'SKU-2040', qty: 1, price: 149.5, title: 'Punched card reader' },
    ],
    flash: null,
    views: 1,
    lastSeen: 1700000000000 + seed,
    history: [],
    note: '',
    _expire: 1700000000000 + MAX_AGE,
    _maxAge: MAX_AGE,
  };
  let len = JSON.stringify(sess).length;
  // Grow the history until the next entry would overshoot; then pad `note` to land on the target.
  for (let i = 0; ; i++) {
    const e = historyEntry(next, i);
    const add = JSON.stringify(e).length + (sess.history.length ? 1 : 0);
    if (len + add > targetBytes) break;
    sess.history.push(e);
    len += add;
  }
  if (len < targetBytes) sess.note = token(next, targetBytes - len);
  return sess;
}

// The object koa-session would hand to store.set on a later request: same session, touched.
function touched(base, n, now = Date.now()) {
  return { ...base, views: n, lastSeen: now, _expire: now + MAX_AGE };
}

module.exports = { MAX_AGE, SIZES, rng, makeSession, touched };
