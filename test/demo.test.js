'use strict';
// The demo (examples/app.js), as `npm start` runs it: a child process with no AWS settings, so it
// uses its embedded dynalite; then sign in, count visits, sign out over real HTTP with a cookie
// jar; then a signal must stop it (exit 0) within a few seconds, even with a request stuck
// half-sent. Also start() used as a module.
const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { createClient } = require('./support/cookie-client');

const root = path.join(__dirname, '..');
const app = path.join(root, 'examples', 'app.js');
const START_MS = 20000;
const STOP_MS = 8000; // the demo gives requests in flight 2 s, and its own watchdog exits 1 at 10 s

// The environment of `npm start` on a machine with no DynamoDB configured.
function demoEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^AWS_/.test(k) || k === 'DYNAMODB_ENDPOINT' || k === 'SESSION_KEYS' || k === 'SESSION_TABLE' || k === 'SESSION_TTL' || k === 'HOST') delete env[k];
  }
  return { ...env, PORT: '0', ...extra };
}

const children = new Set();
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts the demo; resolves to { child, url, out(), err(), exited } once it says where it listens. */
function startDemo(extraEnv) {
  const child = spawn(process.execPath, [app], { cwd: root, env: demoEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start within ${START_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`)), START_MS);
    const check = () => {
      const m = /^listening on (http:\/\/\S+)$/m.exec(stdout);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', check);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code ?? signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  return ready.then((url) => ({ child, url, exited, out: () => stdout, err: () => stderr }));
}

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('examples/app.js', { timeout: 60000 }, () => {
  it('signs in, counts visits, escapes the name, signs out; SIGINT stops it with exit 0', { timeout: 45000 }, async () => {
    const demo = await startDemo();
    assert.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'listens on 127.0.0.1 only');
    assert.match(demo.out(), /^no DynamoDB configured: using an embedded dynalite at http:\/\/127\.0\.0\.1:\d+ \(in memory; sessions vanish when the demo stops\)$/m);
    assert.match(demo.err(), /demo keys/, 'warns that the cookie keys are the demo keys');

    const c = createClient(demo.url, { privateAgent: true });
    try {
      let r = await c.get('/');
      assert.equal(r.status, 200);
      assert.match(r.text, /<form method="post" action="\/login">/);
      assert.match(r.text, /name="name"/);
      assert.doesNotMatch(r.text, /Hello/);
      assert.deepEqual(Object.keys(c.cookies()), [], 'no session before signing in');

      const name = '<script>x</script>';
      r = await c.post('/login', `name=${encodeURIComponent(name)}`, { headers: FORM });
      assert.ok([200, 302, 303].includes(r.status), `POST /login: ${r.status} ${r.text}`);
      if (r.status !== 200) assert.equal(r.headers.location, '/');
      assert.ok(c.cookies()['koa.sess'], 'the session cookie is set');

      for (let n = 1; n <= 3; n++) {
        r = await c.get('/');
        assert.equal(r.status, 200);
        assert.match(r.text, new RegExp(`Hello &lt;script&gt;x&lt;/script&gt;, visit #${n}\\b`));
        assert.ok(!r.text.includes(name), 'the name is HTML-escaped');
        assert.match(r.text, /stored in DynamoDB table sessions/);
        assert.match(r.text, /action="\/logout"/);
      }
      const signedIn = c.cookies();

      r = await c.post('/logout', '', { headers: FORM });
      assert.ok([200, 302, 303].includes(r.status), `POST /logout: ${r.status} ${r.text}`);
      assert.equal(c.cookies()['koa.sess'], undefined, 'the session cookie is cleared');
      r = await c.get('/');
      assert.equal(r.status, 200);
      assert.match(r.text, /action="\/login"/);
      assert.doesNotMatch(r.text, /Hello/);

      // The old cookie is worth nothing now: the item was deleted from the table.
      const old = createClient(demo.url, { privateAgent: true });
      try {
        for (const [k, v] of Object.entries(signedIn)) old.setCookie(k, v);
        r = await old.get('/');
        assert.equal(r.status, 200);
        assert.match(r.text, /action="\/login"/);
        assert.doesNotMatch(r.text, /Hello/);
      } finally {
        old.close();
      }

      // A wrong body is refused, not a crash.
      r = await c.post('/login', 'name=x', { headers: { 'Content-Type': 'text/plain' } });
      assert.equal(r.status, 415);
      r = await c.post('/login', 'name=', { headers: FORM });
      assert.equal(r.status, 400);
    } finally {
      c.close(); // keep-alive sockets stay open in the demo until it stops: it must close them
    }

    // An idle keep-alive connection must not keep it alive.
    const idle = net.connect(new URL(demo.url).port, '127.0.0.1');
    await new Promise((resolve, reject) => idle.once('connect', resolve).once('error', reject));
    idle.on('error', () => {});

    const t0 = Date.now();
    demo.child.kill('SIGINT');
    const { code, signal } = await within(demo.exited, STOP_MS, 'exit after SIGINT');
    idle.destroy();
    assert.equal(signal, null, `killed by ${signal}\nstderr: ${demo.err()}`);
    assert.equal(code, 0, `exit code ${code}\nstdout: ${demo.out()}\nstderr: ${demo.err()}`);
    assert.match(demo.out(), /stopped/);
    assert.ok(Date.now() - t0 < STOP_MS);
  });

  it('SIGTERM stops it with exit 0 even while a request is stuck half-sent', { timeout: 30000 }, async () => {
    const demo = await startDemo();
    const { port } = new URL(demo.url);
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    sock.on('error', () => {});
    sock.write('POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname=');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the app is now reading the body

    demo.child.kill('SIGTERM');
    const { code, signal } = await within(demo.exited, STOP_MS, 'exit after SIGTERM');
    sock.destroy();
    assert.equal(signal, null, `killed by ${signal}\nstderr: ${demo.err()}`);
    assert.equal(code, 0, `exit code ${code}\nstdout: ${demo.out()}\nstderr: ${demo.err()}`);
  });

  it('start() as a module: { url, close }', { timeout: 30000 }, async () => {
    const { start } = require('../examples/app');
    const lines = [];
    const demo = await start({ port: 0, env: {}, log: (s) => lines.push(s), warn: (s) => lines.push(s) });
    try {
      assert.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(lines.some((l) => /^no DynamoDB configured: using an embedded dynalite/.test(l)), lines.join('\n'));
      assert.ok(lines.includes(`listening on ${demo.url}`), lines.join('\n'));
      const r = await within(fetch(`${demo.url}/`), 10000, 'GET /');
      assert.equal(r.status, 200);
      assert.match(await r.text(), /action="\/login"/);
    } finally {
      await within(demo.close(), STOP_MS, 'close()');
    }
    await within(demo.close(), 1000, 'close() again'); // idempotent
    await assert.rejects(fetch(`${demo.url}/`), 'the server is closed');
    await assert.rejects(demo.store.get('x'), (err) => err.code === 'StoreClosed');
  });
});
