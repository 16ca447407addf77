'use strict';
// Loads the native addon: a prebuilt binary from prebuilds/ when one fits this platform, else the
// one compiled from source into build/. When neither loads, the error says what to do.
const path = require('node:path');

const root = path.join(__dirname, '..');
const NAME = 'koa-session-dynamodb-store';

// Where a missing shared library comes from (Debian/Ubuntu package names; on Ubuntu 24.04+ and
// Debian 13 the curl package is libcurl4t64, which `apt-get install libcurl4` also selects).
const RUNTIME_PACKAGES = [
  [/^libcurl\b/, 'libcurl4'],
  [/^lib(crypto|ssl)\b/, 'libssl3'],
  [/^libzstd\b/, 'libzstd1'],
];

function explain(cause) {
  const text = String((cause && cause.message) || cause);
  const first = text.split('\n')[0];
  const lines = [`${NAME}: the native addon could not be loaded: ${first}`];

  const missing = /([\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(text);
  const glibc = /version [`']GLIBC_([\d.]+)' not found/.exec(text);
  if (glibc) {
    lines.push(
      `This system's C library (glibc) is older than ${glibc[1]}, which the binary needs (the prebuilt`,
      'binaries need glibc 2.17 or newer), so compile it from source, once:',
    );
  } else if (missing) {
    const lib = missing[1];
    const pkg = (RUNTIME_PACKAGES.find(([re]) => re.test(lib)) || [])[1];
    lines.push(
      `A system library it needs at run time is missing (${lib}${pkg ? `, Debian/Ubuntu package ${pkg}` : ''}).`,
      'This is a binary compiled from source against the system\'s libraries. Install them',
      '(Debian/Ubuntu): sudo apt-get install -y libcurl4 libzstd1   (Fedora/RHEL: sudo dnf install libcurl libzstd)',
      'then run your program again. If the prebuilt binary still does not fit, compile it from source:',
    );
  } else if (/No native build was found/.test(text)) {
    lines.push(
      'No prebuilt binary fits this platform (the package ships them for Linux x64 and arm64, glibc 2.17+),',
      'so it has to be compiled from source, once:',
    );
  } else {
    lines.push('The binary does not fit this system; compile it from source, once:');
  }
  lines.push(
    '  1. install a compiler and the libraries\' headers (Debian/Ubuntu):',
    '       sudo apt-get install -y build-essential python3 pkg-config libcurl4-openssl-dev libssl-dev libzstd-dev',
    '     (Fedora/RHEL: sudo dnf install gcc-c++ make python3 pkgconf libcurl-devel openssl-devel libzstd-devel)',
    `  2. allow this package's build script (npm blocks dependency install scripts by default):`,
    `       npm install-scripts approve ${NAME}`,
    `  3. compile it: npm rebuild ${NAME}`,
    'A binary compiled from source needs libcurl (libcurl4) and zstd (libzstd1) at run time.',
  );
  return lines.join('\n');
}

function load() {
  try {
    return require('node-gyp-build')(root);
  } catch (cause) {
    const err = new Error(explain(cause));
    err.code = 'ERR_DYNAMODB_STORE_NATIVE';
    err.cause = cause;
    throw err;
  }
}

module.exports = load();
