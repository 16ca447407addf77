#!/usr/bin/env node
'use strict';
// npm test: the C unit tests (plain gcc, no Node), then the JavaScript suite with node's test
// runner, whose summary ends the output.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const c = spawnSync('make', ['-s', '-C', path.join(root, 'test', 'c'), 'test'], { stdio: 'inherit' });
if (c.status !== 0) {
  console.error('C unit tests failed');
}
const files = fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.js')).sort()
  .map((f) => path.join('test', f));
const extra = process.argv.slice(2);
const js = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...extra, ...files], { cwd: root, stdio: 'inherit' });
process.exit(c.status !== 0 ? 1 : js.status ?? 1);
