#!/usr/bin/env node
'use strict';
// Measures ONE store in ONE configuration, in a fresh process (spawned by run.js):
//   node bench/worker.js '<job JSON>'
// Job: { mode: 'probe' | 'phase' | 'burst', store, endpoint, server, ...mode options }.
// Prints one JSON line with the result on stdout; diagnostics go to stderr.
//
// phase: round-trip check, then lanes run continuously: warm-up, then the timed window (workload
//        get|set|mix, size, concurrency closed-loop lanes, `seconds` or `maxRequests`).
//        CPU: process.cpuUsage() delta (user+system, every thread of the process).
//        Main thread: performance.eventLoopUtilization() delta; busy ms = ELU active.
// burst: `burstSize` gets fired at once, `bursts` times: time until all have settled.
const { performance } = require('node:perf_hooks');
const { num } = require('./lib/args');
const { loadStore } = require('./lib/stores');
const { snapshot, loadBetween, mainThreadCpuUs, processCpuUs } = require('./lib/load');
const { CREDENTIALS } = require('./lib/setup');
const { TABLE, MAX_AGE, GET_OPTS, keysFor, sessionFor, Driver, roundTripCheck } = require('./lib/workload');

const job = {
  mode: 'phase',
  seconds: num(process.env.BENCH_SECONDS, 1.5),
  maxRequests: num(process.env.BENCH_OPS, Infinity), // a fixed request count instead of (or as well as) a duration
  warmupSeconds: num(process.env.BENCH_WARMUP_SECONDS, 2),
  warmupRequests: num(process.env.BENCH_WARMUP_REQUESTS, 2000),
  ...JSON.parse(process.argv[2] || process.env.BENCH_JOB || '{}'),
};

function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
}

// Never outlive the job, nor the parent: a hung store must not hang the benchmark.
if (job.watchStdin) {
  process.stdin.on('end', () => process.exit(2));
  process.stdin.on('error', () => process.exit(2));
  process.stdin.resume();
}
const watchdogMs = job.watchdogMs || 120000;
setTimeout(() => finish({ ok: false, error: `worker watchdog: no result after ${watchdogMs} ms` }), watchdogMs).unref();

function createStore() {
  return loadStore(job.store).create({
    endpoint: job.endpoint,
    region: CREDENTIALS.region,
    accessKeyId: CREDENTIALS.accessKeyId,
    secretAccessKey: CREDENTIALS.secretAccessKey,
    table: job.table || TABLE,
    server: job.server,
  });
}

const checkKey = (tag) => `bench-${job.store}-check-${process.pid}-${tag}`;

// The timed window opens when the warm-up ends and closes `seconds` later (or after
// `maxRequests`), with all lanes busy at both ends: requests in flight at the start are counted
// when they complete inside the window, those in flight at the end are not, so on average the
// window holds exactly its share of work. Nothing in the window waits for a ramp-up or a drain.
async function phase(store) {
  const { workload, size, concurrency } = job;
  const driver = new Driver({ store, workload, sizeLabel: size, keys: keysFor(job.store, size), concurrency });
  const check = await roundTripCheck(store, checkKey('phase'), sessionFor(size, 3));
  if (!check.ok) return { ok: false, correctness: check, error: `CORRECTNESS: ${check.detail}` };

  const w0 = performance.now();
  driver.start();
  await driver.waitFor({ seconds: job.warmupSeconds, requests: job.warmupRequests });
  const warmup = { requests: driver.requests, errors: driver.errors, firstError: driver.firstError, seconds: (performance.now() - w0) / 1000 };

  driver.reset();
  const snap0 = snapshot(job.serverPid);
  const main0 = mainThreadCpuUs();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  await driver.waitFor({ seconds: job.seconds, requests: job.maxRequests });
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpuUs();
  const snap1 = snapshot(job.serverPid);
  const { ops, requests } = driver;
  // Outside the window: in `mix` a lane may be between a destroy and its re-create, so let the
  // requests in flight finish, or the next process would find the key gone. Elsewhere they are
  // abandoned when the process exits (a cut-off set leaves the previous session in place).
  const drain = driver.stop();
  if (workload === 'mix') await drain;

  const seconds = (snap1.at - snap0.at) / 1000;
  const load = loadBetween(snap0, snap1, cpu.user + cpu.system);
  const errors = driver.errors + warmup.errors;
  const firstError = warmup.firstError || driver.firstError;
  return {
    ok: errors === 0,
    seconds,
    requests,
    ops,
    opsPerSec: ops / seconds,
    requestsPerSec: requests / seconds,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
    cpuCores: (cpu.user + cpu.system) / 1e6 / seconds, // average cores busy in this process
    elu: elu.utilization,
    mainUsPerOp: (elu.active * 1000) / ops,
    mainCpuUsPerOp: main0 === null ? null : (main1 - main0) / ops,
    latency: driver.recorder.summary(),
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    server: load.server,
    machine: load.machine,
    warmup,
    errors,
    firstError,
    correctness: check,
    error: errors ? `${errors} errors (warm-up included); first: ${firstError}` : undefined,
  };
}

async function burst(store) {
  const keys = keysFor(job.store, job.size).slice(0, job.burstSize);
  // Load the code paths and open a connection, as a running app would have.
  for (const k of keys.slice(0, 8)) await store.get(k, MAX_AGE, GET_OPTS);
  const bursts = [];
  const serverCpuMs = []; // the fake server's own CPU per burst: the part of the time that is not the client's
  const clientCpuMs = [];
  let failures = 0;
  let firstError = null;
  for (let b = 0; b < job.bursts; b++) {
    const s0 = job.serverPid ? processCpuUs(job.serverPid) : null;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const settled = await Promise.allSettled(keys.map((k) => store.get(k, MAX_AGE, GET_OPTS)));
    bursts.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    clientCpuMs.push((c.user + c.system) / 1000);
    serverCpuMs.push(s0 === null ? null : (processCpuUs(job.serverPid) - s0) / 1000);
    for (const s of settled) {
      const bad = s.status === 'rejected' ? String(s.reason && s.reason.message) : !s.value || s.value._maxAge !== MAX_AGE ? 'get returned no session' : null;
      if (bad) { failures++; firstError = firstError || bad; }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const warm = bursts.slice(1).sort((a, b) => a - b);
  return {
    ok: failures === 0,
    burstSize: keys.length,
    bursts,
    clientCpuMs,
    serverCpuMs,
    coldMs: bursts[0],
    warmMedianMs: warm.length ? warm[Math.floor((warm.length - 1) / 2)] : bursts[0],
    warmMaxMs: warm.length ? warm[warm.length - 1] : bursts[0],
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    failures,
    error: failures ? `${failures} failed gets; first: ${firstError}` : undefined,
  };
}

async function main() {
  const base = { store: job.store, mode: job.mode, workload: job.workload, size: job.size, concurrency: job.concurrency, pid: process.pid };
  let store;
  try {
    store = createStore();
  } catch (e) {
    return finish({ ...base, ok: false, unavailable: true, error: `cannot create store: ${e && e.message}` });
  }
  let result;
  try {
    if (job.mode === 'probe') result = await roundTripCheck(store, checkKey('probe'), sessionFor('1KB', 1));
    else if (job.mode === 'burst') result = await burst(store);
    else result = await phase(store);
    if (job.mode === 'probe' && !result.ok) result.error = result.detail;
  } catch (e) {
    result = { ok: false, error: String((e && e.stack) || e) };
  }
  if (job.mode !== 'phase') { // a phase leaves requests in flight; the process exit ends them
    try {
      await store.close();
    } catch (e) {
      result.closeError = String(e && e.message);
    }
  }
  finish({ ...base, ...result });
}

main();
