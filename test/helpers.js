'use strict';
// Shared set-up for the JavaScript suite: a signature-verifying test server (dynalite behind a
// SigV4 proxy, see support/server.js), stores pointed at it, and a koa app with koa-session.
const assert = require('node:assert/strict');
const http = require('node:http');
const Koa = require('koa');
const { createSession: session } = require('koa-session');
const DynamoDBStore = require('..');
const { startTestServer } = require('./support/server');

/** Starts a server for test context t (closed after it); checks that no request failed signing. */
async function useServer(t, options = {}, { expectRejections = false } = {}) {
  const server = await startTestServer(options);
  const stores = [];
  server.store = (opts = {}) => {
    const store = new DynamoDBStore(storeOptions(server, opts));
    stores.push(store);
    return store;
  };
  t.after(async () => {
    for (const s of stores) await s.close().catch(() => {});
    await server.close();
  });
  if (!expectRejections) {
    t.after(() => assert.equal(server.stats.rejected, 0, `requests failed signature checks:\n${server.stats.rejections.join('\n')}`));
  }
  return server;
}

function storeOptions(server, opts = {}) {
  const { table = {}, dynamoConfig = {}, ...rest } = opts;
  return {
    table: { name: 'sessions', ...table },
    dynamoConfig: {
      region: server.region,
      endpoint: server.endpoint,
      accessKeyId: server.credentials.accessKeyId,
      secretAccessKey: server.credentials.secretAccessKey,
      ...dynamoConfig,
    },
    ...rest,
  };
}

/** A koa app with koa-session on `store`; resolves { url, app, close }. */
async function startApp(t, store, sessionOptions = {}) {
  const app = new Koa();
  app.keys = ['test key one', 'test key two'];
  app.silent = true;
  const errors = [];
  app.on('error', (err) => errors.push(err));
  app.use(session({ store, ...sessionOptions }, app));
  app.use(async (ctx) => {
    const s = ctx.session;
    switch (ctx.path) {
      case '/login':
        s.user = ctx.query.user;
        ctx.body = { ok: true };
        break;
      case '/count':
        s.count = (s.count || 0) + 1;
        ctx.body = { user: s.user ?? null, count: s.count };
        break;
      case '/whoami':
        ctx.body = { user: s.user ?? null, count: s.count ?? 0, isNew: s.isNew };
        break;
      case '/logout':
        ctx.session = null;
        ctx.body = { ok: true };
        break;
      case '/data':
        if (ctx.method === 'POST') {
          const chunks = [];
          for await (const c of ctx.req) chunks.push(c);
          s.data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          ctx.body = { ok: true };
        } else {
          ctx.body = { data: s.data === undefined ? null : s.data };
        }
        break;
      default:
        ctx.status = 404;
    }
  });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 5000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  t.after(close);
  return { url: `http://127.0.0.1:${server.address().port}`, app, close, errors };
}

/** The variables a child process needs to load the addon the way this process does (sanitizer runs). */
function runtimeEnv() {
  const out = {};
  for (const k of ['LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'DDBS_SANITIZED']) if (process.env[k] !== undefined) out[k] = process.env[k];
  return out;
}

/**
 * Named gates for koa requests: hold(name) returns { arrived, release }; a request with
 * ?hold=name that passes through `wait(ctx)` resolves `arrived` and waits until release().
 */
function requestGates() {
  const holds = new Map();
  const hold = (name) => {
    const h = {};
    h.arrived = new Promise((r) => { h.arrive = r; });
    h.gate = new Promise((r) => { h.release = r; });
    holds.set(name, h);
    return h;
  };
  const wait = async (ctx) => {
    const name = ctx.query.hold;
    if (!name) return;
    const h = holds.get(name);
    h.arrive();
    await h.gate;
  };
  return { hold, wait };
}

module.exports = { useServer, storeOptions, startApp, requestGates, DynamoDBStore, runtimeEnv };
