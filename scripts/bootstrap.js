#!/usr/bin/env node
'use strict';
// Makes a fresh checkout ready to run: system packages (via install-system-deps.sh), npm
// dependencies, and the native addon built from the current sources. Quiet when all is ready.
// Used by `npm start`, `npm test`, `npm run bench` so that a new user needs no other command.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = { ...process.env };
// Node's headers: a Debian-packaged node ships them in /usr/include/node; use them rather than a
// download (this machine may not reach nodejs.org).
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env, ...opts });
  if (r.status !== 0) {
    console.error(`bootstrap: '${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function ok(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

// 1. system packages
if (!ok('pkg-config', ['--exists', 'libcurl', 'jansson', 'libcrypto']) || !ok('sh', ['-c', 'command -v c++ && command -v make && command -v python3'])) {
  run('bash', [path.join(__dirname, 'install-system-deps.sh')]);
}

// 2. npm dependencies
const stamp = path.join(root, 'node_modules', '.package-lock.json');
function mtime(p) {
  try { return fs.statSync(p).mtimeMs; } catch { return 0; }
}
if (!fs.existsSync(stamp) || mtime(path.join(root, 'package.json')) > mtime(stamp) ||
    mtime(path.join(root, 'package-lock.json')) > mtime(stamp)) {
  console.log('bootstrap: installing npm dependencies');
  run('npm', ['install', '--no-audit', '--no-fund']);
}

// 3. the addon, rebuilt when a source is newer than the binary
const addon = path.join(root, 'build', 'Release', 'ddbstore.node');
const sources = ['binding.gyp', ...fs.readdirSync(path.join(root, 'src')).map((f) => path.join('src', f))];
const newest = Math.max(...sources.map((f) => mtime(path.join(root, f))));
if (mtime(addon) < newest || process.env.DDBS_SANITIZE === '1') {
  console.log('bootstrap: building the native addon');
  run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }), 'rebuild']);
}
