'use strict';
// The prebuilt binaries where a new user runs them: the packed package installed into an app,
// the app copied into a minimal Debian 12 root that has nothing but what the root's packages
// bring (plus node), run there with chroot, talking to the test DynamoDB server outside the root
// on 127.0.0.1.
//
//   x64    `debootstrap --variant=minbase bookworm` (what node:*-slim images start from) with this
//          machine's node copied in: no libcurl, no OpenSSL library, no ca-certificates.
//   arm64  Debian's own arm64 nodejs (18.x, whose OpenSSL is the system's libssl3) and its
//          dependencies, run under qemu-user: the cross-built linux-arm64 binary.
//
// In each: a koa app's sessions round-trip through DynamoDB; a store talks https to a TLS front
// (through an HTTP CONNECT proxy, with the test's CA given as caFile); the process maps show which
// shared libraries were loaded (no libcurl, and no OpenSSL but node's own). In the x64 root also:
// the CA bundle found where Debian keeps it, when the store is given none.
//
// The roots are built once and cached (test/support/roots.js: ~/.cache/koa-session-dynamodb-store/
// roots/). Skipped, with the reason, where this machine cannot: not root (chroot), no
// debootstrap / qemu-user-static (bash scripts/install-system-deps.sh --prebuild), Debian's mirror
// or the npm registry unreachable, the sanitizer run. Cold (roots, static libraries and both
// binaries built): a few minutes; warm: about a minute.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { startTestServer } = require('./support/server');
const roots = require('./support/roots');
const { childEnv, runBounded, killAll, assertOk, packageCopy } = require('./support/child');
const { makeCert, closer, startTlsFront } = require('./support/tls');

const root = path.join(__dirname, '..');
const NAME = 'koa-session-dynamodb-store';
const BINARY = (arch) => `prebuilds/linux-${arch}/${NAME}.glibc.node`;
const NPM_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 120_000;
// Libraries that only come with something the binaries must not need.
const FORBIDDEN_LIB = /\/lib(curl|jansson|zstd|ssl|crypto|nghttp2|psl|idn2|brotli|z)\.so/;

function skipReason() {
  if (process.env.DDBS_SANITIZED === '1') return 'portability test: not part of the sanitizer run';
  if (process.platform !== 'linux' || process.arch !== 'x64' || fs.existsSync('/etc/alpine-release')) {
    return `the prebuilt binaries are made and tested on linux-x64 (glibc); this is ${process.platform}-${process.arch}`;
  }
  const why = roots.cannotChroot();
  if (why) return why;
  if (!fs.existsSync(path.join(root, 'node_modules', 'prebuildify'))) return 'prebuildify is not installed (npm install)';
  const ping = spawnSync('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=15000'], { env: childEnv(), encoding: 'utf8', timeout: 30_000 });
  if (ping.status !== 0) return 'the npm registry is unreachable (npm ping failed)';
  return false;
}

const children = new Set();
function run(cmd, args, { cwd, env = childEnv(), timeout = STEP_TIMEOUT_MS } = {}) {
  return runBounded(cmd, args, { cwd, env, timeout, children });
}

function lastJson(r) {
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// The consumer's program, run inside the roots. MODE=koa: a koa app's sessions (login, two
// counts with the cookie, a stranger). MODE=store: set, get, destroy, get with the store alone
// (for https: the endpoint, the proxy and the CA file come from the environment). Prints what it
// saw, the native versions, and the shared objects the process has mapped.
const APP = `'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

function mapped() {
  try {
    return [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
      .map((l) => l.slice(l.indexOf('/'))).filter((l) => /\\.so(\\.|$)|\\.node$/.test(l)))].sort();
  } catch (err) { return ['(no /proc: ' + err.code + ')']; }
}
// What node maps by itself, before the package (and its native binary) is loaded.
const mappedBefore = mapped();
const DynamoDBStore = require('${NAME}');

function makeStore() {
  return new DynamoDBStore({
    table: { name: 'sessions' },
    dynamoConfig: {
      region: process.env.DDB_REGION,
      endpoint: process.env.DDB_ENDPOINT,
      accessKeyId: process.env.DDB_ACCESS_KEY_ID,
      secretAccessKey: process.env.DDB_SECRET_ACCESS_KEY,
      ...(process.env.DDB_CA_FILE ? { caFile: process.env.DDB_CA_FILE } : {}),
    },
  });
}

async function koa(out) {
  const Koa = require('koa');
  const { createSession } = require('koa-session');
  const store = makeStore();
  const app = new Koa();
  app.keys = ['consumer key'];
  app.use(createSession({ store, maxAge: 60000 }, app));
  app.use((ctx) => {
    if (ctx.path === '/login') { ctx.session.user = ctx.query.user; ctx.body = { ok: true }; }
    else if (ctx.path === '/count') { ctx.session.count = (ctx.session.count || 0) + 1; ctx.body = { user: ctx.session.user ?? null, count: ctx.session.count }; }
    else ctx.status = 404;
  });
  const server = http.createServer(app.callback());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = 'http://127.0.0.1:' + server.address().port;
  const jar = new Map();
  // node:http rather than fetch: Debian's node 18 has no Headers.getSetCookie.
  function get(p, useJar = true) {
    const headers = {};
    if (useJar && jar.size) headers.cookie = [...jar].map(([k, v]) => k + '=' + v).join('; ');
    return new Promise((resolve, reject) => {
      http.get(base + p, { headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => { body += d; });
        res.on('end', () => {
          if (useJar) for (const c of res.headers['set-cookie'] || []) { const [kv] = c.split(';'); const i = kv.indexOf('='); jar.set(kv.slice(0, i), kv.slice(i + 1)); }
          try { resolve({ status: res.statusCode, body: JSON.parse(body) }); } catch (err) { reject(err); }
        });
      }).on('error', reject);
    });
  }
  out.login = await get('/login?user=alice');
  out.first = await get('/count');
  out.second = await get('/count');
  out.stranger = await get('/count', false);
  server.close();
  await store.close();
}

async function store(out) {
  const s = makeStore();
  const key = 'portable-' + process.pid;
  try {
    await s.set(key, { user: 'bob', n: 1 }, 60000);
    out.got = await s.get(key, 60000);
    await s.destroy(key);
    out.gone = (await s.get(key, 60000)) ?? null;
  } catch (err) {
    out.error = { code: err.code, message: err.message };
  }
  await s.close();
}

(async () => {
  const out = { node: process.version, arch: process.arch, openssl: process.versions.openssl };
  if (process.env.MODE === 'koa') await koa(out); else await store(out);
  const lib = path.dirname(require.resolve('${NAME}'));
  out.native = require(path.join(lib, 'binding.js')).versions();
  out.mapped = mapped();
  out.added = out.mapped.filter((f) => !mappedBefore.includes(f));
  console.log(JSON.stringify(out));
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** An HTTP proxy that tunnels CONNECT to 127.0.0.1 only, and counts the tunnels. */
async function startConnectProxy() {
  const stats = { connects: 0, targets: [] };
  const server = http.createServer((req, res) => { res.writeHead(405); res.end(); });
  server.on('connect', (req, sock, head) => {
    stats.connects++;
    stats.targets.push(req.url);
    const [host, port] = req.url.split(':');
    if (host !== '127.0.0.1') { sock.end('HTTP/1.1 403 Forbidden\r\n\r\n'); return; }
    const up = net.connect(Number(port), host, () => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head && head.length) up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  const close = closer(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stats, close };
}

const reason = skipReason();

describe('the prebuilt binaries in minimal Debian roots', { skip: reason, concurrency: false }, () => {
  let work;
  let server;
  let front;
  let proxy;
  let cert;
  let consumer; // the installed app, outside the roots
  const cleanups = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbs-portable-test-'));
    server = await startTestServer();
    await server.createTable('sessions');
    cert = makeCert(work);
    front = await startTlsFront(server.endpoint, cert);
    proxy = await startConnectProxy();
  });

  after(async () => {
    killAll(children);
    for (const c of cleanups.reverse()) {
      try { c(); } catch {}
    }
    if (proxy) await proxy.close();
    if (front) await front.close();
    if (server) await server.close();
    if (work && process.env.DDBS_KEEP_PACK_TEST !== '1') fs.rmSync(work, { recursive: true, force: true });
  });

  test('npm pack builds both binaries; installed into an app with scripts blocked; readelf: no libcurl, jansson, libssl or libcrypto', { timeout: 1_200_000 }, async (t) => {
    const pkg = packageCopy(root, work);
    const dist = path.join(work, 'dist');
    fs.mkdirSync(dist);
    const packed = assertOk(await run('npm', ['pack', '--pack-destination', dist], { cwd: pkg, timeout: 1_200_000 }));
    t.diagnostic(`npm pack (both prebuilds): ${(packed.ms / 1000).toFixed(1)} s`);
    const tarball = path.join(dist, fs.readdirSync(dist).find((f) => f.endsWith('.tgz')));

    consumer = path.join(work, 'app');
    fs.mkdirSync(consumer);
    assertOk(await run('npm', ['init', '-y'], { cwd: consumer }));
    const inst = assertOk(await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball, 'koa@^3', 'koa-session@^7'], { cwd: consumer, timeout: NPM_TIMEOUT_MS }));
    t.diagnostic(`npm install: ${(inst.ms / 1000).toFixed(1)} s`);
    const pkgDir = path.join(consumer, 'node_modules', NAME);
    assert.ok(!fs.existsSync(path.join(pkgDir, 'build')), 'the install compiled the addon');
    fs.writeFileSync(path.join(consumer, 'app.js'), APP);

    for (const arch of ['x64', 'arm64']) {
      const elf = path.join(pkgDir, BINARY(arch));
      assert.ok(fs.existsSync(elf), `${BINARY(arch)} is not in the installed package`);
      const rd = assertOk(await run('readelf', ['-d', elf])).stdout;
      const needed = [...rd.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      const glibc = [...new Set([...assertOk(await run('objdump', ['-T', elf])).stdout.matchAll(/\bGLIBC_([\d.]+)\b/g)].map((m) => m[1]))]
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      t.diagnostic(`${BINARY(arch)}: ${(fs.statSync(elf).size / 1024).toFixed(0)} kB; NEEDED ${needed.join(', ')}; newest glibc symbol version ${glibc.at(-1)}`);
      assert.deepEqual(needed.filter((l) => /^lib(curl|jansson|ssl|crypto|zstd)\b/.test(l)), [], `${arch} binary links these dynamically`);
      assert.deepEqual(needed.filter((l) => !/^(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2)$/.test(l)), [], `${arch}: unexpected run-time libraries`);
      assert.ok(glibc.every((v) => v.localeCompare('2.17', 'en', { numeric: true }) <= 0), `${arch} needs glibc ${glibc.at(-1)}`);
    }
  });

  /** Copies the installed app into the root (under /tmp); returns its path inside the root. */
  function installInto(rootDir, arch) {
    assert.ok(consumer, 'no installed app (the packing step failed)');
    const inside = `/tmp/ddbs-app-${process.pid}-${arch}`;
    const dest = path.join(rootDir, inside);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.cpSync(consumer, dest, { recursive: true });
    fs.copyFileSync(cert.cert, path.join(dest, 'ca.pem'));
    cleanups.push(() => fs.rmSync(dest, { recursive: true, force: true }));
    return inside;
  }

  function env(extra = {}) {
    return {
      DDB_REGION: server.region,
      DDB_ACCESS_KEY_ID: server.credentials.accessKeyId,
      DDB_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...extra,
    };
  }

  function checkKoa(out) {
    assert.deepEqual(out.login, { status: 200, body: { ok: true } });
    assert.deepEqual(out.first, { status: 200, body: { user: 'alice', count: 1 } });
    assert.deepEqual(out.second, { status: 200, body: { user: 'alice', count: 2 } });
    assert.deepEqual(out.stranger, { status: 200, body: { user: null, count: 1 } });
  }

  function checkStore(out) {
    assert.equal(out.error, undefined, JSON.stringify(out.error));
    assert.deepEqual(out.got, { user: 'bob', n: 1 });
    assert.equal(out.gone, null);
  }

  /**
   * The app ran its native code from the package's prebuilt binary, and loading it brought in no
   * shared library beyond what node had mapped already. With node's own libraries statically
   * linked (x64 here) that means no libcurl and no OpenSSL library at all.
   */
  function checkMapped(t, out, inside, arch, { nodeIsStatic }) {
    t.diagnostic(`node ${out.node} ${out.arch}; native ${JSON.stringify(out.native)}; loading the package added: ${out.added.join(' ')}`);
    assert.equal(out.arch, arch);
    assert.deepEqual(out.added, [`${inside}/node_modules/${NAME}/${BINARY(arch)}`], 'loading the binary mapped other libraries');
    if (nodeIsStatic) assert.deepEqual(out.mapped.filter((f) => FORBIDDEN_LIB.test(f)), [], 'libraries the binary must not need were loaded');
    assert.match(out.native.curlSsl, /^OpenSSL\/3\./);
    assert.equal(out.native.curlSsl, `OpenSSL/${out.openssl.replace(/\+.*/, '')}`, 'libcurl uses the OpenSSL of the node process');
  }

  describe('x64: debootstrap --variant=minbase bookworm, with only node added', () => {
    let rootDir;
    let inside;
    let why;
    before(() => {
      const r = roots.x64Root();
      if (r.skip) { why = r.skip; return; }
      rootDir = r.root;
      // This machine's node (it needs only glibc and libstdc++, which minbase has).
      const node = path.join(rootDir, 'usr', 'local', 'bin', 'node');
      fs.mkdirSync(path.dirname(node), { recursive: true });
      fs.copyFileSync(process.execPath, `${node}.tmp`);
      fs.chmodSync(`${node}.tmp`, 0o755);
      fs.renameSync(`${node}.tmp`, node);
    });
    const skip = (t) => {
      if (rootDir) return false;
      t.skip(why || 'the x64 root could not be built');
      return true;
    };
    const inRoot = (t, mode, extra) => {
      inside = inside || installInto(rootDir, 'x64');
      return roots.runInRoot(rootDir, ['/usr/local/bin/node', `${inside}/app.js`], { env: env({ MODE: mode, ...extra }), children, timeout: STEP_TIMEOUT_MS });
    };

    test('the root has no libcurl, no OpenSSL library and no CA bundle', (t) => {
      if (skip(t)) return;
      const libs = fs.readdirSync(path.join(rootDir, 'usr', 'lib', 'x86_64-linux-gnu'));
      assert.deepEqual(libs.filter((f) => /^lib(curl|ssl|crypto|jansson)\.so/.test(f)), []);
      assert.ok(!fs.existsSync(path.join(rootDir, 'etc', 'ssl', 'certs', 'ca-certificates.crt')));
    });

    test('koa sessions round-trip through DynamoDB (http)', { timeout: STEP_TIMEOUT_MS * 2 }, async (t) => {
      if (skip(t)) return;
      server.resetStats();
      const r = assertOk(await inRoot(t, 'koa', { DDB_ENDPOINT: server.endpoint }));
      t.diagnostic(`koa app in the x64 root: ${(r.ms / 1000).toFixed(1)} s`);
      const out = lastJson(r);
      checkKoa(out);
      checkMapped(t, out, inside, 'x64', { nodeIsStatic: true });
      assert.equal(server.stats.rejected, 0, server.stats.rejections.join('\n'));
      assert.ok(server.stats.byTarget.UpdateItem >= 2 && server.stats.byTarget.GetItem >= 2, JSON.stringify(server.stats.byTarget));
    });

    test('https through a CONNECT proxy, the CA given as caFile', { timeout: STEP_TIMEOUT_MS * 2 }, async (t) => {
      if (skip(t)) return;
      const before = { tls: front.stats.requests, connects: proxy.stats.connects };
      const r = assertOk(await inRoot(t, 'store', { DDB_ENDPOINT: front.url, DDB_CA_FILE: `${inside}/ca.pem`, HTTPS_PROXY: proxy.url }));
      const out = lastJson(r);
      checkStore(out);
      checkMapped(t, out, inside, 'x64', { nodeIsStatic: true });
      assert.ok(front.stats.requests - before.tls >= 3, 'the requests did not reach the TLS front');
      assert.ok(proxy.stats.connects - before.connects >= 1, 'the connection did not go through the proxy');
    });

    test('https with no CA option: Debian\'s bundle path (/etc/ssl/certs/ca-certificates.crt) is used; without it, verification fails', { timeout: STEP_TIMEOUT_MS * 3 }, async (t) => {
      if (skip(t)) return;
      const bundle = path.join(rootDir, 'etc', 'ssl', 'certs', 'ca-certificates.crt');
      const none = lastJson(assertOk(await inRoot(t, 'store', { DDB_ENDPOINT: front.url })));
      assert.ok(none.error, 'https succeeded without any CA certificate');
      t.diagnostic(`no bundle: ${none.error.code}: ${none.error.message.split('\n')[0]}`);
      fs.mkdirSync(path.dirname(bundle), { recursive: true });
      fs.copyFileSync(cert.cert, bundle);
      try {
        checkStore(lastJson(assertOk(await inRoot(t, 'store', { DDB_ENDPOINT: front.url }))));
      } finally {
        fs.rmSync(bundle, { force: true });
      }
    });

    test('https with no CA option on an Amazon Linux / Fedora layout (/etc/pki/tls/certs/ca-bundle.crt)', {
      timeout: STEP_TIMEOUT_MS * 2,
    }, async (t) => {
      if (skip(t)) return;
      const bundle = path.join(rootDir, 'etc', 'pki', 'tls', 'certs', 'ca-bundle.crt');
      fs.mkdirSync(path.dirname(bundle), { recursive: true });
      fs.copyFileSync(cert.cert, bundle);
      try {
        checkStore(lastJson(assertOk(await inRoot(t, 'store', { DDB_ENDPOINT: front.url }))));
      } finally {
        fs.rmSync(path.join(rootDir, 'etc', 'pki'), { recursive: true, force: true });
      }
    });
  });

  describe('arm64: Debian\'s arm64 nodejs under qemu-user', () => {
    let rootDir;
    let inside;
    let why;
    before(() => {
      const r = roots.arm64Root();
      if (r.skip) why = r.skip; else rootDir = r.root;
    });
    const skip = (t) => {
      if (rootDir) return false;
      t.skip(why || 'the arm64 root could not be built');
      return true;
    };
    const inRoot = (t, mode, extra) => {
      inside = inside || installInto(rootDir, 'arm64');
      return roots.runInRoot(rootDir, ['/usr/bin/qemu-aarch64-static', '/usr/bin/node', `${inside}/app.js`],
        { env: env({ MODE: mode, ...extra }), children, timeout: STEP_TIMEOUT_MS * 2 });
    };

    test('koa sessions round-trip through DynamoDB (http)', { timeout: STEP_TIMEOUT_MS * 3 }, async (t) => {
      if (skip(t)) return;
      server.resetStats();
      const r = assertOk(await inRoot(t, 'koa', { DDB_ENDPOINT: server.endpoint }));
      t.diagnostic(`koa app in the arm64 root under qemu: ${(r.ms / 1000).toFixed(1)} s`);
      const out = lastJson(r);
      checkKoa(out);
      // Debian's node uses the system's OpenSSL (libssl3): the binary uses it too, through node.
      checkMapped(t, out, inside, 'arm64', { nodeIsStatic: false });
      assert.equal(server.stats.rejected, 0, server.stats.rejections.join('\n'));
      assert.ok(server.stats.byTarget.UpdateItem >= 2 && server.stats.byTarget.GetItem >= 2, JSON.stringify(server.stats.byTarget));
    });

    test('https through a CONNECT proxy, the CA given as caFile', { timeout: STEP_TIMEOUT_MS * 3 }, async (t) => {
      if (skip(t)) return;
      const before = { tls: front.stats.requests, connects: proxy.stats.connects };
      const r = assertOk(await inRoot(t, 'store', { DDB_ENDPOINT: front.url, DDB_CA_FILE: `${inside}/ca.pem`, HTTPS_PROXY: proxy.url }));
      const out = lastJson(r);
      checkStore(out);
      checkMapped(t, out, inside, 'arm64', { nodeIsStatic: false });
      assert.ok(front.stats.requests - before.tls >= 3, 'the requests did not reach the TLS front');
      assert.ok(proxy.stats.connects - before.connects >= 1, 'the connection did not go through the proxy');
    });
  });
});
