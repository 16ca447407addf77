'use strict';
// The package as a user meets it: `npm pack` (prepack builds the prebuilt binary), then a fresh
// project that installs the tarball with npm's default settings (dependency install scripts
// blocked) plus koa and koa-session, and runs a koa app whose sessions live in the test DynamoDB
// server. Then the failure paths (a binary that does not fit this system's glibc; no binary that
// fits: the error says what to do) and the build-from-source path (the install script approved,
// the prebuilt binaries removed). The prebuilt binaries in minimal Debian roots, x64 and arm64:
// test/portable.test.js.
//
// Everything happens in a temporary directory: the package is packed from a scratch copy of the
// project, so this tree's build/ and prebuilds/ are never touched. npm uses its usual cache
// (~/.npm), so a second run needs the registry only for a quick metadata check. Skipped, with a
// message, when the npm registry is unreachable, off linux-x64, and in the sanitizer run.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startTestServer } = require('./support/server');
const { childEnv, runBounded, killAll, assertOk, packageCopy } = require('./support/child');

const root = path.join(__dirname, '..');
const NAME = 'koa-session-dynamodb-store';
const PREBUILT = `prebuilds/linux-x64/${NAME}.glibc.node`;
const PREBUILT_ARM64 = `prebuilds/linux-arm64/${NAME}.glibc.node`;
const NPM_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 60_000;

function skipReason() {
  if (process.env.DDBS_SANITIZED === '1') return 'packaging test: not part of the sanitizer run';
  if (process.platform !== 'linux' || process.arch !== 'x64' || fs.existsSync('/etc/alpine-release')) {
    return `the package's prebuilt binaries are built and tested on linux-x64 (glibc); this is ${process.platform}-${process.arch}`;
  }
  if (!fs.existsSync(path.join(root, 'node_modules', 'prebuildify'))) return 'prebuildify is not installed (npm install)';
  // prepack cross-builds the arm64 binary and builds libcurl and zstd from Debian's sources.
  try {
    const { toolchain } = require('../scripts/static-deps');
    toolchain('x64');
    toolchain('arm64');
  } catch (err) {
    return `cannot build the prebuilt binaries here: ${err.message}`;
  }
  const ping = spawnSync('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=15000'], { env: childEnv(), encoding: 'utf8', timeout: 30_000 });
  if (ping.status !== 0) {
    const why = (ping.error && ping.error.message) ||
      (ping.stderr || '').split('\n').filter((l) => l.trim() && !/complete log/.test(l)).slice(0, 2).join(' ');
    return `the npm registry is unreachable (npm ping: ${why})`;
  }
  return false;
}

const children = new Set();
/** Runs cmd in its own process group, bounded in time (support/child.js runBounded). */
function run(cmd, args, { cwd, env = childEnv(), timeout = STEP_TIMEOUT_MS } = {}) {
  return runBounded(cmd, args, { cwd, env, timeout, children });
}

function npm(t, args, cwd, timeout = NPM_TIMEOUT_MS) {
  return run('npm', args, { cwd, timeout }).then((r) => {
    t.diagnostic(`npm ${args.join(' ')}: ${(r.ms / 1000).toFixed(1)} s`);
    return assertOk(r);
  });
}

// The consumer's koa app: logs in, then counts twice with the session cookie; a client without the
// cookie is a stranger. Prints what it saw and which native binary the process loaded.
const APP = `'use strict';
const http = require('node:http');
const fs = require('node:fs');
const Koa = require('koa');
const { createSession } = require('koa-session');
const DynamoDBStore = require('koa-session-dynamodb-store');

async function main() {
  const store = new DynamoDBStore({
    table: { name: 'sessions' },
    dynamoConfig: {
      region: process.env.DDB_REGION,
      endpoint: process.env.DDB_ENDPOINT,
      accessKeyId: process.env.DDB_ACCESS_KEY_ID,
      secretAccessKey: process.env.DDB_SECRET_ACCESS_KEY,
    },
  });
  const app = new Koa();
  app.keys = ['consumer key'];
  app.use(createSession({ store, maxAge: 60000 }, app));
  app.use((ctx) => {
    if (ctx.path === '/login') {
      ctx.session.user = ctx.query.user;
      ctx.body = { ok: true };
    } else if (ctx.path === '/count') {
      ctx.session.count = (ctx.session.count || 0) + 1;
      ctx.body = { user: ctx.session.user ?? null, count: ctx.session.count };
    } else {
      ctx.status = 404;
    }
  });
  const server = http.createServer(app.callback());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = 'http://127.0.0.1:' + server.address().port;
  const jar = new Map();
  async function get(p, useJar = true) {
    const headers = {};
    if (useJar && jar.size) headers.cookie = [...jar].map(([k, v]) => k + '=' + v).join('; ');
    const res = await fetch(base + p, { headers });
    if (useJar) {
      for (const c of res.headers.getSetCookie()) {
        const [kv] = c.split(';');
        const i = kv.indexOf('=');
        jar.set(kv.slice(0, i), kv.slice(i + 1));
      }
    }
    return { status: res.status, body: await res.json() };
  }
  const out = {};
  out.login = await get('/login?user=alice');
  out.first = await get('/count');
  out.second = await get('/count');
  out.stranger = await get('/count', false);
  out.cookies = [...jar.keys()];
  out.resolved = require.resolve('koa-session-dynamodb-store');
  out.loaded = [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
    .map((l) => l.slice(l.indexOf('/'))).filter((l) => l.endsWith('.node')))];
  server.close();
  await store.close();
  console.log(JSON.stringify(out));
}
main().catch((err) => { console.error(err); process.exit(1); });
`;

// ESM: the default export and the named ones, and a store made and closed.
const ESM = `import DynamoDBStore, { DynamoDBStore as Named, DynamoDBStoreError } from '${NAME}';
if (typeof DynamoDBStore !== 'function' || Named !== DynamoDBStore || typeof DynamoDBStoreError !== 'function') {
  throw new Error('unexpected exports: ' + typeof DynamoDBStore + ' ' + typeof Named + ' ' + typeof DynamoDBStoreError);
}
const store = new DynamoDBStore({ dynamoConfig: { region: 'local', endpoint: 'http://127.0.0.1:9' } });
await store.close();
console.log('esm ok');`;

// Requiring the package: prints the error's code and message as JSON instead of throwing.
const TRY_REQUIRE = `try { require('${NAME}'); console.log(JSON.stringify({ ok: true })); }
catch (err) { console.log(JSON.stringify({ ok: false, code: err.code, message: err.message })); }`;

const reason = skipReason();

describe('the npm package, installed as a dependency', { skip: reason, concurrency: false }, () => {
  let work;
  let server;
  let tarball;
  let consumer;
  let pkgInConsumer;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbs-pack-test-'));
    server = await startTestServer();
    await server.createTable('sessions');
  });

  after(async () => {
    killAll(children);
    if (server) await server.close();
    if (work && process.env.DDBS_KEEP_PACK_TEST !== '1') fs.rmSync(work, { recursive: true, force: true });
  });

  async function koaCheck(t, expectBinary) {
    server.resetStats();
    const r = assertOk(await run(process.execPath, ['app.js'], {
      cwd: consumer,
      env: childEnv({
        DDB_ENDPOINT: server.endpoint,
        DDB_REGION: server.region,
        DDB_ACCESS_KEY_ID: server.credentials.accessKeyId,
        DDB_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      }),
    }));
    t.diagnostic(`koa app in the consumer: ${(r.ms / 1000).toFixed(1)} s`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.deepEqual(out.login, { status: 200, body: { ok: true } });
    assert.deepEqual(out.first, { status: 200, body: { user: 'alice', count: 1 } });
    assert.deepEqual(out.second, { status: 200, body: { user: 'alice', count: 2 } });
    assert.deepEqual(out.stranger, { status: 200, body: { user: null, count: 1 } });
    assert.ok(out.cookies.includes('koa.sess'), `cookies: ${out.cookies}`);
    assert.equal(out.resolved, path.join(pkgInConsumer, 'lib', 'index.js'));
    assert.deepEqual(out.loaded, [path.join(pkgInConsumer, expectBinary)]);
    // The session went through DynamoDB, signed correctly.
    assert.equal(server.stats.rejected, 0, server.stats.rejections.join('\n'));
    // login and the stranger's count save new sessions (the whole session), both counts read the
    // session back and write only what changed: all UpdateItem.
    assert.ok(server.stats.byTarget.UpdateItem >= 4, JSON.stringify(server.stats.byTarget));
    assert.ok(server.stats.byTarget.GetItem >= 2, JSON.stringify(server.stats.byTarget));
  }

  async function tryRequire(env = childEnv()) {
    const r = assertOk(await run(process.execPath, ['-e', TRY_REQUIRE], { cwd: consumer, env }));
    return JSON.parse(r.stdout.trim().split('\n').pop());
  }

  test('npm pack: prepack builds the prebuilt binaries (x64, arm64); the tarball holds only what users need', { timeout: 900_000 }, async (t) => {
    // A scratch copy of the package, so that prepack's build never touches this tree.
    const pkg = packageCopy(root, work);
    const dist = path.join(work, 'dist');
    fs.mkdirSync(dist);
    await npm(t, ['pack', '--pack-destination', dist], pkg);
    const tgz = fs.readdirSync(dist).filter((f) => f.endsWith('.tgz'));
    assert.equal(tgz.length, 1, `tarballs: ${tgz}`);
    tarball = path.join(dist, tgz[0]);
    const size = fs.statSync(tarball).size;

    const entries = assertOk(await run('tar', ['-tzf', tarball]))
      .stdout.split('\n').filter(Boolean).map((e) => e.replace(/^package\//, '')).sort();
    t.diagnostic(`tarball ${tgz[0]}: ${(size / 1024).toFixed(1)} kB, ${entries.length} files: ${entries.join(' ')}`);
    for (const need of ['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'index.d.ts', 'lib/index.js', 'lib/index.mjs', 'lib/binding.js', 'src/addon.cc', 'bin/koa-session-dynamodb-store.js', PREBUILT, PREBUILT_ARM64]) {
      assert.ok(entries.includes(need), `${need} missing from the tarball`);
    }
    const allowed = /^(package\.json|README\.md|LICENSE|binding\.gyp|index\.d\.ts|lib\/.+\.(js|mjs)|bin\/[^/]+\.js|src\/[^/]+\.(c|h|cc)|prebuilds\/[^/]+\/[^/]+\.node)$/;
    assert.deepEqual(entries.filter((e) => !allowed.test(e)), [], 'unexpected files in the tarball');
    // Two prebuilt binaries (x64, arm64) with libcurl and zstd linked in: ~1.1 MB packed today
    // (zstd's compressor is about half of each binary).
    assert.ok(size < 1536 * 1024, `tarball is ${size} bytes`);

    // What the prebuilt binaries need at run time: only what every glibc Linux has and Node itself
    // needs; libcurl and zstd are linked in, OpenSSL is node's own.
    const extract = path.join(work, 'extract');
    fs.mkdirSync(extract);
    assertOk(await run('tar', ['-xzf', tarball, '-C', extract, `package/${PREBUILT}`, `package/${PREBUILT_ARM64}`]));
    for (const bin of [PREBUILT, PREBUILT_ARM64]) {
      const elf = path.join(extract, 'package', bin);
      const rd = await run('readelf', ['-d', elf]);
      if (rd.code !== 0) {
        t.diagnostic('readelf is not available: NEEDED list not checked');
        continue;
      }
      const needed = [...rd.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      t.diagnostic(`${bin} (${(fs.statSync(elf).size / 1024).toFixed(0)} kB) NEEDED: ${needed.join(', ')}`);
      assert.deepEqual(needed.filter((l) => /^lib(curl|jansson|ssl|crypto|zstd)\b/.test(l)), [], `${bin} links these dynamically`);
      const allowedLibs = /^(libstdc\+\+\.so\.6|libgcc_s\.so\.1|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2)$/;
      assert.deepEqual(needed.filter((l) => !allowedLibs.test(l)), [], `${bin}: unexpected run-time libraries`);
    }
  });

  test('npm install, default settings and with scripts blocked: nothing compiles, the prebuilt binary loads, koa sessions work, CJS and ESM', { timeout: 900_000 }, async (t) => {
    assert.ok(tarball, 'no tarball (npm pack failed)');
    consumer = path.join(work, 'app');
    fs.mkdirSync(consumer);
    pkgInConsumer = path.join(consumer, 'node_modules', NAME);
    const ranInstallScript = (r) => new RegExp(`info run ${NAME}@\\S+ install `).test(r.stdout + r.stderr);
    await npm(t, ['init', '-y'], consumer);

    // npm's default settings. (npm 11.19 documents unreviewed dependency scripts as blocked, but
    // runs them with a warning unless --strict-allow-scripts; either way nothing may compile.)
    const install = await npm(t, ['install', '--no-audit', '--no-fund', '--loglevel=info', tarball, 'koa@^3', 'koa-session@^7'], consumer);
    t.diagnostic(`npm install said: ${(install.stdout + install.stderr).split('\n').filter((l) => /install-scripts|added|info run/.test(l)).join(' | ')}`);
    t.diagnostic(ranInstallScript(install)
      ? 'npm ran the unreviewed install script (with a warning): node-gyp-build found the prebuilt binary and compiled nothing'
      : 'npm blocked the unreviewed install script');
    assert.ok(fs.existsSync(path.join(pkgInConsumer, 'package.json')), 'the package is not installed');
    assert.ok(!fs.existsSync(path.join(pkgInConsumer, 'build')), 'the install compiled the addon');
    assert.ok(fs.existsSync(path.join(pkgInConsumer, PREBUILT)), 'the prebuilt binary is not in the installed package');
    assert.deepEqual(await tryRequire(), { ok: true });

    // Scripts blocked for certain: the package installed again with --ignore-scripts.
    fs.rmSync(pkgInConsumer, { recursive: true, force: true });
    const blocked = await npm(t, ['install', '--no-audit', '--no-fund', '--loglevel=info', '--ignore-scripts'], consumer);
    assert.ok(!ranInstallScript(blocked), 'the install script ran despite --ignore-scripts');
    assert.ok(fs.existsSync(path.join(pkgInConsumer, PREBUILT)), 'the prebuilt binary is not in the installed package');
    assert.ok(!fs.existsSync(path.join(pkgInConsumer, 'build')), 'the install compiled the addon');

    fs.writeFileSync(path.join(consumer, 'app.js'), APP);
    await koaCheck(t, PREBUILT);
    const esm = assertOk(await run(process.execPath, ['--input-type=module', '-e', ESM], { cwd: consumer }));
    assert.match(esm.stdout, /esm ok/);
  });

  test('a binary that needs a newer glibc than the system has: the error says so and how to build from source', { timeout: STEP_TIMEOUT_MS * 2 }, async () => {
    assert.ok(consumer, 'no consumer project');
    // The prebuilt binaries need nothing but glibc and libstdc++, so the way one fails to load is
    // an older glibc: the real x64 binary with its newest glibc version requirement renamed to one
    // no glibc has, in a directory node-gyp-build is pointed at with its <NAME>_PREBUILD override.
    const fake = path.join(work, 'old-glibc');
    fs.mkdirSync(path.join(fake, 'prebuilds', 'linux-x64'), { recursive: true });
    const bin = fs.readFileSync(path.join(pkgInConsumer, PREBUILT));
    const from = Buffer.from('GLIBC_2.17\0');
    const at = bin.indexOf(from);
    assert.ok(at >= 0 && bin.indexOf(from, at + 1) < 0, 'GLIBC_2.17 not found exactly once in the binary');
    Buffer.from('GLIBC_9.99\0').copy(bin, at);
    fs.writeFileSync(path.join(fake, PREBUILT), bin);

    const r = await tryRequire(childEnv({ KOA_SESSION_DYNAMODB_STORE_PREBUILD: fake }));
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_DYNAMODB_STORE_NATIVE');
    assert.match(r.message, /version `GLIBC_9\.99' not found/);
    assert.match(r.message, /older than 9\.99, which the binary needs/);
    assert.match(r.message, /compile it from source/);
    assert.match(r.message, /npm install-scripts approve koa-session-dynamodb-store/);
    assert.match(r.message, /npm rebuild koa-session-dynamodb-store/);
  });

  test('no prebuilt binary and the install script not approved: require fails and says exactly what to do', { timeout: NPM_TIMEOUT_MS + STEP_TIMEOUT_MS * 2 }, async () => {
    assert.ok(consumer, 'no consumer project');
    fs.rmSync(path.join(pkgInConsumer, 'prebuilds'), { recursive: true, force: true });
    const r = await tryRequire();
    // (The message's run-time line is about a build from source, which does use the system's libcurl.)
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_DYNAMODB_STORE_NATIVE');
    assert.match(r.message, /No native build was found for platform=linux arch=x64/);
    assert.match(r.message, /No prebuilt binary fits this platform/);
    assert.match(r.message, /sudo apt-get install -y build-essential python3 pkg-config libcurl4-openssl-dev libssl-dev/);
    assert.match(r.message, /npm install-scripts approve koa-session-dynamodb-store\n/);
    assert.match(r.message, /npm rebuild koa-session-dynamodb-store\n/);
    assert.match(r.message, /A binary compiled from source needs libcurl \(libcurl4\) and zstd \(libzstd1\) at run time/);
    // Without the approval the build script does not run: --strict-allow-scripts makes npm enforce
    // its policy (npm 11.19 otherwise runs unreviewed scripts with a warning).
    const rebuild = await run('npm', ['rebuild', NAME, '--strict-allow-scripts'], { cwd: consumer, timeout: NPM_TIMEOUT_MS });
    assert.notEqual(rebuild.code, 0, 'npm rebuild --strict-allow-scripts ran the unapproved install script');
    assert.match(rebuild.stderr, /ESTRICTALLOWSCRIPTS/);
    assert.ok(!fs.existsSync(path.join(pkgInConsumer, 'build')), 'npm rebuild compiled without the approval');
    // ESM: the same error.
    const esm = await run(process.execPath, ['--input-type=module', '-e', ESM], { cwd: consumer });
    assert.notEqual(esm.code, 0);
    assert.match(esm.stderr, /npm install-scripts approve koa-session-dynamodb-store/);
  });

  test('the install script approved, no prebuilt binary: npm rebuild compiles from source and koa sessions work', { timeout: 900_000 }, async (t) => {
    assert.ok(consumer, 'no consumer project');
    assert.ok(!fs.existsSync(path.join(pkgInConsumer, 'prebuilds')));
    // Exactly the commands the error message gives.
    await npm(t, ['install-scripts', 'approve', NAME], consumer);
    const allow = JSON.parse(fs.readFileSync(path.join(consumer, 'package.json'), 'utf8')).allowScripts || {};
    t.diagnostic(`consumer allowScripts: ${JSON.stringify(allow)}`);
    // Keyed by name@version for a registry install; by the tarball's file: spec here.
    assert.ok(Object.entries(allow).some(([k, v]) => v === true && k.includes(NAME)), JSON.stringify(allow));
    // --strict-allow-scripts: the rebuild must be allowed by the approval, not by npm's leniency.
    await npm(t, ['rebuild', NAME, '--strict-allow-scripts'], consumer);
    assert.ok(fs.existsSync(path.join(pkgInConsumer, 'build', 'Release', 'ddbstore.node')), 'npm rebuild did not compile build/Release/ddbstore.node');
    await koaCheck(t, 'build/Release/ddbstore.node');
  });
});
