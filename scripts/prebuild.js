#!/usr/bin/env node
'use strict';
// npm run prebuildify (and `prepack`, so `npm pack` / `npm publish` include it): builds the addon's
// prebuilt binaries, linux-x64 and linux-arm64 (cross-compiled), with prebuildify (Node-API,
// stripped, tagged with the libc) into prebuilds/linux-<arch>/, where node-gyp-build finds them at
// run time, so that installing the package as a dependency needs no compiler and no install script.
//
// They need nothing at run time beyond glibc, libstdc++ and Node itself: libcurl and zstd are
// linked in statically (scripts/static-deps.js builds them from Debian's sources, cached), their
// symbols hidden; OpenSSL's symbols stay undefined and resolve from the node process (Node's own
// OpenSSL). Each binary is checked: what it NEEDs, what it exports, that every undefined symbol is
// glibc's, libstdc++'s, Node-API's, libuv's or OpenSSL's, and the newest glibc symbol version.
//
// DDBS_PREBUILD_ARCHS=x64 builds only some of them (default: x64,arm64). Where a toolchain is
// missing, scripts/install-system-deps.sh --prebuild installs it (Debian/Ubuntu).
//
// The build happens in a scratch copy of the project (binding.gyp, src/, package.json, with
// node_modules linked): prebuildify runs `node-gyp rebuild` and then MOVES the binary out of
// build/Release, which would break the normal build of anyone working in this tree meanwhile.
//
// DDBS_SKIP_PREBUILD=1 skips it (e.g. a release job that has already collected prebuilds/ from
// several platforms).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const TIMEOUT_MS = 600_000;
const staticDeps = require('./static-deps');

if (process.env.DDBS_SKIP_PREBUILD === '1') {
  console.log('prebuild: skipped (DDBS_SKIP_PREBUILD=1)');
  process.exit(0);
}

const env = { ...process.env };
// Never ship a sanitizer build, whatever the calling environment says.
delete env.DDBS_SANITIZE;
delete env.LD_PRELOAD;
// Node's headers: use the installed ones (this machine may not reach nodejs.org).
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';

let prebuildifyBin;
try {
  prebuildifyBin = require.resolve('prebuildify/bin.js', { paths: [root] });
} catch {
  console.error('prebuild: prebuildify is not installed; run `npm install` in the project first');
  process.exit(1);
}

const platform = os.platform();
if (platform !== 'linux') {
  console.error(`prebuild: the prebuilt binaries are made on Linux (this is ${platform})`);
  process.exit(1);
}
const archs = (env.DDBS_PREBUILD_ARCHS || 'x64,arm64').split(',').map((a) => a.trim()).filter(Boolean);
for (const a of archs) {
  if (!staticDeps.TARGETS[a]) {
    console.error(`prebuild: unknown arch ${a} in DDBS_PREBUILD_ARCHS (known: ${Object.keys(staticDeps.TARGETS).join(', ')})`);
    process.exit(1);
  }
}

// Run-time libraries a prebuilt binary may need: those that every glibc Linux has, as Node does.
const ALLOWED_NEEDED = /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux[-\w.]*\.so\.\d)$/;
const EXPORTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];

function tool(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error ? r.error.message : r.stderr}`);
  return r.stdout;
}

/** Names of the symbols this node process offers addons (its own exports and its libraries'). */
function nodeSymbols() {
  const names = new Set();
  const files = [process.execPath];
  for (const m of tool('ldd', [process.execPath]).matchAll(/=>\s+(\/\S+)/g)) {
    if (/lib(node|ssl|crypto|uv)\b/.test(m[1])) files.push(m[1]);
  }
  for (const f of files) {
    for (const line of tool('nm', ['-D', '--defined-only', f]).split('\n')) {
      const name = line.trim().split(/\s+/)[2];
      if (name) names.add(name.replace(/@.*/, ''));
    }
  }
  return names;
}

function versionGt(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) > (pb[i] || 0);
  }
  return false;
}

/** The checks every shipped binary passes; returns a one-line summary. */
function checkBinary(file, arch, nodeSyms) {
  const f = path.basename(file);
  const needed = [...tool('readelf', ['-d', file]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const bad = needed.filter((l) => !ALLOWED_NEEDED.test(l));
  if (bad.length) throw new Error(`${arch}/${f} needs ${bad.join(', ')} at run time (only glibc and libstdc++/libgcc may stay dynamic)`);

  const defined = tool('nm', ['-D', '--defined-only', file]).split('\n').map((l) => l.trim().split(/\s+/)[2]).filter(Boolean).sort();
  if (JSON.stringify(defined) !== JSON.stringify([...EXPORTS].sort())) {
    throw new Error(`${arch}/${f} exports ${defined.join(', ')}; only ${EXPORTS.join(', ')} may be visible`);
  }

  // Undefined symbols: versioned ones are glibc's, libstdc++'s or libgcc's; the others must be
  // Node-API's, libuv's or OpenSSL's, all of which the node process offers.
  const foreign = [];
  for (const line of tool('nm', ['-D', '--undefined-only', file]).split('\n')) {
    const name = line.trim().split(/\s+/).pop();
    if (!name) continue;
    if (/@(GLIBC|GLIBCXX|CXXABI|GCC)_[\d.]+$/.test(name)) continue;
    if (/^(__gmon_start__|_ITM_(de)?registerTMCloneTable)$/.test(name)) continue; // weak, unused
    if (!nodeSyms.has(name)) foreign.push(name);
  }
  if (foreign.length) throw new Error(`${arch}/${f} needs symbols that neither glibc nor node provides: ${foreign.join(', ')}`);

  const glibc = [...new Set([...tool('objdump', ['-T', file]).matchAll(/\bGLIBC_([\d.]+)\b/g)].map((m) => m[1]))];
  const newest = glibc.reduce((a, b) => (versionGt(b, a) ? b : a), '0');
  if (versionGt(newest, staticDeps.GLIBC_MAX)) {
    throw new Error(`${arch}/${f} needs glibc ${newest} (symbols ${glibc.filter((v) => versionGt(v, staticDeps.GLIBC_MAX)).join(', ')}); ` +
      `the limit is ${staticDeps.GLIBC_MAX}: pin the new symbols in scripts/static-deps.js (GLIBC_PINS)`);
  }
  return `needs ${needed.join(', ')}; glibc ${newest}+`;
}

/** Builds one arch's binary in `work` (a scratch copy); returns the built .node files' paths. */
function buildArch(work, arch) {
  const deps = staticDeps.ensure(arch);
  const tc = staticDeps.toolchain(arch);
  const benv = {
    ...env,
    DDBS_STATIC_PREFIX: deps.prefix,
    CC: tc.tools.CC, CXX: tc.tools.CXX, LINK: tc.tools.CXX, AR: tc.tools.AR,
    PREBUILD_STRIP_BIN: tc.tools.STRIP,
  };
  const args = [prebuildifyBin, '--napi', '--strip', '--tag-libc', `--arch=${arch}`, `--target=node@${process.versions.node}`];
  console.log(`prebuild: ${arch}: prebuildify ${args.slice(1).join(' ')} (static ${Object.entries(deps.versions).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  fs.rmSync(path.join(work, 'build'), { recursive: true, force: true });
  const r = spawnSync(process.execPath, args, { cwd: work, env: benv, stdio: 'inherit', timeout: TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`prebuildify failed for ${arch} (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`);
  const dir = path.join(work, 'prebuilds', `linux-${arch}`);
  const built = fs.readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => path.join(dir, f));
  if (built.length === 0) throw new Error(`prebuildify produced nothing in prebuilds/linux-${arch}`);
  return built;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbs-prebuild-'));
let status = 1;
try {
  for (const f of ['binding.gyp', 'package.json', 'src']) {
    fs.cpSync(path.join(root, f), path.join(work, f), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'dir');
  const nodeSyms = nodeSymbols();
  if (!nodeSyms.has('SSL_CTX_new') || !nodeSyms.has('napi_create_object')) {
    throw new Error(`this node (${process.execPath}) does not export OpenSSL's and Node-API's symbols; cannot check the binaries against it`);
  }

  const results = [];
  for (const arch of archs) {
    for (const file of buildArch(work, arch)) {
      const summary = checkBinary(file, arch, nodeSyms);
      if (arch === process.arch) {
        // It must load here and export the addon.
        const check = spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(file)}); if (!b || !Object.keys(b).length) process.exit(3)`], {
          env, encoding: 'utf8', timeout: 60_000,
        });
        if (check.status !== 0) throw new Error(`the prebuilt ${arch}/${path.basename(file)} does not load: ${check.stderr || check.status}`);
      }
      console.log(`prebuild: linux-${arch}/${path.basename(file)}: ${summary}${arch === process.arch ? '; loads' : ' (cross-built: test/portable.test.js runs it under qemu)'}`);
      results.push({ arch, file });
    }
  }

  // Replace the built archs' prebuilds in the project (other archs' are left alone), each file
  // written under a temporary name and renamed, so a reader never sees half a binary.
  for (const arch of archs) {
    const mine = results.filter((r) => r.arch === arch).map((r) => path.basename(r.file));
    const dest = path.join(root, 'prebuilds', `linux-${arch}`);
    fs.mkdirSync(dest, { recursive: true });
    for (const f of fs.readdirSync(dest)) {
      if (f.endsWith('.node') && !mine.includes(f)) fs.rmSync(path.join(dest, f), { force: true });
    }
    for (const { file } of results.filter((r) => r.arch === arch)) {
      const f = path.basename(file);
      const tmp = path.join(dest, `.${f}.${process.pid}.tmp`);
      fs.copyFileSync(file, tmp);
      fs.renameSync(tmp, path.join(dest, f));
      const size = fs.statSync(path.join(dest, f)).size;
      console.log(`prebuild: prebuilds/linux-${arch}/${f} (${(size / 1024).toFixed(0)} kB)`);
    }
  }
  status = 0;
} catch (err) {
  console.error(`prebuild: ${err.message}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(status);
