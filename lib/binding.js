'use strict';
// Loads the native addon: a prebuilt binary from prebuilds/ when one fits this platform, else the
// one compiled from source into build/. When neither loads, the error says what to do.
const path = require('node:path');

const root = path.join(__dirname, '..');

function load() {
  try {
    return require('node-gyp-build')(root);
  } catch (cause) {
    const err = new Error(
      'koa-session-dynamodb-store: the native addon could not be loaded (' + cause.message.split('\n')[0] + ').\n' +
      'To build it from source:\n' +
      '  1. install the system packages (Debian/Ubuntu): apt-get install -y build-essential python3 pkg-config libcurl4-openssl-dev libjansson-dev\n' +
      '  2. allow this package\'s build script (npm 11 blocks dependency scripts): npm install-scripts approve koa-session-dynamodb-store\n' +
      '  3. rebuild it: npm rebuild koa-session-dynamodb-store\n' +
      'At run time the addon needs libcurl (libcurl4) and libjansson4.',
    );
    err.code = 'ERR_DYNAMODB_STORE_NATIVE';
    err.cause = cause;
    throw err;
  }
}

module.exports = load();
