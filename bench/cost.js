#!/usr/bin/env node
'use strict';
// What users pay: DynamoDB write capacity units and bytes per 1,000 koa-session requests.
//
//   node bench/cost.js [--requests N] [--sessions N] [--size 10KB] [--write]
// --write: the table also goes into the README's "Parallel requests" section (cost markers).
//
// The scenario (issue "parallel requests: fewer writes"): koa-session with rolling: true, a 10 KB
// session, 90 % of requests change nothing (exactly every tenth request of a session changes a
// field; the first one creates it). Real koa and koa-session over real HTTP, against dynalite (in
// memory) behind a counting proxy (bench/cost-sizes.js createCountingProxy) that adds up, per
// operation, the capacity units DynamoDB's rules give (dynalite bills a write on the larger of the
// item before and after it, as DynamoDB does) and the bytes of every request body as the client
// sent it. This store asks for ReturnConsumedCapacity TOTAL itself and is forwarded byte for byte;
// the proxy adds it for the 1.x package only. The session is a user profile (account, preferences,
// addresses, payment methods, recently viewed products, orders, searches; bench/cost-sizes.js
// makeSession, seeded: the same bytes on every run and for every store) of the size the 'x' filler
// used to give, so that compression has realistic data to work on. Compared: this store by default
// (merge, touchAfter 0), with touchAfter 300, with touchAfter 300 and compress: true, and the 1.x
// package.
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');
const Koa = require('koa');
const { createSession: session } = require('koa-session');
const dynalite = require('dynalite');
const { parseArgs, num } = require('./lib/args');
const { createClient } = require('../test/support/cookie-client');
const { createCountingProxy, makeSession } = require('./cost-sizes');

const args = parseArgs(process.argv.slice(2), { booleans: ['help', 'write'] });
const REQUESTS = num(args.requests, 1000); // per configuration
const SESSIONS = num(args.sessions, 20);
const SIZE = /^(\d+)KB$/i.exec(args.size || '10KB') ? Number(/^(\d+)/.exec(args.size || '10KB')[1]) * 1024 : 10240;

// The session the 'x'.repeat(SIZE - 200) filler used to make, byte for byte as long: { user, profile,
// cart: [] } with a realistic profile instead of the filler (8 of them, session j gets profile j % 8).
const OLD_BYTES = JSON.stringify({ user: 'bench-user', profile: { name: 'Bench User', email: 'bench@example.com', filler: 'x'.repeat(SIZE - 200) }, cart: [] }).length;
const SHELL_BYTES = JSON.stringify({ user: 'bench-user', profile: 0, cart: [] }).length - 1;
const PROFILES = Array.from({ length: 8 }, (_, i) => JSON.stringify(makeSession('profile', OLD_BYTES - SHELL_BYTES, i + 1)));
const SESSION_BYTES = SHELL_BYTES + Buffer.byteLength(PROFILES[0]); // JSON before koa-session's _expire and _maxAge

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/** dynalite behind a proxy that counts capacity units and bytes per operation. */
async function startCountingDynamo() {
  const db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dbPort = await listen(db);
  const proxy = createCountingProxy(dbPort);
  const port = await listen(proxy.server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: proxy.counts,
    reset: () => proxy.reset(),
    async close() { proxy.close(); await new Promise((r) => db.close(r)); },
  };
}

const CREDS = { accessKeyId: 'AKIDBENCHCOST', secretAccessKey: 'bench-secret' };

function makeStore(kind, endpoint) {
  const table = { name: 'sessions', useTtlExpired: false };
  const dynamoConfig = { region: 'us-east-1', endpoint, ...CREDS };
  if (kind === 'v1') {
    const Legacy = require('koa-session-dynamodb-store-v1');
    return new Legacy({ table, dynamoConfig });
  }
  const Store = require('..');
  const options = { touchAfter300: { touchAfter: 300 }, touchAfter300compress: { touchAfter: 300, compress: true } }[kind];
  return new Store({ table, dynamoConfig, ...options });
}

/** One configuration: SESSIONS sessions, REQUESTS requests in all, rolling koa-session. */
async function run(kind, dyn) {
  const store = makeStore(kind, dyn.endpoint);
  const app = new Koa();
  app.keys = ['bench key'];
  app.use(session({ store, rolling: true, maxAge: 3600000 }, app));
  app.use(async (ctx) => {
    const s = ctx.session;
    if (ctx.path === '/create') {
      s.user = 'bench-user';
      s.profile = JSON.parse(PROFILES[Number(ctx.query.p) % PROFILES.length]);
      s.cart = [];
    } else if (ctx.path === '/change') {
      s.cart = [...(s.cart || []), { sku: `sku-${s.cart ? s.cart.length : 0}`, qty: 1 }];
    }
    ctx.body = 'ok';
  });
  const server = http.createServer(app.callback());
  const port = await listen(server);
  const perSession = Math.ceil(REQUESTS / SESSIONS);
  dyn.reset();
  let done = 0;
  const deadline = Date.now() + 180000; // one configuration: at most 3 minutes
  await Promise.all(Array.from({ length: SESSIONS }, async (_, j) => {
    const c = createClient(`http://127.0.0.1:${port}`, { privateAgent: true });
    for (let i = 0; i < perSession && done < REQUESTS; i++, done++) {
      if (Date.now() > deadline) throw new Error(`${kind}: over 3 minutes`);
      const route = i === 0 ? `/create?p=${j}` : i % 10 === 0 ? '/change' : '/touch';
      const r = await c.get(route);
      if (r.status !== 200) throw new Error(`${kind}: ${route} answered ${r.status}`);
    }
    c.close();
  }));
  server.close();
  const stats = typeof store.stats === 'function' ? store.stats() : null;
  if (typeof store.close === 'function') await store.close();
  const none = { requests: 0, bytes: 0, units: 0, errors: 0, added: 0 };
  const writes = ['PutItem', 'UpdateItem', 'DeleteItem'].map((op) => dyn.counts[op] || none);
  const reads = dyn.counts.GetItem || none;
  const per1000 = (x) => (x * 1000) / done;
  const all = Object.values(dyn.counts);
  const row = {
    store: kind,
    requests: done,
    writeRequests: per1000(writes.reduce((a, w) => a + w.requests, 0)),
    writeUnits: per1000(writes.reduce((a, w) => a + w.units, 0)),
    writeBytes: per1000(writes.reduce((a, w) => a + w.bytes, 0)),
    readUnits: per1000(reads.units),
    errorAnswers: all.reduce((a, c) => a + c.errors, 0),
    proxyAdded: all.reduce((a, c) => a + c.added, 0), // requests the proxy asked ReturnConsumedCapacity for
  };
  if (stats) {
    // the store's own account of the capacity it was told about, to check the proxy's against
    row.storeStats = { write: stats.consumedCapacity.write, read: stats.consumedCapacity.read, conflicts: stats.conflicts, touchesSkipped: stats.touchesSkipped, unreadable: stats.unreadable };
    const units = (list) => list.reduce((a, c) => a + c.units, 0);
    if (Math.abs(stats.consumedCapacity.write - units(writes)) > 0.01 || Math.abs(stats.consumedCapacity.read - reads.units) > 0.01) {
      process.stderr.write(`bench/cost.js: ${kind}: store.stats() counted ${stats.consumedCapacity.write} WCU / ${stats.consumedCapacity.read} RCU, the proxy ${units(writes)} / ${reads.units}\n`);
    }
    if (row.proxyAdded) process.stderr.write(`bench/cost.js: ${kind}: ${row.proxyAdded} request(s) of this store did not ask for ReturnConsumedCapacity\n`);
  }
  if (row.errorAnswers) process.stderr.write(`bench/cost.js: ${kind}: ${row.errorAnswers} error answer(s) from DynamoDB\n`);
  return row;
}

async function main() {
  const dyn = await startCountingDynamo();
  try {
    // the table, through the native store (dynalite has no TTL operations: useTtlExpired false)
    const setupStore = makeStore('default', dyn.endpoint);
    await setupStore.createTableIfDontExists();
    await setupStore.close();
    const rows = [];
    for (const kind of ['default', 'touchAfter300', 'touchAfter300compress', 'v1']) rows.push(await run(kind, dyn));
    const v1 = rows.find((r) => r.store === 'v1');
    const label = {
      default: 'this store (merge, touchAfter 0)', touchAfter300: 'this store, touchAfter 300',
      touchAfter300compress: 'this store, touchAfter 300 + compress', v1: 'koa-session-dynamodb-store 1.1.1',
    };
    const lines = [
      `Rolling sessions (koa-session rolling: true), ${SIZE / 1024} KB session (a user profile: ${SESSION_BYTES.toLocaleString('en-US')} bytes of JSON before koa-session's fields), 90 % of requests change nothing; per 1,000 requests (${REQUESTS} requests, ${SESSIONS} sessions per store):`,
      '',
      '| store | writes | write capacity units | write bytes | WCU vs 1.x | read capacity units |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${label[r.store]} | ${Math.round(r.writeRequests)} | ${Math.round(r.writeUnits)} | ${Math.round(r.writeBytes).toLocaleString('en-US')} | ${r.store === 'v1' ? '1' : `1/${(v1.writeUnits / r.writeUnits).toFixed(1)}`} | ${Math.round(r.readUnits)} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cost.json'), `${JSON.stringify({ date: new Date().toISOString(), size: SIZE, sessionJsonBytes: SESSION_BYTES, rows }, null, 2)}\n`);
    const ratio = v1.writeUnits / rows.find((r) => r.store === 'touchAfter300').writeUnits;
    const goal = `goal: touchAfter 300 uses at least 10 times fewer write capacity units than 1.x: ${ratio >= 10 ? 'met' : 'NOT met'} (×${ratio.toFixed(2)})`;
    const ratioCompress = v1.writeUnits / rows.find((r) => r.store === 'touchAfter300compress').writeUnits;
    const withCompress = `touchAfter 300 + compress uses ×${ratioCompress.toFixed(2)} fewer write capacity units than 1.x`;
    process.stdout.write(`${goal}\n${withCompress}\n`);
    if (args.write) {
      const readme = path.join(__dirname, '..', 'README.md');
      const text = fs.readFileSync(readme, 'utf8');
      const a = text.indexOf('<!-- cost:start -->');
      const b = text.indexOf('<!-- cost:end -->');
      if (a >= 0 && b > a) {
        const section = `<!-- cost:start -->\n${lines.slice(2).join('\n')}\n\n${goal} (${new Date().toISOString().slice(0, 10)}).\n\n${withCompress}.\n`;
        fs.writeFileSync(readme, text.slice(0, a) + section + text.slice(b));
      }
    }
  } finally {
    await dyn.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench/cost.js: ${err.stack || err}\n`);
  process.exit(1);
});
