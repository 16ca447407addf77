'use strict';
// Child processes of run.js / soak.js: the DynamoDB server under the benchmark, and one worker
// process per measured configuration. Each is stopped by its own PID.
const { spawn } = require('node:child_process');
const path = require('node:path');

const BENCH = path.join(__dirname, '..');
const live = new Set();

function killAll() {
  for (const child of live) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

function track(child) {
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

// Start a server script that prints {"port":N} as its first stdout line.
function startServer({ kind = 'fake', latencyMs = 0, startTimeoutMs = 20000 } = {}) {
  const script = kind === 'dynalite' ? path.join(__dirname, 'dynalite-child.js') : path.join(BENCH, 'fake-server.js');
  const args = [script, '--watch-stdin', '--port', '0'];
  if (latencyMs) args.push('--latency-ms', String(latencyMs));
  // BENCH_SERVER_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS || '').split(/\s+/).filter(Boolean);
  const child = track(spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => { stop(); reject(new Error(`${kind} server did not start in ${startTimeoutMs} ms`)); }, startTimeoutMs);
    function stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${kind} server exited (${code})`)); });
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const { port } = JSON.parse(buf.slice(0, nl));
      child.stdout.resume();
      resolve({ kind, latencyMs, port, pid: child.pid, endpoint: `http://127.0.0.1:${port}`, stop });
    });
  });
}

// Run bench/worker.js on one job; resolves with its JSON result (or an error result).
function runWorker(job, { timeoutMs }) {
  // BENCH_WORKER_NODE_ARGS: extra node flags for the workers only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS || '').split(/\s+/).filter(Boolean);
  const child = track(spawn(process.execPath, [...nodeArgs, path.join(BENCH, 'worker.js'), JSON.stringify({ ...job, watchStdin: true })], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
  }));
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { if (err.length < 20000) err += d; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      let result;
      try { result = JSON.parse(line); } catch { result = null; }
      if (!result) {
        const why = timedOut ? `worker killed after ${timeoutMs} ms` : `worker exited ${code ?? signal} without a result`;
        result = { ok: false, error: `${why}${err ? `: ${err.trim().split('\n').slice(-6).join(' | ')}` : ''}` };
      }
      if (err && !result.ok) result.stderr = err.slice(-4000);
      resolve(result);
    });
  });
}

module.exports = { startServer, runWorker, killAll };
