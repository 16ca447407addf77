'use strict';
// TLS and proxies. The signature-verifying test server gets an https front with a self-signed
// certificate made at test time (openssl): the native client must refuse it by default (peer and
// host name are verified), and accept it with dynamoConfig.caFile or AWS_CA_BUNDLE. libcurl's own
// proxy variables are honoured: http_proxy for an http endpoint (a forward proxy), HTTPS_PROXY
// for an https one (CONNECT), and NO_PROXY bypasses both. Everything listens on 127.0.0.1; the
// proxy variables are set only in children (libcurl reads them in the store's thread).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { useServer } = require('./helpers');
const { makeCert, closer, startTlsFront: startTlsFrontServer } = require('./support/tls');

const root = path.join(__dirname, '..');
let dir;

let good; // for IP:127.0.0.1 and localhost
let wrongHost; // a valid certificate, but for another name

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbstore-tls-'));
  good = makeCert(dir, 'good', 'IP:127.0.0.1,DNS:localhost');
  wrongHost = makeCert(dir, 'other', 'DNS:other.example');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An https server in front of `target` (support/tls.js), closed after test t. */
async function startTlsFront(t, target, cert) {
  const front = await startTlsFrontServer(target, cert);
  t.after(front.close);
  return front;
}

/** A proxy: forwards absolute-URI requests (http_proxy) and tunnels CONNECT (HTTPS_PROXY); counts both. */
async function startProxy(t) {
  const stats = { forwarded: 0, connects: 0, targets: [] };
  const server = http.createServer((req, res) => {
    stats.forwarded++;
    const u = new URL(req.url);
    stats.targets.push(`${req.method} ${u.host}`);
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const fwd = http.request({ host: u.hostname, port: u.port, method: req.method, path: u.pathname + u.search, headers }, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.rawHeaders);
      upRes.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  server.on('connect', (req, socket, head) => {
    stats.connects++;
    stats.targets.push(`CONNECT ${req.url}`);
    const [host, port] = req.url.split(':');
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(closer(server));
  return { url: `http://127.0.0.1:${server.address().port}`, stats };
}

// A store in a child, built from T_OPTIONS (JSON) and the child's environment: set + get, then a report.
const CHILD = `
const DynamoDBStore = require('.');
(async () => {
  const out = {};
  let store;
  try {
    store = new DynamoDBStore(JSON.parse(process.env.T_OPTIONS));
    await store.set('child', { tls: true }, 60000);
    out.value = await store.get('child');
  } catch (err) {
    out.error = { name: err.name, code: err.code, message: err.message };
  }
  if (store) await store.close().catch(() => {});
  process.stdout.write(JSON.stringify(out) + '\\n');
})();
`;

function runChild(options, env = {}) {
  return new Promise((resolve, reject) => {
    const base = { PATH: process.env.PATH, HOME: dir, AWS_EC2_METADATA_DISABLED: 'true', ...require('./helpers').runtimeEnv() };
    const child = spawn(process.execPath, ['-e', CHILD], { cwd: root, env: { ...base, ...env, T_OPTIONS: JSON.stringify(options) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child timed out\n${stdout}\n${stderr}`)); }, 20000);
    child.on('exit', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch {
        reject(new Error(`child printed no result\n${stdout}\n${stderr}`));
      }
    });
  });
}

function options(server, endpoint, dynamoConfig = {}) {
  return {
    table: { name: 'sessions' },
    dynamoConfig: { region: server.region, endpoint, accessKeyId: server.credentials.accessKeyId, secretAccessKey: server.credentials.secretAccessKey, ...dynamoConfig },
  };
}

async function roundTrip(store) {
  await store.set('tls-key', { n: 1 }, 60000);
  assert.deepEqual(await store.get('tls-key'), { n: 1 });
}

test('https with a self-signed certificate: refused by default, with an error that names the certificate', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const front = await startTlsFront(t, server.endpoint, good);
  const store = server.store({ dynamoConfig: { endpoint: front.url } });
  const err = await store.get('k').then(() => null, (e) => e);
  assert.ok(err, 'an unknown CA must be refused');
  assert.equal(err.code, 'NetworkingError');
  assert.match(err.message, /^GetItem failed \(SSL certificate problem: self.signed certificate/i, 'libcurl\'s detail, not its generic message');
  assert.equal(front.stats.requests, 0, 'no request got through');
  assert.equal(server.stats.requests, 0);
});

test('https accepted with dynamoConfig.caFile; the host name is still checked', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const front = await startTlsFront(t, server.endpoint, good);
  await roundTrip(server.store({ dynamoConfig: { endpoint: front.url, caFile: good.cert } }));
  assert.ok(front.stats.requests >= 2);
  assert.ok(server.stats.verified >= 2);

  // localhost is in the certificate too.
  await roundTrip(server.store({ dynamoConfig: { endpoint: `https://localhost:${front.port}`, caFile: good.cert } }));

  // A trusted certificate for another name: refused (VERIFYHOST).
  const other = await startTlsFront(t, server.endpoint, wrongHost);
  const err = await server.store({ dynamoConfig: { endpoint: other.url, caFile: wrongHost.cert } }).get('k').then(() => null, (e) => e);
  assert.ok(err, 'a certificate for another host must be refused');
  assert.equal(err.code, 'NetworkingError');
  assert.match(err.message, /certificate|subject name/i);
  assert.equal(other.stats.requests, 0);
});

test('a CA file that cannot be read: a TypeError at construction naming where it came from', async (t) => {
  const server = await useServer(t);
  assert.throws(() => server.store({ dynamoConfig: { endpoint: 'https://127.0.0.1:1', caFile: path.join(dir, 'missing.pem') } }),
    (e) => e instanceof TypeError && /option dynamoConfig\.caFile: cannot read the CA file .*missing\.pem.*ENOENT/.test(e.message));
});

test('https accepted with AWS_CA_BUNDLE (child process)', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const front = await startTlsFront(t, server.endpoint, good);
  const refused = await runChild(options(server, front.url));
  assert.equal(refused.error && refused.error.code, 'NetworkingError', JSON.stringify(refused));
  const ok = await runChild(options(server, front.url), { AWS_CA_BUNDLE: good.cert });
  assert.deepEqual(ok.value, { tls: true }, JSON.stringify(ok));
  const missing = await runChild(options(server, front.url), { AWS_CA_BUNDLE: path.join(dir, 'nope.pem') });
  assert.match(missing.error.message, /^AWS_CA_BUNDLE: cannot read the CA file/);
});

test('http_proxy: requests to an http endpoint go through the proxy; NO_PROXY bypasses it (child processes)', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const proxy = await startProxy(t);
  const host = new URL(server.endpoint).host;

  const via = await runChild(options(server, server.endpoint), { http_proxy: proxy.url });
  assert.deepEqual(via.value, { tls: true }, JSON.stringify(via));
  assert.equal(proxy.stats.forwarded, 2, 'PutItem and GetItem through the proxy');
  assert.deepEqual(proxy.stats.targets, [`POST ${host}`, `POST ${host}`]);

  for (const noProxy of [{ NO_PROXY: '127.0.0.1' }, { no_proxy: 'localhost,127.0.0.1' }, { NO_PROXY: '*' }]) {
    const direct = await runChild(options(server, server.endpoint), { http_proxy: proxy.url, ...noProxy });
    assert.deepEqual(direct.value, { tls: true }, JSON.stringify(direct));
    assert.equal(proxy.stats.forwarded, 2, `bypassed with ${JSON.stringify(noProxy)}`);
  }
  assert.equal(server.stats.rejected, 0);
});

test('proxy precedence as libcurl: HTTP_PROXY (upper case) is ignored for http, ALL_PROXY / all_proxy apply, http_proxy wins over ALL_PROXY', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const proxy = await startProxy(t);

  const upper = await runChild(options(server, server.endpoint), { HTTP_PROXY: proxy.url });
  assert.deepEqual(upper.value, { tls: true }, JSON.stringify(upper));
  assert.equal(proxy.stats.forwarded, 0, 'HTTP_PROXY is not read (libcurl ignores it on purpose)');

  for (const all of [{ ALL_PROXY: proxy.url }, { all_proxy: proxy.url }]) {
    const before = proxy.stats.forwarded;
    const via = await runChild(options(server, server.endpoint), all);
    assert.deepEqual(via.value, { tls: true }, JSON.stringify(via));
    assert.equal(proxy.stats.forwarded, before + 2, `through the proxy with ${Object.keys(all)[0]}`);
  }

  // http_proxy set to an unreachable proxy wins over a working ALL_PROXY: the request fails
  const dead = await runChild(options(server, server.endpoint), { http_proxy: 'http://127.0.0.1:1', ALL_PROXY: proxy.url });
  assert.ok(dead.error, JSON.stringify(dead));
  assert.equal(server.stats.rejected, 0);
});

test('HTTPS_PROXY: an https endpoint is reached through a CONNECT tunnel (TLS still verified end to end); NO_PROXY bypasses it', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const front = await startTlsFront(t, server.endpoint, good);
  const proxy = await startProxy(t);

  const via = await runChild(options(server, front.url, { caFile: good.cert }), { HTTPS_PROXY: proxy.url });
  assert.deepEqual(via.value, { tls: true }, JSON.stringify(via));
  assert.ok(proxy.stats.connects >= 1);
  assert.ok(proxy.stats.targets.every((x) => x === `CONNECT 127.0.0.1:${front.port}`), proxy.stats.targets.join(', '));
  assert.equal(proxy.stats.forwarded, 0);

  // Through the tunnel the certificate is still checked: without the CA, refused.
  const connects = proxy.stats.connects;
  const refused = await runChild(options(server, front.url), { https_proxy: proxy.url });
  assert.equal(refused.error && refused.error.code, 'NetworkingError', JSON.stringify(refused));
  assert.match(refused.error.message, /certificate/i);
  assert.ok(proxy.stats.connects > connects);

  const before = proxy.stats.connects;
  const direct = await runChild(options(server, front.url, { caFile: good.cert }), { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
  assert.deepEqual(direct.value, { tls: true }, JSON.stringify(direct));
  assert.equal(proxy.stats.connects, before, 'NO_PROXY: no tunnel');
});
