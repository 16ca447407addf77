'use strict';
// Minimal Debian 12 roots for the portability tests, built once and kept in the cache
// ($DDBS_CACHE_DIR or ~/.cache/koa-session-dynamodb-store/roots/), and a way to run a program
// inside one with nothing of the host's file system visible (chroot in a private mount namespace,
// with /proc mounted there).
//
//   x64Root()    `debootstrap --variant=minbase bookworm` (what node:*-slim images start from);
//                the test copies this machine's node into it.
//   arm64Root()  Debian's own arm64 nodejs and exactly the packages it depends on (resolved by apt
//                with a private configuration and an empty package database, each .deb unpacked
//                with dpkg-deb), plus qemu-aarch64-static to run it: nothing of the host's.
//
// Each returns { root } or { skip: 'why' } when this machine cannot (not root, a tool missing, the
// Debian mirror unreachable). Building takes ~30 s (x64) and ~1 min (arm64) with a fast mirror.
const { spawnSync } = require('node:child_process');
const { runBounded } = require('./child');
const fs = require('node:fs');
const path = require('node:path');
const { cacheRoot } = require('../../scripts/static-deps');

const MIRROR = 'http://deb.debian.org/debian';
const SECURITY = 'http://deb.debian.org/debian-security';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
// Bump to rebuild cached roots when what goes into them changes.
const FORMAT = 1;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
    throw new Error(`${cmd} ${args.join(' ')} failed (${why})\n${(r.stdout || '').slice(-2000)}${(r.stderr || '').slice(-2000)}`);
  }
  return r.stdout;
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why this machine cannot run programs in a root, or false. */
function cannotChroot() {
  if (process.platform !== 'linux') return `roots need Linux (this is ${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'chroot needs root privilege (run the tests as root)';
  for (const c of ['chroot', 'unshare', 'mount']) if (!have(c)) return `${c} is not installed`;
  const r = spawnSync('unshare', ['--mount', '--fork', '--', 'true'], { stdio: 'ignore', timeout: 30_000 });
  if (r.status !== 0) return 'unshare --mount is refused here (no private mount namespace)';
  return false;
}

function mirrorReachable() {
  if (!have('curl')) return true; // cannot tell; apt/debootstrap will say
  const r = spawnSync('curl', ['-sfI', '--max-time', '15', `${MIRROR}/dists/bookworm/Release`], { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

/**
 * The cached root `name`, built by `build(dir)` into a scratch directory and renamed into place
 * when complete; a lock directory keeps two test runs from building it at once.
 */
function cached(name, build) {
  const base = path.join(cacheRoot(), 'roots');
  fs.mkdirSync(base, { recursive: true });
  const dir = path.join(base, name);
  const stamp = path.join(dir, '.ddbs-root.json');
  const ok = () => {
    try { return JSON.parse(fs.readFileSync(stamp, 'utf8')).format === FORMAT; } catch { return false; }
  };
  if (ok()) return { root: dir, built: false };
  const lock = path.join(base, `.${name}.lock`);
  const deadline = Date.now() + 900_000;
  for (;;) {
    try { fs.mkdirSync(lock); break; } catch {}
    // A lock older than 20 minutes belongs to a run that died.
    try { if (Date.now() - fs.statSync(lock).mtimeMs > 1_200_000) { fs.rmSync(lock, { recursive: true, force: true }); continue; } } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
    spawnSync('sleep', ['2']);
  }
  try {
    if (ok()) return { root: dir, built: false };
    const t0 = Date.now();
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    try {
      const info = build(tmp) || {};
      fs.writeFileSync(path.join(tmp, '.ddbs-root.json'), JSON.stringify({ format: FORMAT, created: new Date().toISOString(), ...info }, null, 2));
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(tmp, dir);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return { root: dir, built: true, ms: Date.now() - t0 };
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Slims a root: documentation, manuals, locales and apt's downloads are not needed to run node. */
function slim(root) {
  for (const d of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/cache/apt/archives', 'var/lib/apt/lists']) {
    fs.rmSync(path.join(root, d), { recursive: true, force: true });
  }
}

function x64Root() {
  const why = cannotChroot();
  if (why) return { skip: why };
  if (process.arch !== 'x64') return { skip: `the x64 root runs natively only on x64 (this is ${process.arch})` };
  const dir = path.join(cacheRoot(), 'roots', 'bookworm-minbase-amd64');
  if (!fs.existsSync(path.join(dir, '.ddbs-root.json'))) {
    if (!have('debootstrap')) return { skip: 'debootstrap is not installed (bash scripts/install-system-deps.sh --prebuild)' };
    if (!mirrorReachable()) return { skip: `Debian's mirror (${MIRROR}) is unreachable` };
  }
  return cached('bookworm-minbase-amd64', (tmp) => {
    run('debootstrap', ['--variant=minbase', '--arch=amd64', 'bookworm', tmp, MIRROR], { timeout: 900_000 });
    slim(tmp);
    return { kind: 'debootstrap --variant=minbase bookworm (amd64)' };
  });
}

/** apt with a private configuration for Debian bookworm arm64 binary packages. */
function aptArm64() {
  const dir = path.join(cacheRoot(), 'apt-arm64');
  for (const d of ['lists/partial', 'archives/partial', 'etc/parts', 'etc/prefs']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const list = [
    `deb [arch=arm64 signed-by=${KEYRING}] ${MIRROR} bookworm main`,
    `deb [arch=arm64 signed-by=${KEYRING}] ${MIRROR} bookworm-updates main`,
    `deb [arch=arm64 signed-by=${KEYRING}] ${SECURITY} bookworm-security main`,
  ].join('\n') + '\n';
  fs.writeFileSync(path.join(dir, 'etc', 'sources.list'), list);
  const status = path.join(dir, 'status'); // an empty package database: apt resolves every dependency
  fs.writeFileSync(status, '');
  const opts = [
    'APT::Architecture=arm64', 'APT::Architectures::=arm64',
    `Dir::Etc::SourceList=${path.join(dir, 'etc', 'sources.list')}`, `Dir::Etc::SourceParts=${path.join(dir, 'etc', 'parts')}`,
    `Dir::Etc::Preferences=${path.join(dir, 'etc', 'prefs', 'none')}`, `Dir::Etc::PreferencesParts=${path.join(dir, 'etc', 'prefs')}`,
    `Dir::State=${dir}`, `Dir::State::Lists=${path.join(dir, 'lists')}`, `Dir::State::status=${status}`,
    `Dir::Cache=${dir}`, `Dir::Cache::Archives=${path.join(dir, 'archives')}`,
    'Debug::NoLocking=1', 'APT::Sandbox::User=root', 'APT::Install-Recommends=0', 'Acquire::Retries=2',
  ].flatMap((o) => ['-o', o]);
  return { dir, opts };
}

function qemuBinary() {
  for (const q of ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64']) {
    if (fs.existsSync(q)) return q;
  }
  return null;
}

function arm64Root() {
  const why = cannotChroot();
  if (why) return { skip: why };
  const qemu = qemuBinary();
  if (!qemu) return { skip: 'qemu-user-static is not installed (bash scripts/install-system-deps.sh --prebuild)' };
  // The emulator is copied into the root, so it has to run without the host's libraries.
  const headers = spawnSync('readelf', ['-lW', fs.realpathSync(qemu)], { encoding: 'utf8' });
  if (headers.status !== 0 || /\bINTERP\b/.test(headers.stdout)) return { skip: `${qemu} is not statically linked (install qemu-user-static)` };
  const dir = path.join(cacheRoot(), 'roots', 'bookworm-nodejs-arm64');
  if (!fs.existsSync(path.join(dir, '.ddbs-root.json'))) {
    for (const c of ['apt-get', 'dpkg-deb']) if (!have(c)) return { skip: `${c} is not installed` };
    if (!fs.existsSync(KEYRING)) return { skip: `Debian's archive keyring is missing (${KEYRING})` };
    if (!mirrorReachable()) return { skip: `Debian's mirror (${MIRROR}) is unreachable` };
  }
  const r = cached('bookworm-nodejs-arm64', (tmp) => {
    const apt = aptArm64();
    run('apt-get', [...apt.opts, '-q', 'update'], { timeout: 600_000 });
    for (const f of fs.readdirSync(path.join(apt.dir, 'archives'))) {
      if (f.endsWith('.deb')) fs.rmSync(path.join(apt.dir, 'archives', f));
    }
    run('apt-get', [...apt.opts, '-q', '-y', 'install', '--download-only', 'nodejs'], { timeout: 900_000 });
    const debs = fs.readdirSync(path.join(apt.dir, 'archives')).filter((f) => f.endsWith('.deb')).sort();
    if (!debs.some((d) => /^nodejs_/.test(d))) throw new Error(`apt downloaded no nodejs package (${debs.join(' ')})`);
    for (const d of debs) run('dpkg-deb', ['-x', path.join(apt.dir, 'archives', d), tmp]);
    for (const d of ['tmp', 'proc', 'dev', 'etc']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
    fs.chmodSync(path.join(tmp, 'tmp'), 0o1777);
    for (const [n, major, minor] of [['null', 1, 3], ['zero', 1, 5], ['random', 1, 8], ['urandom', 1, 9]]) {
      run('mknod', ['-m', '666', path.join(tmp, 'dev', n), 'c', String(major), String(minor)]);
    }
    fs.copyFileSync(qemu, path.join(tmp, 'usr', 'bin', 'qemu-aarch64-static'));
    fs.chmodSync(path.join(tmp, 'usr', 'bin', 'qemu-aarch64-static'), 0o755);
    slim(tmp);
    return { kind: 'Debian bookworm arm64 nodejs and its dependencies', packages: debs };
  });
  return r;
}

/**
 * argv run inside `root` (chroot, a private mount namespace with /proc mounted), bounded in time.
 * Resolves { code, signal, stdout, stderr, ms }. env replaces the environment entirely.
 */
function runInRoot(root, argv, { env = {}, timeout = 120_000, children } = {}) {
  const script = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"';
  return runBounded('unshare', ['--mount', '--fork', '--', 'sh', '-c', script, root, ...argv], {
    env: { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: '/tmp', LANG: 'C.UTF-8', ...env },
    timeout, children, what: `chroot ${root} ${argv.join(' ')}`,
  });
}

module.exports = { x64Root, arm64Root, runInRoot, cannotChroot, qemuBinary };
