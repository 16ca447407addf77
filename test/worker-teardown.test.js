'use strict';
// Tearing down a worker_thread that uses a store must never abort the process: not while its
// requests are queued or in flight, not just as their answers arrive (completions on their way to
// a JavaScript thread that can no longer run), not while an unawaited close() is pending, and not
// when the worker ends itself with process.exit(). Each scenario runs in a child process
// (test/fixtures/worker-teardown-child.js), so that an abort fails the test instead of killing
// the runner. Readiness is by messages (the worker says its calls are made; the server says it
// has written an answer), never by sleeping.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { runtimeEnv } = require('./helpers');

const CHILD = path.join(__dirname, 'fixtures', 'worker-teardown-child.js');
const CHILD_DEADLINE_MS = 60000;

function runChild(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, ...args], {
      cwd: path.join(__dirname, '..'),
      env: { ...process.env, ...runtimeEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, CHILD_DEADLINE_MS);
    child.on('close', (code, signal) => { // 'close': after stdout and stderr are read to their end
      clearTimeout(timer);
      let summary = null;
      try { summary = JSON.parse(out.trim().split('\n').pop()); } catch { /* no summary: it died */ }
      resolve({ code, signal, out, err, timedOut, summary });
    });
  });
}

// Each worker ends with 1 (terminated) or 0 (its work ended, and it with it, before terminate()
// landed: a worker whose store rejected or finished everything has nothing left to wait for);
// never anything else.
function exitedCleanly(r, n) {
  const total = Object.values(r.summary.exits).reduce((a, b) => a + b, 0);
  assert.equal(total, n, `every worker exited: ${describe(r)}`);
  for (const code of Object.keys(r.summary.exits)) assert.ok(code === '0' || code === '1', `worker exit code ${code}: ${describe(r)}`);
  assert.ok((r.summary.exits[1] || 0) > 0, `some workers were terminated: ${describe(r)}`);
}

function describe(r) {
  const fatal = r.err.split('\n').filter((l) => /FATAL ERROR|napi_|Aborted|Error::/.test(l)).slice(0, 4).join(' | ');
  return `exit code ${r.code}, signal ${r.signal}${r.timedOut ? ' (killed: no exit within the deadline)' : ''}` +
    `${fatal ? `; stderr: ${fatal}` : ''}; summary: ${JSON.stringify(r.summary)}\nstderr head:\n${r.err.slice(0, 1500)}`;
}

function checkClean(r, workers) {
  assert.equal(r.timedOut, false, describe(r));
  assert.equal(r.signal, null, describe(r));
  assert.equal(r.code, 0, describe(r));
  assert.equal(/FATAL ERROR/.test(r.err), false, describe(r));
  assert.ok(r.summary, describe(r));
  assert.equal(r.summary.workers, workers, describe(r));
  assert.equal(r.summary.messages, workers, `every worker made its calls: ${describe(r)}`);
  assert.equal(r.summary.timeouts, 0, `a worker did not end within its deadline: ${describe(r)}`);
  assert.deepEqual(r.summary.errors, [], describe(r));
}

test('worker teardown', { concurrency: true }, async (t) => {
  await Promise.all([
    t.test('100 workers terminated with requests in flight, just answered, or closing unawaited: the process never aborts', async (tt) => {
      // 100 workers, 10 at a time; in turn: terminated once its 40 calls are made (queued or in
      // flight, answers held 100-300 ms), terminated when the server has just written an answer
      // to it, or terminated after calling store.close() without awaiting it
      const r = await runChild(['inflight,answered,close', '100', '10', '100', '300']);
      tt.diagnostic(`child: ${JSON.stringify(r.summary)} code ${r.code} signal ${r.signal}`);
      checkClean(r, 100);
      exitedCleanly(r, 100);
    }),
    // the same, one way at a time, so that a failure says which way aborts
    ...['inflight', 'answered', 'close'].map((mode) => t.test(`30 workers, each terminated (${mode}): the process never aborts`, async (tt) => {
      const r = await runChild([mode, '30', '10', '100', '300']);
      tt.diagnostic(`child: ${JSON.stringify(r.summary)} code ${r.code} signal ${r.signal}`);
      checkClean(r, 30);
      exitedCleanly(r, 30);
    })),
    t.test('40 workers that call process.exit() while their completions are delivered: the process never aborts', async (tt) => {
      const r = await runChild(['exit', '40', '10', '100', '300']);
      tt.diagnostic(`child: ${JSON.stringify(r.summary)} code ${r.code} signal ${r.signal}`);
      checkClean(r, 40);
      assert.deepEqual(r.summary.exits, { 0: 40 }, `each worker exits with its own code 0: ${describe(r)}`);
    }),
  ]);
});
