#!/usr/bin/env node
'use strict';
// Demo: a koa app whose koa-session sessions live in DynamoDB through koa-session-dynamodb-store.
// One page: a sign-in form (POST /login, field "name"), then "Hello <name>, visit #N" and a
// sign-out button (POST /logout destroys the session, in the table too).
//
//   npm start                                     embedded dynalite (in memory), port 3000
//   PORT=8080 HOST=0.0.0.0 npm start              another port / interface (PORT=0: any free port)
//   AWS_REGION=eu-west-1 npm start                real DynamoDB; credentials from AWS_ACCESS_KEY_ID /
//                                                 AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN)
//   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 \
//     AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x npm start    DynamoDB Local (or another endpoint)
//
// Other settings: SESSION_TABLE (default "sessions"; created at start when missing), SESSION_KEYS
// (comma-separated cookie signing keys; without it the demo uses well-known demo keys), SESSION_TTL=off
// (do not enable DynamoDB's TTL on the table, for endpoints that lack UpdateTimeToLive).
// With none of DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, AWS_REGION and
// AWS_DEFAULT_REGION set, it runs an embedded dynalite (a devDependency) on 127.0.0.1.
//
// As a module: `const { start } = require('./examples/app')`; `await start({ port: 0 })` returns
// { url, close, store }.

const http = require('node:http');
const Koa = require('koa');
const { createSession } = require('koa-session');
const DynamoDBStore = require('..');

const { DynamoDBStoreError } = DynamoDBStore;

const DEMO_KEYS = ['koa-session-dynamodb-store demo key 1', 'koa-session-dynamodb-store demo key 2'];
const MAX_FORM_BYTES = 4096;
const MAX_NAME_LENGTH = 60;

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function page(body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>koa-session-dynamodb-store demo</title>
<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:3em auto}small{color:#666}</style></head>
<body><h1>koa-session-dynamodb-store demo</h1>
${body}
</body></html>
`;
}

// The request body of an application/x-www-form-urlencoded POST, parsed by hand (no body parser).
async function readForm(ctx) {
  if (!ctx.request.is('urlencoded')) ctx.throw(415, 'send the form as application/x-www-form-urlencoded');
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_FORM_BYTES) ctx.throw(413, 'form too large');
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) ctx.throw(413, 'form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Where the sessions go: null means "nothing configured" (then the embedded dynalite).
function configuredDynamo(env) {
  const endpoint = env.DYNAMODB_ENDPOINT || env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!endpoint && !region) return null;
  // The store itself reads AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL(_DYNAMODB) and the
  // AWS_ACCESS_KEY_ID family; DYNAMODB_ENDPOINT is this demo's own name, passed as an option.
  return env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {};
}

async function startDynalite() {
  let dynalite;
  try {
    dynalite = require('dynalite');
  } catch (cause) {
    throw new Error('no DynamoDB is configured and dynalite (a devDependency) is not installed: run `npm install`, ' +
      'or set AWS_REGION (real DynamoDB) or DYNAMODB_ENDPOINT', { cause });
  }
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// Says what to do about an error from the store's start-up (createTableIfDontExists).
function explain(err, where) {
  const code = err && err.code;
  const lines = [`cannot use DynamoDB ${where}: ${code ? `${code}: ` : ''}${err && err.message}`];
  switch (code) {
    case 'CredentialsError':
      lines.push('No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for DynamoDB Local).',
        'This store does not read ~/.aws/credentials or AWS_PROFILE.');
      break;
    case 'NetworkingError':
    case 'TimeoutError':
      lines.push('DynamoDB did not answer: check DYNAMODB_ENDPOINT / AWS_ENDPOINT_URL / AWS_REGION and the network' +
        ' (is DynamoDB Local running?).');
      break;
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'IncompleteSignatureException':
      lines.push('DynamoDB refused the credentials: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and the region.');
      break;
    case 'AccessDeniedException':
      lines.push('These credentials lack permissions: the demo needs dynamodb:DescribeTable, CreateTable, DescribeTimeToLive,',
        'UpdateTimeToLive and UpdateTable on the table (or create it yourself), then GetItem, PutItem and DeleteItem.');
      break;
    case 'UnknownOperationException':
      lines.push(`This DynamoDB implementation lacks ${err.operation || 'an operation'} (dynalite and some emulators have no TTL):` +
        ' start with SESSION_TTL=off.');
      break;
    case 'ResourceInUseException':
      lines.push('The table is being deleted or changed: try again in a minute, or set SESSION_TABLE to another name.');
      break;
    default:
      if (err instanceof TypeError || err instanceof RangeError) lines.push('Check the settings above (see the header of examples/app.js).');
  }
  return lines.join('\n');
}

function parsePort(value) {
  if (value === undefined || value === '') return 3000;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`PORT must be a port number (0 for any free port), got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Starts the demo. Options: port (default 3000; 0: any free port), host (default 127.0.0.1),
 * env (default process.env), log / warn (default console.log / console.warn).
 * Resolves to { url, store, close() }; close() stops the server, the store and the dynalite.
 */
async function start(options = {}) {
  const env = options.env || process.env;
  const log = options.log || console.log;
  const warn = options.warn || console.warn;
  const port = options.port === undefined ? 3000 : options.port;
  const host = options.host || '127.0.0.1';
  const tableName = env.SESSION_TABLE || 'sessions';

  let keys = (env.SESSION_KEYS || '').split(',').map((k) => k.trim()).filter(Boolean);
  if (keys.length === 0) {
    keys = DEMO_KEYS;
    warn('warning: signing session cookies with the demo keys, which everyone knows: set SESSION_KEYS (comma-separated) for anything real');
  }

  const cleanups = []; // run in reverse order by close()
  async function cleanup() {
    while (cleanups.length) {
      try {
        await cleanups.pop()();
      } catch (err) {
        warn(`warning: while stopping: ${err.message}`);
      }
    }
  }

  let store;
  let where;
  try {
    const configured = configuredDynamo(env);
    let storeOptions;
    if (configured) {
      storeOptions = {
        // On demand, so that an existing table's provisioned capacity is left as it is.
        table: { name: tableName, billingMode: 'PAY_PER_REQUEST', useTtlExpired: env.SESSION_TTL !== 'off' },
        dynamoConfig: configured,
      };
    } else {
      const local = await startDynalite();
      cleanups.push(local.close);
      log(`no DynamoDB configured: using an embedded dynalite at ${local.endpoint} (in memory; sessions vanish when the demo stops)`);
      storeOptions = {
        // dynalite does not implement UpdateTimeToLive, so createTableIfDontExists must not try to
        // enable TTL. That only skips DynamoDB's background deletion of expired items: the store
        // still writes the expiry attribute and get() ignores sessions that have expired.
        table: { name: tableName, billingMode: 'PAY_PER_REQUEST', useTtlExpired: false },
        // dynalite checks no signature, but the store signs every request: any keys do.
        dynamoConfig: { endpoint: local.endpoint, region: 'us-east-1', accessKeyId: 'demo', secretAccessKey: 'demo', maxAttempts: 2 },
      };
    }
    store = new DynamoDBStore(storeOptions);
    cleanups.push(() => store.close());
    const info = store.toJSON();
    where = `at ${info.endpoint} (region ${info.region})`;
    if (configured) log(`using DynamoDB ${where}, table ${tableName}`);
    await store.createTableIfDontExists();
  } catch (err) {
    await cleanup();
    throw Object.assign(new Error(explain(err, where || '(configuration)'), { cause: err }), { code: err && err.code, explained: true });
  }

  const app = new Koa();
  app.keys = keys;
  app.proxy = false;

  // Errors: a DynamoDB failure is a 503 page (DynamoDBStoreError has no status of its own, so koa
  // would make it a 500 anyway); anything else keeps koa's handling.
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
    try {
      await next();
    } catch (err) {
      if (!(err instanceof DynamoDBStoreError) && !(err && err.code === 'CredentialsError')) throw err;
      warn(`session storage failed: ${err.code}: ${err.message}`);
      ctx.status = 503;
      ctx.body = page('<p>Session storage is unavailable right now; try again in a moment.</p>');
    }
  });

  app.use(createSession({
    store,
    key: 'koa.sess',
    maxAge: 24 * 60 * 60 * 1000,
    httpOnly: true,
    sameSite: 'lax',
  }, app));

  const storedIn = `stored in DynamoDB table ${escapeHtml(tableName)}`;

  app.use(async (ctx) => {
    if (ctx.path === '/' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      const sess = ctx.session;
      if (sess && typeof sess.name === 'string') {
        sess.visits = (Number(sess.visits) || 0) + 1;
        const id = sess.externalKey ? `${String(sess.externalKey).slice(0, 8)}…` : '';
        ctx.body = page(`<p>Hello ${escapeHtml(sess.name)}, visit #${sess.visits}</p>
<form method="post" action="/logout"><button>Sign out</button></form>
<p><small>Your session ${escapeHtml(id)} is ${storedIn}; the cookie holds only its id.</small></p>`);
      } else {
        ctx.body = page(`<form method="post" action="/login">
<label>Your name <input name="name" maxlength="${MAX_NAME_LENGTH}" required autofocus></label>
<button>Sign in</button></form>
<p><small>Signing in starts a session ${storedIn}.</small></p>`);
      }
      return;
    }
    if (ctx.path === '/login' && ctx.method === 'POST') {
      const name = (await readForm(ctx)).get('name');
      const trimmed = typeof name === 'string' ? name.trim() : '';
      if (!trimmed || trimmed.length > MAX_NAME_LENGTH) {
        ctx.status = 400;
        ctx.body = page(`<p>Please give a name of 1 to ${MAX_NAME_LENGTH} characters. <a href="/">Back</a></p>`);
        return;
      }
      const sess = ctx.session;
      const existing = sess && !sess.isNew;
      sess.name = trimmed;
      sess.visits = 0;
      // Signing in gets a new session id, so that an id known before (fixation) is worth nothing.
      if (existing) await sess.regenerate();
      ctx.status = 303;
      ctx.redirect('/');
      return;
    }
    if (ctx.path === '/logout' && ctx.method === 'POST') {
      ctx.session = null; // koa-session deletes the item (store.destroy) and clears the cookie
      ctx.status = 303;
      ctx.redirect('/');
      return;
    }
    ctx.status = 404;
    ctx.body = page('<p>Not found. <a href="/">Home</a></p>');
  });

  const server = http.createServer(app.callback());
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  }).catch(async (err) => {
    await cleanup();
    if (err.code === 'EADDRINUSE') err.message = `port ${port} on ${host} is in use: set PORT to another one (or 0 for any free port)`;
    throw err;
  });
  cleanups.push(() => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // Requests still running get a moment, then their connections go too.
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  }));

  const address = server.address();
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  log(`listening on ${url}`);

  let closing = null;
  return {
    url,
    store,
    close() {
      if (!closing) closing = cleanup();
      return closing;
    },
  };
}

async function main() {
  let demo;
  try {
    demo = await start({ port: parsePort(process.env.PORT), host: process.env.HOST || '127.0.0.1' });
  } catch (err) {
    console.error(err.explained ? err.message : `cannot start the demo: ${err.message}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal) => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    console.log(`${signal}: stopping`);
    setTimeout(() => {
      console.error('could not stop within 10 s: exiting');
      process.exit(1);
    }, 10000).unref();
    demo.close().then(() => {
      console.log('stopped');
      process.exit(0);
    }, (err) => {
      console.error(`while stopping: ${err.message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) main();

module.exports = { start, escapeHtml, explain };
