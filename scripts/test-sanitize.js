#!/usr/bin/env node
'use strict';
// npm run test:sanitize: the C unit tests under valgrind (no leaks, no errors) and under
// AddressSanitizer+UBSan, then the whole JavaScript suite against the addon built with
// AddressSanitizer+UBSan (DDBS_SANITIZE=1). Node itself is not instrumented, so the ASan runtime is
// preloaded and leak detection (which would report Node's own allocations) is off; any invalid
// access or undefined behaviour in the addon aborts the process and fails the suite.
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = { ...process.env };
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });

function step(title, cmd, args, extraEnv = {}) {
  console.log(`\n=== ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...env, ...extraEnv } });
  return r.status === 0;
}

let ok = true;
ok = step('C unit tests under valgrind', 'make', ['-s', '-C', 'test/c', 'valgrind']) && ok;
ok = step('C unit tests with AddressSanitizer + UBSan', 'make', ['-s', '-C', 'test/c', 'SANITIZE=1', 'test']) && ok;

// The sanitized addon is built in a scratch copy of the project, so the normal build (and anyone
// using it meanwhile) is never touched.
const os = require('node:os');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbs-sanitize-'));
for (const f of ['binding.gyp', 'package.json', 'index.d.ts', 'src', 'lib', 'bin', 'scripts', 'test', 'examples', 'bench']) {
  if (fs.existsSync(path.join(root, f))) fs.cpSync(path.join(root, f), path.join(work, f), { recursive: true, filter: (p) => !/[\\/]test[\\/]c[\\/]build/.test(p) });
}
fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'));
function stepIn(title, cmd, args, extraEnv = {}) {
  console.log(`\n=== ${title}`);
  const r = spawnSync(cmd, args, { cwd: work, stdio: 'inherit', env: { ...env, ...extraEnv } });
  return r.status === 0;
}
const built = stepIn('addon with AddressSanitizer + UBSan', process.execPath, [nodeGyp, 'rebuild'], { DDBS_SANITIZE: '1' });
if (built) {
  const libasan = execFileSync('gcc', ['-print-file-name=libasan.so']).toString().trim();
  const files = fs.readdirSync(path.join(work, 'test')).filter((f) => f.endsWith('.test.js')).sort()
    .map((f) => path.join('test', f));
  ok = stepIn('JavaScript suite on the sanitized addon', process.execPath, ['--test', '--test-reporter=spec', ...files], {
    LD_PRELOAD: libasan,
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0',
    UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    DDBS_SANITIZED: '1',
  }) && ok;
} else {
  ok = false;
}
fs.rmSync(work, { recursive: true, force: true });
console.log(ok ? '\nsanitized runs: all passed' : '\nsanitized runs: FAILED');
process.exit(ok ? 0 : 1);
