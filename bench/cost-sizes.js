#!/usr/bin/env node
'use strict';
// What a session costs by size (issue 14): DynamoDB capacity units and bytes per 1,000 koa-session
// requests, and the CPU per request, for 1 KB, 10 KB and 100 KB sessions of two kinds (a shopping
// cart, a user profile), for this store plain, with compress, with compress + encrypt, and the v3
// store (bench/stores/sdk-v3.js, a careful AWS SDK v3 user's store).
//
//   node bench/cost-sizes.js [--quick] [--repeats N] [--lanes N] [--rolling] [--write]
// --quick: fewer requests and one repeat, a fast check; prints only (writes no file).
// --write: the table also goes into the README (cost-sizes markers), when they are there.
//
// dynalite (bench/lib/dynalite-child.js) runs in a child process behind a counting proxy that runs
// in another child (this file with --proxy-child): per DynamoDB operation it counts requests, the
// bytes of the request bodies as the client sent them, the bytes of the answers, and the capacity
// units of ReturnConsumedCapacity TOTAL (which it adds to the request when the client did not ask:
// the v3 store). Real koa + koa-session over real HTTP in this process; CPU/op is this process's
// process.cpuUsage() (every thread), so neither dynalite nor the proxy is in it.
//
// Also used by bench/cost.js: createCountingProxy() and makeSession() are exported.
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');

// ───────────────────────── deterministic, realistic sessions ─────────────────────────

/** mulberry32: a small seeded PRNG, the same numbers on every run and for every store. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(next() * list.length)];
  return { next, int, pick, chance: (p) => next() < p };
}

const BRANDS = ['Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Wingtip', 'Adventure Works', 'Litware', 'Proseware', 'Alpine Ski House', 'Coho'];
const ADJECTIVES = ['Classic', 'Slim', 'Organic', 'Wireless', 'Waterproof', 'Vintage', 'Compact', 'Premium', 'Ultralight', 'Ergonomic', 'Recycled', 'Insulated'];
const NOUNS = [
  ['Running Shoe', 'apparel/shoes', 'RSH'], ['Backpack', 'bags/backpacks', 'BPK'], ['Coffee Grinder', 'home/kitchen', 'CGR'],
  ['Desk Lamp', 'home/lighting', 'DLP'], ['Rain Jacket', 'apparel/outerwear', 'RJK'], ['Water Bottle', 'sports/hydration', 'WBT'],
  ['Headphones', 'electronics/audio', 'HPH'], ['Yoga Mat', 'sports/fitness', 'YMT'], ['Chef Knife', 'home/kitchen', 'CKN'],
  ['Notebook', 'office/paper', 'NTB'], ['Hoodie', 'apparel/tops', 'HOD'], ['Sunglasses', 'apparel/accessories', 'SGL'],
  ['Phone Case', 'electronics/accessories', 'PCS'], ['Throw Pillow', 'home/decor', 'TPW'], ['Tent', 'sports/camping', 'TNT'],
];
const COLORS = ['Black', 'White', 'Navy', 'Olive', 'Grey', 'Red', 'Sand', 'Forest Green', 'Charcoal', 'Sky Blue'];
const SIZES_APPAREL = ['XS', 'S', 'M', 'L', 'XL'];
const FIRST = ['Anna', 'Ben', 'Chloé', 'David', 'Emma', 'Felix', 'Grace', 'Hugo', 'Isabel', 'Jonas', 'Karin', 'Liam', 'Mia', 'Noah', 'Olivia', 'Paul'];
const LAST = ['Schmidt', 'Johnson', 'Martin', 'Rossi', 'Novak', 'Garcia', 'Müller', 'Dubois', 'Kowalski', 'Jansen', 'Larsen', 'Brown'];
const CITIES = [['Berlin', '10115', 'DE'], ['Hamburg', '20095', 'DE'], ['Paris', '75011', 'FR'], ['Lyon', '69002', 'FR'], ['Amsterdam', '1012', 'NL'],
  ['Vienna', '1010', 'AT'], ['Zurich', '8001', 'CH'], ['Milan', '20121', 'IT'], ['Madrid', '28004', 'ES'], ['London', 'EC1A 1BB', 'GB']];
const STREETS = ['Hauptstraße', 'Rue de la Paix', 'Keizersgracht', 'Via Roma', 'Calle Mayor', 'High Street', 'Bahnhofstraße', 'Oak Avenue'];
const WORDS = ['please', 'leave', 'the', 'parcel', 'at', 'door', 'with', 'neighbour', 'gift', 'wrap', 'happy', 'birthday', 'thanks', 'for',
  'everything', 'ring', 'twice', 'back', 'entrance', 'after', '6pm', 'weekdays', 'only', 'no', 'invoice', 'in', 'box'];
const SEARCHES = ['waterproof jacket', 'running shoes men', 'coffee grinder manual', 'yoga mat thick', 'usb-c headphones', 'tent 2 person',
  'desk lamp led', 'gift for dad', 'hoodie organic cotton', 'water bottle insulated', 'chef knife 20cm', 'backpack laptop 15'];

const EPOCH = Date.UTC(2026, 10, 2, 9, 0, 0); // every timestamp is this plus a seeded offset: no clock in the data
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const money = (x) => Math.round(x * 100) / 100;
const token = (r, n) => { let s = ''; const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'; for (let i = 0; i < n; i++) s += abc[r.int(0, 63)]; return s; };
const slug = (s) => s.toLowerCase().normalize('NFD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** A catalogue of 400 products, the same on every run: sessions refer to its products again and again. */
const CATALOGUE = (() => {
  const r = prng(14);
  return Array.from({ length: 400 }, (_, i) => {
    const [noun, category, code] = r.pick(NOUNS);
    const brand = r.pick(BRANDS);
    const name = `${brand} ${r.pick(ADJECTIVES)} ${noun}`;
    const id = 20000 + i * 7;
    const color = r.pick(COLORS);
    const apparel = category.startsWith('apparel');
    return {
      sku: `${brand.slice(0, 2).toUpperCase()}-${code}-${id}-${color.slice(0, 2).toUpperCase()}`,
      name,
      variant: apparel ? { color, size: r.pick(SIZES_APPAREL) } : { color },
      price: money(r.int(5, 240) - 0.05 * r.int(0, 1)),
      category,
      image: `https://cdn.shop.example.com/img/p/${code.toLowerCase()}/${id}/main_640.jpg`,
      url: `/p/${slug(name)}-${id}`,
      rating: r.int(30, 50) / 10,
    };
  });
})();

function address(r, i, label) {
  const [city, zip, country] = r.pick(CITIES);
  return {
    id: `addr_${1000 + i}`, label, name: `${r.pick(FIRST)} ${r.pick(LAST)}`, street: `${r.pick(STREETS)} ${r.int(1, 180)}`,
    postalCode: zip, city, country, phone: `+49 30 ${r.int(1000000, 9999999)}`, isDefault: i === 0,
  };
}

function cartLine(r, n, at) {
  const p = r.pick(CATALOGUE);
  const qty = r.chance(0.8) ? 1 : r.int(2, 4);
  return { lineId: `ln_${n}`, sku: p.sku, name: p.name, variant: p.variant, qty, unitPrice: p.price, image: p.image, addedAt: iso(at) };
}

function productCard(r, at, key) {
  const p = r.pick(CATALOGUE);
  return { sku: p.sku, name: p.name, price: p.price, image: p.image, url: p.url, [key]: iso(at) };
}

function cartTotals(lines) {
  const subtotal = money(lines.reduce((a, l) => a + l.qty * l.unitPrice, 0));
  const shipping = subtotal >= 50 ? 0 : 4.95;
  return { subtotal, discount: 0, shipping, tax: money(subtotal * 0.19 / 1.19), total: money(subtotal + shipping), currency: 'EUR' };
}

/** The parts of a session of each kind: the fixed fields, and the lists that carry its bulk. */
const KINDS = {
  // A shop's session: who is logged in, the cart, products saved for later, recently viewed ones.
  cart(r) {
    const t = EPOCH + r.int(0, 86400) * 1000;
    const s = {
      userId: `usr_${r.int(100000, 999999)}`,
      csrf: token(r, 32),
      flash: null,
      locale: 'de-DE',
      currency: 'EUR',
      cart: { id: `cart_${token(r, 12)}`, createdAt: iso(t), updatedAt: iso(t), coupon: null, giftMessage: '', lines: [], totals: null },
      savedForLater: [],
      recentlyViewed: [],
      checkout: { step: 'cart', shippingMethod: 'standard' },
    };
    let n = 0;
    const lists = [
      () => s.cart.lines.push(cartLine(r, ++n, t + n * 60000)),
      () => s.cart.lines.push(cartLine(r, ++n, t + n * 60000)),
      () => s.recentlyViewed.push(productCard(r, t - n * 45000, 'viewedAt')),
      () => s.savedForLater.push(productCard(r, t - n * 90000, 'savedAt')),
      () => s.recentlyViewed.push(productCard(r, t - n * 45000, 'viewedAt')),
    ];
    const done = () => { s.cart.totals = cartTotals(s.cart.lines); };
    return { s, lists, done, pad: (text) => { s.cart.giftMessage = text; } };
  },
  // A logged-in user's profile: account, preferences, addresses, payment methods, recently viewed
  // products, recent orders and searches.
  profile(r) {
    const t = EPOCH + r.int(0, 86400) * 1000;
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    const s = {
      userId: `usr_${r.int(100000, 999999)}`,
      csrf: token(r, 32),
      flash: null,
      account: {
        email: `${slug(first)}.${slug(last)}${r.int(1, 99)}@example.com`, firstName: first, lastName: last,
        roles: ['customer'], memberSince: iso(t - r.int(30, 2000) * 86400000), emailVerified: true, bio: '',
      },
      preferences: {
        theme: 'light', language: 'en-GB', currency: 'EUR', timezone: 'Europe/Berlin',
        notifications: { orders: true, promotions: false, newsletter: r.chance(0.5) },
        updatedAt: iso(t),
      },
      addresses: [],
      paymentMethods: [],
      recentlyViewed: [],
      orders: [],
      searches: [],
    };
    let n = 0;
    const lists = [
      () => s.recentlyViewed.push(productCard(r, t - ++n * 45000, 'viewedAt')),
      () => {
        n++;
        const items = Array.from({ length: r.int(1, 3) }, () => { const p = r.pick(CATALOGUE); return { sku: p.sku, name: p.name, qty: 1, price: p.price }; });
        s.orders.push({
          orderId: `ORD-2026-${String(100000 + n * 37).padStart(7, '0')}`, placedAt: iso(t - n * 5 * 86400000), status: r.pick(['delivered', 'delivered', 'shipped', 'returned']),
          total: money(items.reduce((a, x) => a + x.price, 0)), currency: 'EUR', items,
        });
      },
      () => s.recentlyViewed.push(productCard(r, t - ++n * 45000, 'viewedAt')),
      () => (s.addresses.length < 4 ? s.addresses.push(address(r, s.addresses.length, ['home', 'work', 'parents', 'holiday'][s.addresses.length])) : s.searches.push({ q: r.pick(SEARCHES), at: iso(t - ++n * 30000) })),
      () => (s.paymentMethods.length < 3
        ? s.paymentMethods.push({ id: `pm_${token(r, 10)}`, brand: r.pick(['visa', 'mastercard', 'amex']), last4: String(r.int(1000, 9999)), expMonth: r.int(1, 12), expYear: r.int(2027, 2031) })
        : s.searches.push({ q: r.pick(SEARCHES), at: iso(t - ++n * 30000) })),
    ];
    return { s, lists, done: () => {}, pad: (text) => { s.account.bio = text; } };
  },
};

function words(r, length) {
  let out = '';
  while (out.length < length) out += (out ? ' ' : '') + r.pick(WORDS);
  return out.slice(0, length);
}

/**
 * A realistic session of `kind` ('cart' | 'profile') whose JSON.stringify is exactly `bytes` long
 * (for any size above the kind's ~0.5 KB of fixed fields): lists are filled in turn while they fit,
 * then a free-text field (the cart's gift message, the profile's bio) takes up the rest.
 */
function makeSession(kind, bytes, seed = 1) {
  const r = prng(seed * 7919 + (kind === 'cart' ? 1 : 2));
  const { s, lists, done, pad } = KINDS[kind](r);
  const len = () => Buffer.byteLength(JSON.stringify(s));
  const PAD_MIN = 24;
  for (let i = 0; i < 100000; i++) {
    const before = JSON.stringify(s);
    lists[i % lists.length]();
    done();
    if (len() > bytes - PAD_MIN) {
      // one step too far: undo it (restore the previous state) and stop
      const prev = JSON.parse(before);
      for (const k of Object.keys(s)) delete s[k];
      Object.assign(s, prev);
      break;
    }
  }
  done();
  const missing = bytes - len();
  if (missing < 0) throw new Error(`makeSession: a ${kind} session cannot be as small as ${bytes} bytes (it is ${len()})`);
  pad(words(r, missing));
  const got = len();
  if (got !== bytes) pad(words(r, missing - (got - bytes))); // a non-ASCII name makes bytes ≠ characters
  return s;
}

/** The cart change of the k-th change request (k = 1, 2, …): a line removed (odd k), one added (even k). */
function changeCart(s, k, seed) {
  const r = prng(seed * 104729 + k);
  const lines = s.cart.lines;
  const at = iso(EPOCH + 86400000 + k * 60000);
  if (k % 2 === 1 && lines.length > 0) lines.splice(r.int(0, lines.length - 1), 1);
  else lines.push(cartLine(r, 900 + k, EPOCH + 86400000 + k * 60000));
  s.cart.totals = cartTotals(lines);
  s.cart.updatedAt = at;
}

/** The profile change of the k-th change request: one preference changed, in turn. */
function changeProfile(s, k) {
  const p = s.preferences;
  if (k % 3 === 1) p.theme = p.theme === 'light' ? 'dark' : 'light';
  else if (k % 3 === 2) p.notifications.promotions = !p.notifications.promotions;
  else p.language = p.language === 'en-GB' ? 'de-DE' : 'en-GB';
  p.updatedAt = iso(EPOCH + 86400000 + k * 60000);
}

// ───────────────────────── the counting proxy ─────────────────────────

const DATA_PLANE = /^(GetItem|PutItem|UpdateItem|DeleteItem)$/;

/**
 * An HTTP server that forwards every request to dynalite on 127.0.0.1:dbPort and counts, per
 * DynamoDB operation: requests, the request bodies' bytes as the client sent them, the answers'
 * bytes, the capacity units the answers report, error answers. It asks for ReturnConsumedCapacity
 * TOTAL only on requests that did not ask for it (then it re-serializes the body; `added` counts
 * those): a client that asks itself (this store does, on every request) is forwarded byte for
 * byte, so nothing is added or counted twice. An answer is passed on unchanged, its x-amz-crc32
 * included.
 */
function createCountingProxy(dbPort) {
  const counts = {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] || '').split('.')[1] || 'other';
      const c = (counts[op] ??= { requests: 0, bytes: 0, answerBytes: 0, units: 0, errors: 0, added: 0 });
      let body = raw;
      if (DATA_PLANE.test(op)) {
        try {
          const json = JSON.parse(raw.toString('utf8'));
          if (json.ReturnConsumedCapacity === undefined || json.ReturnConsumedCapacity === 'NONE') {
            json.ReturnConsumedCapacity = 'TOTAL';
            body = Buffer.from(JSON.stringify(json));
            c.added++;
          }
        } catch { /* not JSON: forwarded as is, dynalite answers the error */ }
      }
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      delete headers.expect;
      const up = http.request({ host: '127.0.0.1', port: dbPort, method: req.method, path: req.url, headers, agent }, (r) => {
        const out = [];
        r.on('data', (d) => out.push(d));
        r.on('end', () => {
          const answer = Buffer.concat(out);
          c.requests++;
          c.bytes += raw.length; // what the client sent, before any addition of the proxy's
          c.answerBytes += answer.length;
          if (r.statusCode !== 200) c.errors++;
          else {
            try {
              const cc = JSON.parse(answer.toString('utf8')).ConsumedCapacity;
              // an object (single-item operations), or an array (batch operations): the top-level
              // CapacityUnits only, never the Table / index breakdowns as well
              for (const x of Array.isArray(cc) ? cc : cc ? [cc] : []) c.units += Number(x.CapacityUnits) || 0;
            } catch { /* not JSON */ }
          }
          const h = { ...r.headers, 'content-length': String(answer.length) };
          delete h['transfer-encoding'];
          res.writeHead(r.statusCode, h);
          res.end(answer);
        });
        r.on('error', () => res.destroy());
      });
      up.on('error', (err) => { res.writeHead(502); res.end(String(err.message)); });
      up.end(body);
    });
  });
  server.keepAliveTimeout = 120000;
  return {
    server,
    counts,
    reset() { for (const k of Object.keys(counts)) delete counts[k]; },
    close() { server.close(); agent.destroy(); },
  };
}

module.exports = { prng, makeSession, changeCart, changeProfile, createCountingProxy, CATALOGUE };

// ───────────────────────── the proxy's child process ─────────────────────────

function proxyChild(dbPort) {
  const p = createCountingProxy(dbPort);
  p.server.listen(0, '127.0.0.1', () => process.send({ type: 'port', port: p.server.address().port }));
  process.on('message', (m) => {
    if (m.cmd === 'reset') p.reset();
    process.send({ type: 'reply', id: m.id, counts: m.cmd === 'counts' ? p.counts : undefined });
  });
  process.on('disconnect', () => { p.close(); process.exit(0); });
  setTimeout(() => process.exit(3), 30 * 60 * 1000).unref(); // never outlives a run by much
}

// ───────────────────────── the benchmark ─────────────────────────

let cleanup = () => {};

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--proxy-child') proxyChild(Number(argv[1]));
  else {
    main().catch((err) => {
      process.stderr.write(`bench/cost-sizes.js: ${err.stack || err}\n`);
      process.exitCode = 1;
    }).finally(() => cleanup());
  }
}

async function main() {
  const { fork } = require('node:child_process');
  const Koa = require('koa');
  const { createSession: session } = require('koa-session');
  const { parseArgs, num } = require('./lib/args');
  const { startServer } = require('./lib/children');
  const { createClient } = require('../test/support/cookie-client');
  const Store = require('..');
  const SdkV3 = require('./stores/sdk-v3');

  const args = parseArgs(process.argv.slice(2), { booleans: ['help', 'write', 'quick', 'rolling'] });
  if (args.help) {
    process.stdout.write(`${fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 11).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
    return;
  }
  const QUICK = Boolean(args.quick);
  const REPEATS = num(args.repeats, QUICK ? 1 : 3);
  const LANES = num(args.lanes, 8); // sessions in flight
  const ROLLING = Boolean(args.rolling);
  const PER_SESSION = 20; // requests per session: a login, then 19
  const CHANGE_EVERY = 5; // requests 5, 10, 15 change the session; the others only read it
  const MAX_AGE = 86400000; // koa-session's default
  const SIZES = [
    // sessions measured / warm-up sessions per configuration
    { label: '1 KB', bytes: 960, sessions: QUICK ? 10 : 75, warmup: QUICK ? 2 : 5 },
    { label: '10 KB', bytes: 10240, sessions: QUICK ? 10 : 75, warmup: QUICK ? 2 : 5 },
    { label: '100 KB', bytes: 102400, sessions: QUICK ? 3 : 15, warmup: QUICK ? 1 : 2 },
  ];
  const KIND_NAMES = ['cart', 'profile'];
  const TEMPLATES = 8; // distinct sessions of each kind and size; session j logs in with template j % 8
  const KEY = Buffer.from('6b6f612d73657373696f6e2d64796e616d6f64622d73746f72652d62656e6368', 'hex'); // 32 bytes, fixed
  const STORES = {
    plain: { label: 'this store, plain', options: {} },
    compress: { label: 'this store, compress', options: { compress: true } },
    'compress+encrypt': { label: 'this store, compress + encrypt', options: { compress: true, encrypt: { keys: { bench: KEY }, current: 'bench' } } },
    v3: { label: 'v3 store (AWS SDK v3)', v3: true },
  };
  const STORE_NAMES = Object.keys(STORES);
  const CREDS = { region: 'us-east-1', accessKeyId: 'AKIDBENCHCOST', secretAccessKey: 'bench-secret' };
  // koa-session adds `"_expire":<13 digits>,"_maxAge":86400000` to what it stores
  const KOA_FIELDS = JSON.stringify({ _expire: EPOCH, _maxAge: MAX_AGE }).length - 1;
  const t0 = Date.now();
  const RUN_LIMIT_S = QUICK ? 300 : 900; // the whole run: never longer than this
  const RUN_DEADLINE = t0 + RUN_LIMIT_S * 1000;
  const log = (m) => process.stdout.write(`${m}\n`);
  const secs = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

  // sessions of every kind and size, as JSON text (an application builds them from its database)
  const templates = {};
  for (const kind of KIND_NAMES) {
    templates[kind] = {};
    for (const z of SIZES) {
      templates[kind][z.label] = Array.from({ length: TEMPLATES }, (_, i) => JSON.stringify(makeSession(kind, z.bytes - KOA_FIELDS, i + 1)));
    }
  }

  // dynalite in a child process, the counting proxy in another
  const db = await startServer({ kind: 'dynalite' });
  const proxy = fork(__filename, ['--proxy-child', String(db.port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup = () => {
    if (proxy.exitCode === null && proxy.signalCode === null) proxy.kill('SIGTERM');
    db.stop();
  };
  const pending = new Map();
  let nextId = 0;
  const proxyPort = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the counting proxy did not start in 20 s')), 20000);
    proxy.on('message', (m) => {
      if (m.type === 'port') { clearTimeout(timer); resolve(m.port); } else if (m.type === 'reply') { const p = pending.get(m.id); pending.delete(m.id); if (p) p(m.counts); }
    });
    proxy.on('exit', (code) => reject(new Error(`the counting proxy exited (${code})`)));
  });
  const ask = (cmd) => new Promise((resolve, reject) => {
    const id = ++nextId;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`proxy ${cmd}: no answer in 10 s`)); }, 10000);
    pending.set(id, (v) => { clearTimeout(timer); resolve(v); });
    proxy.send({ cmd, id });
  });
  const endpoint = `http://127.0.0.1:${proxyPort}`;
  const table = { name: 'sessions', useTtlExpired: false }; // dynalite has no TTL operations
  const dynamoConfig = { endpoint, ...CREDS };

  const setup = new Store({ table, dynamoConfig });
  await setup.createTableIfDontExists();
  await setup.close();

  function makeStore(name) {
    const def = STORES[name];
    if (def.v3) return SdkV3.create({ endpoint, ...CREDS, table: table.name });
    return new Store({ table, dynamoConfig, ...def.options });
  }

  /** One configuration: warm-up sessions, then the measured ones; capacity, bytes, CPU. */
  async function runOne(kind, size, storeName, repeat) {
    const store = makeStore(storeName);
    const sizes = { min: Infinity, max: 0 };
    let watchSizes = true;
    // koa-session's store: the store itself, with the stored JSON's size noted during the warm-up
    const facade = {
      get: (key, maxAge, opts) => store.get(key, maxAge, opts),
      set: (key, sess, maxAge, opts) => {
        if (watchSizes) {
          const n = Buffer.byteLength(JSON.stringify(sess));
          sizes.min = Math.min(sizes.min, n);
          sizes.max = Math.max(sizes.max, n);
        }
        return store.set(key, sess, maxAge, opts);
      },
      destroy: (key, opts) => store.destroy(key, opts),
    };
    const app = new Koa();
    app.keys = ['bench cost-sizes key'];
    app.use(session({ store: facade, rolling: ROLLING, maxAge: MAX_AGE }, app));
    const list = templates[kind][size.label];
    app.use(async (ctx) => {
      const s = ctx.session;
      const q = ctx.query;
      if (ctx.path === '/login') {
        Object.assign(s, JSON.parse(list[Number(q.t) % list.length]));
        ctx.body = { ok: true };
      } else if (ctx.path === '/change') {
        if (kind === 'cart') changeCart(s, Number(q.k), Number(q.s));
        else changeProfile(s, Number(q.k));
        ctx.body = { ok: true };
      } else if (kind === 'cart') {
        ctx.body = { items: s.cart ? s.cart.lines.length : 0, total: s.cart && s.cart.totals ? s.cart.totals.total : 0 };
      } else {
        ctx.body = { name: s.account ? s.account.firstName : null, theme: s.preferences ? s.preferences.theme : null };
      }
    });
    const server = http.createServer(app.callback());
    server.keepAliveTimeout = 60000;
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${server.address().port}`;
    const deadline = Math.min(Date.now() + 120000, RUN_DEADLINE); // a configuration: at most 2 minutes

    async function phase(first, count) {
      let next = first;
      let requests = 0;
      const lane = async () => {
        while (next < first + count) {
          const j = next++;
          const c = createClient(base);
          for (let i = 0; i < PER_SESSION; i++) {
            if (Date.now() > deadline) throw new Error(`${kind} ${size.label} ${storeName}: out of time (2 minutes per configuration, ${RUN_LIMIT_S} s in all)`);
            const route = i === 0 ? `/login?t=${j}` : i % CHANGE_EVERY === 0 ? `/change?k=${i / CHANGE_EVERY}&s=${j}` : '/view';
            const res = await c.get(route);
            if (res.status !== 200) throw new Error(`${kind} ${size.label} ${storeName}: ${route} answered ${res.status} ${res.text.slice(0, 200)}`);
            requests++;
          }
          c.close();
        }
      };
      await Promise.all(Array.from({ length: Math.min(LANES, count) }, lane));
      return requests;
    }

    try {
      // warm-up: its own sessions (numbered after the measured ones), not counted
      await phase(100000, size.warmup);
      watchSizes = false;
      await ask('reset');
      const before = typeof store.stats === 'function' ? store.stats() : null;
      const cpu0 = process.cpuUsage();
      const w0 = process.hrtime.bigint();
      const requests = await phase(0, size.sessions);
      const wallMs = Number(process.hrtime.bigint() - w0) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      const counts = await ask('counts');
      const after = typeof store.stats === 'function' ? store.stats() : null;
      const sum = (ops, f) => ops.reduce((a, op) => a + (counts[op] ? counts[op][f] : 0), 0);
      const W = ['PutItem', 'UpdateItem', 'DeleteItem'];
      const R = ['GetItem'];
      const per1000 = (x) => (x * 1000) / requests;
      const row = {
        kind, size: size.label, sizeBytes: size.bytes, store: storeName, repeat, requests, sessions: size.sessions, wallMs,
        cpuUsPerRequest: (cpu.user + cpu.system) / requests,
        writes: per1000(sum(W, 'requests')),
        reads: per1000(sum(R, 'requests')),
        writeUnits: per1000(sum(W, 'units')),
        readUnits: per1000(sum(R, 'units')),
        writeBytes: per1000(sum(W, 'bytes')),
        readBytes: per1000(sum(R, 'answerBytes')),
        errorAnswers: Object.values(counts).reduce((a, c) => a + c.errors, 0),
        proxyAdded: Object.values(counts).reduce((a, c) => a + c.added, 0),
        storedJson: sizes,
        operations: counts,
      };
      if (before && after) {
        // the store's own account (ReturnConsumedCapacity it asked for) against the proxy's
        const errs = (st) => Object.values(st.operations).reduce((a, o) => a + Object.values(o.errors).reduce((x, y) => x + y, 0), 0);
        row.storeStats = {
          writeUnits: after.consumedCapacity.write - before.consumedCapacity.write,
          readUnits: after.consumedCapacity.read - before.consumedCapacity.read,
          errors: errs(after) - errs(before),
          conflicts: after.conflicts - before.conflicts,
          unreadable: after.unreadable - before.unreadable,
          retries: Object.values(after.operations).reduce((a, o) => a + o.retries, 0) - Object.values(before.operations).reduce((a, o) => a + o.retries, 0),
        };
      }
      return row;
    } finally {
      server.close();
      if (typeof store.close === 'function') await store.close();
    }
  }

  // a first, unrecorded pass of every store and kind, so that the first configuration measured
  // does not pay for compiling koa, koa-session, the client and the stores' JavaScript
  for (const storeName of STORE_NAMES) {
    for (const kind of KIND_NAMES) {
      for (const size of SIZES.slice(0, 2)) await runOne(kind, { ...size, sessions: QUICK ? 2 : 5, warmup: 1 }, storeName, 0);
    }
  }
  log(`[${secs()}] warmed up every store`);

  const total = REPEATS * KIND_NAMES.length * SIZES.length * STORE_NAMES.length;
  log(`cost-sizes: ${KIND_NAMES.length} kinds × ${SIZES.length} sizes × ${STORE_NAMES.length} stores × ${REPEATS} repeat(s) = ${total} runs${QUICK ? ' (quick)' : ''}; dynalite pid ${db.pid}, proxy pid ${proxy.pid}`);
  const runs = [];
  let n = 0;
  let ci = 0;
  for (let r = 0; r < REPEATS; r++) {
    for (const kind of KIND_NAMES) {
      for (const size of SIZES) {
        ci++;
        // rotate the store order so that no store always runs first or after the same one
        const order = STORE_NAMES.map((_, i) => STORE_NAMES[(i + r + ci) % STORE_NAMES.length]);
        for (const storeName of order) {
          const row = await runOne(kind, size, storeName, r + 1);
          runs.push(row);
          n++;
          log(`[${String(n).padStart(String(total).length)}/${total} ${secs()}] r${r + 1} ${kind.padEnd(7)} ${size.label.padEnd(6)} ${storeName.padEnd(16)} ` +
            `WCU ${fmt(row.writeUnits)}  RCU ${fmt(row.readUnits)}  CPU ${fmt(row.cpuUsPerRequest)} µs/req  ${row.requests} req in ${(row.wallMs / 1000).toFixed(1)} s` +
            `${row.storeStats && (row.storeStats.errors || row.storeStats.conflicts || row.storeStats.unreadable) ? `  !! store errors ${row.storeStats.errors}, conflicts ${row.storeStats.conflicts}, unreadable ${row.storeStats.unreadable}` : ''}`);
        }
      }
    }
  }

  // one row per kind × size × store: capacity and bytes of the first repeat (the workload is the
  // same in every repeat; any difference is reported), CPU the median of the repeats
  const notes = [];
  const rows = [];
  for (const kind of KIND_NAMES) {
    for (const size of SIZES) {
      for (const storeName of STORE_NAMES) {
        const rs = runs.filter((x) => x.kind === kind && x.size === size.label && x.store === storeName);
        const first = rs[0];
        for (const f of ['writeUnits', 'readUnits', 'writeBytes', 'readBytes']) {
          const vals = rs.map((x) => x[f]);
          const spread = Math.max(...vals) - Math.min(...vals);
          if (spread > 0.01 * Math.max(...vals) + 1) notes.push(`${kind} ${size.label} ${storeName}: ${f} differs between repeats (${vals.map((v) => Math.round(v)).join(', ')})`);
        }
        for (const x of rs) {
          if (x.errorAnswers) notes.push(`${kind} ${size.label} ${storeName} r${x.repeat}: ${x.errorAnswers} error answer(s) from DynamoDB (${Object.entries(x.operations).filter(([, c]) => c.errors).map(([op, c]) => `${op} ${c.errors}`).join(', ')})`);
          const st = x.storeStats;
          if (st && (Math.abs(st.writeUnits - (x.writeUnits * x.requests) / 1000) > 0.01 || Math.abs(st.readUnits - (x.readUnits * x.requests) / 1000) > 0.01)) {
            notes.push(`${kind} ${size.label} ${storeName} r${x.repeat}: store.stats() counted ${st.writeUnits} WCU / ${st.readUnits} RCU, the proxy ${(x.writeUnits * x.requests) / 1000} / ${(x.readUnits * x.requests) / 1000}`);
          }
          if (st && (st.errors || st.conflicts || st.unreadable || st.retries)) notes.push(`${kind} ${size.label} ${storeName} r${x.repeat}: store errors ${st.errors}, conflicts ${st.conflicts}, unreadable ${st.unreadable}, retries ${st.retries}`);
          if (!STORES[storeName].v3 && x.proxyAdded) notes.push(`${kind} ${size.label} ${storeName} r${x.repeat}: ${x.proxyAdded} request(s) without ReturnConsumedCapacity`);
        }
        rows.push({
          kind, size: size.label, store: storeName, label: STORES[storeName].label,
          requests: first.requests, sessions: first.sessions,
          writes: first.writes, reads: first.reads,
          writeUnits: first.writeUnits, readUnits: first.readUnits, writeBytes: first.writeBytes, readBytes: first.readBytes,
          cpuUsPerRequest: median(rs.map((x) => x.cpuUsPerRequest)), cpuRepeats: rs.map((x) => round1(x.cpuUsPerRequest)),
          storedJson: first.storedJson,
        });
      }
      const v3 = rows.find((x) => x.kind === kind && x.size === size.label && x.store === 'v3');
      for (const x of rows) if (x.kind === kind && x.size === size.label) x.wcuVsV3 = x.writeUnits / v3.writeUnits;
      const big = rows.filter((x) => x.kind === kind && x.size === size.label && x.store !== 'v3').map((x) => x.storedJson.max);
      if (size.bytes < 1024 && Math.max(...big) > 1024) notes.push(`${kind} ${size.label}: a stored session reached ${Math.max(...big)} bytes of JSON, over compress's 1,024-byte threshold`);
    }
  }

  const get = (kind, size, store) => rows.find((x) => x.kind === kind && x.size === size && x.store === store);
  const g1 = get('cart', '100 KB', 'compress').wcuVsV3;
  const g1e = get('cart', '100 KB', 'compress+encrypt').wcuVsV3;
  const g1p = get('cart', '100 KB', 'plain').wcuVsV3;
  const cpuRatio = (kind) => get(kind, '10 KB', 'compress+encrypt').cpuUsPerRequest / get(kind, '10 KB', 'plain').cpuUsPerRequest;
  const g2 = KIND_NAMES.map((k) => [k, cpuRatio(k)]);
  const goals = [
    `goal: a 100 KB cart session costs at most a quarter of the v3 store's write capacity (compress): ${g1 <= 0.25 ? 'met' : 'NOT met'} (×${g1.toFixed(3)}; compress + encrypt ×${g1e.toFixed(3)}; plain ×${g1p.toFixed(3)})`,
    `goal: compress + encrypt costs at most 1.5 times the CPU/request of plain at 10 KB: ${g2.every(([, x]) => x <= 1.5) ? 'met' : 'NOT met'} (${g2.map(([k, x]) => `${k} ×${x.toFixed(2)}`).join(', ')})`,
  ];

  const sizeText = SIZES.map((z) => `${z.label}: ${z.bytes.toLocaleString('en-US')} bytes`).join(', ');
  const caption = [
    `Per 1,000 koa-session requests (koa-session ${ROLLING ? 'with rolling: true' : 'defaults: rolling false, maxAge one day'}; real koa over HTTP; dynalite, capacity units as DynamoDB bills them: strongly consistent reads, a write on the larger of the item before and after it).`,
    `Each session: a login that creates it, then ${PER_SESSION - 1} requests, of which the 5th, 10th and 15th change it (cart: a line removed, then one added, then one removed; profile: a preference) and the other 16 only read it: 5 % logins, 15 % changes, 80 % reads, the same sequence for every store.`,
    `Sessions of stored JSON (koa-session's _expire and _maxAge included) ${sizeText}; 8 seeded sessions of each kind and size (products from one catalogue, addresses, orders, a CSRF token).`,
    `Measured per configuration: ${SIZES.map((z) => `${(z.sessions * PER_SESSION).toLocaleString('en-US')} requests (${z.sessions} sessions) at ${z.label}`).join(', ')}, after a warm-up of ${SIZES.map((z) => z.warmup * PER_SESSION).join(' / ')} requests, ${LANES} sessions in flight.`,
    `Write bytes: request bodies of PutItem/UpdateItem/DeleteItem as the client sent them; read bytes: GetItem answers. CPU µs/request: process.cpuUsage() (user + system, every thread) of the benchmark process over the measured requests ÷ their number: koa, koa-session, the HTTP client, the store and its native thread; not dynalite nor the counting proxy (child processes). Median of ${REPEATS} repeat(s).`,
  ];
  const tableLines = [
    '| session | size | store | WCU | RCU | write bytes | read bytes | CPU µs/request | WCU vs v3 |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((x) => `| ${x.kind} | ${x.size} | ${x.label} | ${fmt(x.writeUnits)} | ${fmt(x.readUnits)} | ${fmtInt(x.writeBytes)} | ${fmtInt(x.readBytes)} | ${fmt(x.cpuUsPerRequest)} | ${x.store === 'v3' ? '1' : `×${x.wcuVsV3.toFixed(2)}`} |`),
  ];
  log('');
  log(caption.join('\n'));
  log('');
  log(tableLines.join('\n'));
  log('');
  for (const g of goals) log(g);
  for (const nte of notes) log(`note: ${nte}`);
  log(`took ${secs()}`);

  const date = new Date().toISOString();
  if (QUICK) {
    log('(--quick: nothing written)');
    return;
  }
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const results = {
    date, node: process.version, rolling: ROLLING, repeats: REPEATS, lanes: LANES, perSession: PER_SESSION, changeEvery: CHANGE_EVERY,
    sizes: SIZES, durationSeconds: (Date.now() - t0) / 1000, goals, notes, rows, runs,
  };
  const round = (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v);
  fs.writeFileSync(path.join(dir, 'cost-sizes.json'), `${JSON.stringify(results, round, 1)}\n`);
  log('wrote bench/results/cost-sizes.json');
  if (args.write) {
    const readme = path.join(__dirname, '..', 'README.md');
    const text = fs.readFileSync(readme, 'utf8');
    const a = text.indexOf('<!-- cost-sizes:start -->');
    const b = text.indexOf('<!-- cost-sizes:end -->');
    if (a >= 0 && b > a) {
      const section = `<!-- cost-sizes:start -->\n${caption.join('\n')}\n\n${tableLines.join('\n')}\n\n${goals.map((g) => `${g} (${date.slice(0, 10)}).`).join('\n\n')}\n`;
      fs.writeFileSync(readme, text.slice(0, a) + section + text.slice(b));
      log('wrote the README section (cost-sizes markers)');
    } else {
      log('README.md has no <!-- cost-sizes:start --> / <!-- cost-sizes:end --> markers: not written');
    }
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round1(x) { return Math.round(x * 10) / 10; }

function fmt(x) {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(3)).toLocaleString('en-US');
}

function fmtInt(x) { return Math.round(x).toLocaleString('en-US'); }
