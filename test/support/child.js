'use strict';
// Child processes of the packaging tests (pack.test.js, portable.test.js, support/roots.js): each
// in its own process group, bounded in time, its output collected; the environment they get; and
// how a failed one is reported.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');

/**
 * The environment of every child: the user's own (HOME, so ~/.npmrc and the ~/.npm cache apply),
 * without anything the test runner, an enclosing `npm run`, or the sanitizer run put there; the
 * static libraries' cache (DDBS_CACHE_DIR) stays, so a prebuild in a child finds it.
 */
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Where the registry is and how to reach it stay the user's choice.
    if (/^npm_config_(registry|cache|proxy|https_proxy|noproxy|strict_ssl|cafile|ca)$/i.test(k)) {
      env[k] = v;
      continue;
    }
    if (/^(npm_|NODE_TEST_CONTEXT$|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$|LD_PRELOAD$|ASAN_OPTIONS$|UBSAN_OPTIONS$|DDBS_(?!CACHE_DIR$)|KOA_SESSION_DYNAMODB_STORE|PREBUILDS_ONLY$|LIBC$)/i.test(k)) continue;
    env[k] = v;
  }
  // node-gyp cannot download Node's headers here; use the installed ones.
  if (fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
  return { ...env, ...extra };
}

/**
 * Runs cmd in its own process group, killed after timeout ms; resolves { code, signal, stdout,
 * stderr, timedOut, error, ms, what }. children (a Set, optional) holds it while it runs, so that
 * killAll can end what a failed test left behind.
 */
function runBounded(cmd, args, { cwd, env, timeout, children, what = `${cmd} ${args.join(' ')}` }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (children) children.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    }, timeout);
    const done = (code, signal, error) => {
      clearTimeout(timer);
      if (children) children.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut, error, ms: Date.now() - t0, what });
    };
    child.on('error', (error) => done(null, null, error));
    child.on('close', (code, signal) => done(code, signal));
  });
}

/** Kills the process groups of the children still running. */
function killAll(children) {
  for (const child of children) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
  }
}

function tail(s, n = 40) {
  return s.split('\n').slice(-n).join('\n');
}

/** r when the child exited 0; else the test fails with how it ended and the end of its output. */
function assertOk(r) {
  if (r.code === 0) return r;
  assert.fail(`${r.what} failed (${r.timedOut ? 'timed out' : r.error ? r.error.message : `exit ${r.code ?? r.signal}`})\n` +
    `--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`);
}

/**
 * A scratch copy of the package at root in dir/pkg, to run `npm pack` in (its prepack builds the
 * prebuilt binaries, which must never touch the working tree): what package.json's "files" ships
 * but prebuilds/, package.json, and scripts/ (prepack runs from it); node_modules linked. Returns
 * the copy's path.
 */
function packageCopy(root, dir) {
  const path = require('node:path');
  const pkg = path.join(dir, 'pkg');
  fs.mkdirSync(pkg);
  const { files } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const tops = new Set(['package.json', 'scripts', ...files.map((f) => f.split('/')[0])]);
  tops.delete('prebuilds'); // (prepack makes them)
  for (const f of tops) {
    if (fs.existsSync(path.join(root, f))) fs.cpSync(path.join(root, f), path.join(pkg, f), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  return pkg;
}

module.exports = { childEnv, runBounded, killAll, tail, assertOk, packageCopy };
