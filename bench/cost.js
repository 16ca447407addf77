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
// memory) behind a counting proxy that asks for ReturnConsumedCapacity TOTAL on every request and
// adds up the capacity units DynamoDB's rules give (dynalite bills a write on the larger of the
// item before and after it, as DynamoDB does) and the bytes of every request body. Compared: this
// store by default (merge, touchAfter 0), this store with touchAfter 300, and the 1.x package.
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');
const Koa = require('koa');
const { createSession: session } = require('koa-session');
const dynalite = require('dynalite');
const { parseArgs, num } = require('./lib/args');
const { createClient } = require('../test/support/cookie-client');

const args = parseArgs(process.argv.slice(2), { booleans: ['help', 'write'] });
const REQUESTS = num(args.requests, 1000); // per configuration
const SESSIONS = num(args.sessions, 20);
const SIZE = /^(\d+)KB$/i.exec(args.size || '10KB') ? Number(/^(\d+)/.exec(args.size || '10KB')[1]) * 1024 : 10240;

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/** dynalite behind a proxy that counts capacity units and bytes per operation. */
async function startCountingDynamo() {
  const db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dbPort = await listen(db);
  const counts = {};
  const agent = new http.Agent({ keepAlive: true });
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] || '').split('.')[1] || 'other';
      let body = raw;
      if (/^(GetItem|PutItem|UpdateItem|DeleteItem)$/.test(op)) {
        const json = JSON.parse(raw.toString('utf8'));
        json.ReturnConsumedCapacity = 'TOTAL';
        body = Buffer.from(JSON.stringify(json));
      }
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const up = http.request({ host: '127.0.0.1', port: dbPort, method: req.method, path: req.url, headers, agent }, (r) => {
        const out = [];
        r.on('data', (c) => out.push(c));
        r.on('end', () => {
          const answer = Buffer.concat(out);
          const c = (counts[op] ??= { requests: 0, bytes: 0, units: 0 });
          c.requests++;
          c.bytes += raw.length; // what the client sent (before the proxy's addition)
          try {
            const cc = JSON.parse(answer.toString('utf8')).ConsumedCapacity;
            if (cc) c.units += cc.CapacityUnits;
          } catch { /* an error answer */ }
          const h = { ...r.headers };
          delete h['x-amz-crc32']; // the proxy may have changed nothing, but do not vouch for it
          res.writeHead(r.statusCode, h);
          res.end(answer);
        });
      });
      up.end(body);
    });
  });
  const port = await listen(proxy);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    reset() { for (const k of Object.keys(counts)) delete counts[k]; },
    async close() { proxy.close(); agent.destroy(); await new Promise((r) => db.close(r)); },
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
  return new Store({ table, dynamoConfig, ...(kind === 'touchAfter300' ? { touchAfter: 300 } : {}) });
}

/** One configuration: SESSIONS sessions, REQUESTS requests in all, rolling koa-session. */
async function run(kind, dyn) {
  const store = makeStore(kind, dyn.endpoint);
  const app = new Koa();
  app.keys = ['bench key'];
  app.use(session({ store, rolling: true, maxAge: 3600000 }, app));
  const filler = 'x'.repeat(SIZE - 200);
  app.use(async (ctx) => {
    const s = ctx.session;
    if (ctx.path === '/create') {
      s.user = 'bench-user';
      s.profile = { name: 'Bench User', email: 'bench@example.com', filler };
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
  await Promise.all(Array.from({ length: SESSIONS }, async () => {
    const c = createClient(`http://127.0.0.1:${port}`, { privateAgent: true });
    for (let i = 0; i < perSession && done < REQUESTS; i++, done++) {
      const route = i === 0 ? '/create' : i % 10 === 0 ? '/change' : '/touch';
      const r = await c.get(route);
      if (r.status !== 200) throw new Error(`${kind}: ${route} answered ${r.status}`);
    }
    c.close();
  }));
  server.close();
  if (typeof store.close === 'function') await store.close();
  const writes = ['PutItem', 'UpdateItem', 'DeleteItem'].map((op) => dyn.counts[op] || { requests: 0, bytes: 0, units: 0 });
  const reads = dyn.counts.GetItem || { requests: 0, bytes: 0, units: 0 };
  const per1000 = (x) => (x * 1000) / done;
  return {
    store: kind,
    requests: done,
    writeRequests: per1000(writes.reduce((a, w) => a + w.requests, 0)),
    writeUnits: per1000(writes.reduce((a, w) => a + w.units, 0)),
    writeBytes: per1000(writes.reduce((a, w) => a + w.bytes, 0)),
    readUnits: per1000(reads.units),
  };
}

async function main() {
  const dyn = await startCountingDynamo();
  try {
    // the table, through the native store (dynalite has no TTL operations: useTtlExpired false)
    const setupStore = makeStore('default', dyn.endpoint);
    await setupStore.createTableIfDontExists();
    await setupStore.close();
    const rows = [];
    for (const kind of ['default', 'touchAfter300', 'v1']) rows.push(await run(kind, dyn));
    const v1 = rows.find((r) => r.store === 'v1');
    const label = { default: 'this store (merge, touchAfter 0)', touchAfter300: 'this store, touchAfter 300', v1: 'koa-session-dynamodb-store 1.1.1' };
    const lines = [
      `Rolling sessions (koa-session rolling: true), ${SIZE / 1024} KB session, 90 % of requests change nothing; per 1,000 requests (${REQUESTS} requests, ${SESSIONS} sessions per store):`,
      '',
      '| store | writes | write capacity units | write bytes | WCU vs 1.x | read capacity units |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${label[r.store]} | ${Math.round(r.writeRequests)} | ${Math.round(r.writeUnits)} | ${Math.round(r.writeBytes).toLocaleString('en-US')} | ${r.store === 'v1' ? '1' : `1/${(v1.writeUnits / r.writeUnits).toFixed(1)}`} | ${Math.round(r.readUnits)} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cost.json'), `${JSON.stringify({ date: new Date().toISOString(), size: SIZE, rows }, null, 2)}\n`);
    const ratio = v1.writeUnits / rows.find((r) => r.store === 'touchAfter300').writeUnits;
    const goal = `goal: touchAfter 300 uses at least 10 times fewer write capacity units than 1.x: ${ratio >= 10 ? 'met' : 'NOT met'} (×${ratio.toFixed(2)})`;
    process.stdout.write(`${goal}\n`);
    if (args.write) {
      const readme = path.join(__dirname, '..', 'README.md');
      const text = fs.readFileSync(readme, 'utf8');
      const a = text.indexOf('<!-- cost:start -->');
      const b = text.indexOf('<!-- cost:end -->');
      if (a >= 0 && b > a) {
        const section = `<!-- cost:start -->\n${lines.slice(2).join('\n')}\n\n${goal} (${new Date().toISOString().slice(0, 10)}).\n`;
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
