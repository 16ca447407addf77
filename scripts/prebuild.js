#!/usr/bin/env node
'use strict';
// npm run prebuildify (and `prepack`, so `npm pack` / `npm publish` include it): builds the addon's
// prebuilt binary for this platform with prebuildify (Node-API, stripped, tagged with the libc) into
// prebuilds/<platform>-<arch>/, where node-gyp-build finds it at run time, so that installing the
// package as a dependency needs no compiler and no install script.
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
const arch = os.arch();
const tuple = `${platform}-${arch}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbs-prebuild-'));
let status = 1;
try {
  for (const f of ['binding.gyp', 'package.json', 'src']) {
    fs.cpSync(path.join(root, f), path.join(work, f), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'dir');

  const args = [prebuildifyBin, '--napi', '--strip', '--tag-libc', `--target=node@${process.versions.node}`];
  console.log(`prebuild: prebuildify ${args.slice(1).join(' ')} (in a scratch copy)`);
  const r = spawnSync(process.execPath, args, { cwd: work, env, stdio: 'inherit', timeout: TIMEOUT_MS });
  if (r.status !== 0) {
    console.error(`prebuild: prebuildify failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }

  const builtDir = path.join(work, 'prebuilds', tuple);
  const built = fs.readdirSync(builtDir).filter((f) => f.endsWith('.node'));
  if (built.length === 0) throw new Error(`prebuildify produced nothing in prebuilds/${tuple}`);

  // The binary must load here (all its libraries present) and export the addon.
  for (const f of built) {
    const file = path.join(builtDir, f);
    const check = spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(file)}); if (!b || !Object.keys(b).length) process.exit(3)`], {
      env, encoding: 'utf8', timeout: 60_000,
    });
    if (check.status !== 0) throw new Error(`the prebuilt ${f} does not load: ${check.stderr || check.status}`);
    if (platform === 'linux') {
      const rd = spawnSync('readelf', ['-d', file], { encoding: 'utf8' });
      if (rd.status === 0) {
        const needed = [...rd.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
        const bad = needed.filter((l) => /^lib(asan|ubsan|tsan|lsan)\b/.test(l));
        if (bad.length) throw new Error(`the prebuilt ${f} links sanitizer runtimes (${bad.join(', ')}); unset DDBS_SANITIZE`);
        console.log(`prebuild: ${f} needs ${needed.join(', ')}`);
      }
    }
  }

  // Replace this platform's prebuilds in the project (other platforms' are left alone), each file
  // written under a temporary name and renamed, so a reader never sees half a binary.
  const dest = path.join(root, 'prebuilds', tuple);
  fs.mkdirSync(dest, { recursive: true });
  for (const f of fs.readdirSync(dest)) {
    if (f.endsWith('.node') && !built.includes(f)) fs.rmSync(path.join(dest, f), { force: true });
  }
  for (const f of built) {
    const tmp = path.join(dest, `.${f}.${process.pid}.tmp`);
    fs.copyFileSync(path.join(builtDir, f), tmp);
    fs.renameSync(tmp, path.join(dest, f));
    const size = fs.statSync(path.join(dest, f)).size;
    console.log(`prebuild: prebuilds/${tuple}/${f} (${(size / 1024).toFixed(0)} kB)`);
  }
  status = 0;
} catch (err) {
  console.error(`prebuild: ${err.message}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(status);
