#!/usr/bin/env node
'use strict';
// The benchmark (`npm run bench`). See bench/README.md.
//
//   node bench/run.js [--quick | --targets] [--stores native,v1,v3,floor] [--against fake|dynalite]
//                     [--workloads get,set,mix] [--sizes 1KB,100KB] [--concurrency 1,16,128]
//                     [--repeats N] [--seconds S] [--subject native] [--no-latency] [--no-write]
//   node bench/run.js --render     (tables and README section again from results/latest.json)
// Env: BENCH_SECONDS, BENCH_REPEATS, BENCH_WARMUP_REQUESTS, BENCH_WARMUP_SECONDS.
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs, list, num } = require('./lib/args');
const { STORES, DEFAULT_STORES } = require('./lib/stores');
const { WORKLOADS, keyCount } = require('./lib/workload');
const { SIZES } = require('./lib/session');
const { startServer, runWorker, killAll } = require('./lib/children');
const { ensureTable, populate } = require('./lib/setup');
const { median, fmtNum, fmtSig, fmtDuration } = require('./lib/stats');
const report = require('./lib/report');

const args = parseArgs(process.argv.slice(2), { booleans: ['quick', 'targets', 'render', 'no-latency', 'no-write', 'help'] });
if (args.help) {
  process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 11).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
// full: the whole matrix in ~12 minutes (short warm-ups); quick: a smoke run in about a minute;
// targets: only the configurations the targets are about, each after a long warm-up (~6 minutes).
const PRESETS = {
  full: { workloads: WORKLOADS, sizes: Object.keys(SIZES), concurrency: [1, 16, 128], repeats: 3, seconds: 1.5, warmupRequests: 2000, warmupSeconds: 1, bursts: 5 },
  quick: { workloads: WORKLOADS, sizes: ['1KB'], concurrency: [16], repeats: 1, seconds: 0.5, warmupRequests: 1000, warmupSeconds: 1, bursts: 3 },
  targets: { workloads: ['mix'], sizes: Object.keys(SIZES), concurrency: [16], repeats: 3, seconds: 1.5, warmupRequests: 20000, warmupSeconds: 8, bursts: 5 },
};
const env = process.env;
const mode = args.quick ? 'quick' : args.targets ? 'targets' : 'full';
const p = PRESETS[mode];
const opt = {
  mode,
  stores: list(args.stores, DEFAULT_STORES),
  workloads: list(args.workloads, p.workloads),
  sizes: list(args.sizes, p.sizes),
  concurrency: list(args.concurrency, p.concurrency).map(Number),
  repeats: num(args.repeats ?? env.BENCH_REPEATS, p.repeats),
  seconds: num(args.seconds ?? env.BENCH_SECONDS, p.seconds),
  warmupRequests: num(env.BENCH_WARMUP_REQUESTS, p.warmupRequests),
  warmupSeconds: num(env.BENCH_WARMUP_SECONDS, p.warmupSeconds),
  server: args.against || 'fake',
  subject: args.subject || 'native',
  latency: !args['no-latency'],
  latencyMs: 20,
  burstSize: 256,
  bursts: p.bursts,
  write: !args['no-write'],
};
for (const s of opt.stores) if (!STORES[s]) throw new Error(`unknown store ${s}; known: ${Object.keys(STORES).join(', ')}`);
for (const w of opt.workloads) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
for (const z of opt.sizes) if (!SIZES[z]) throw new Error(`unknown size ${z}; known: ${Object.keys(SIZES).join(', ')}`);
if (!['fake', 'dynalite'].includes(opt.server)) throw new Error('--against takes fake or dynalite');
for (const z of opt.sizes) {
  const max = keyCount(z);
  if (opt.concurrency.some((c) => !(c >= 1 && c <= max))) throw new Error(`concurrency at ${z} must be 1..${max} (one key per lane at least)`);
}

const t0 = Date.now();
const log = (msg) => process.stdout.write(`${msg}\n`);
const elapsed = () => fmtDuration(Date.now() - t0);

function workerTimeoutMs() {
  return Math.round((opt.warmupSeconds + opt.seconds) * 1000 * 2 + 60000);
}

async function probeStores(server) {
  const status = {};
  for (const s of opt.stores) {
    const r = await runWorker({ mode: 'probe', store: s, endpoint: server.endpoint, server: server.kind, watchdogMs: 30000 }, { timeoutMs: 40000 });
    status[s] = { label: STORES[s].label, available: Boolean(r.ok), error: r.ok ? undefined : r.error };
    log(`  ${s.padEnd(10)} ${r.ok ? 'ok (set/get/destroy round trip)' : `UNAVAILABLE: ${String(r.error).split('\n')[0]}`}`);
  }
  return status;
}

async function throughputRuns(server, available) {
  const configs = [];
  for (const workload of opt.workloads) {
    for (const size of opt.sizes) for (const concurrency of opt.concurrency) configs.push({ workload, size, concurrency });
  }
  const results = configs.map(() => Object.fromEntries(opt.stores.map((s) => [s, []])));
  const total = configs.length * opt.repeats * opt.stores.length;
  let n = 0;
  for (let r = 0; r < opt.repeats; r++) {
    for (let ci = 0; ci < configs.length; ci++) {
      const c = configs[ci];
      // Rotate the store order so no store always runs first (or right after another).
      const order = opt.stores.map((_, i) => opt.stores[(i + r + ci) % opt.stores.length]);
      for (const store of order) {
        n++;
        let res;
        if (!available[store].available) {
          res = { ok: false, unavailable: true, error: available[store].error };
          log(`[${String(n).padStart(String(total).length)}/${total} ${elapsed()}] r${r + 1} ${report.cfgName(c).padEnd(22)} ${store.padEnd(10)} skipped: unavailable`);
        } else {
          res = await runWorker({
            mode: 'phase', store, endpoint: server.endpoint, server: server.kind, serverPid: server.pid, ...c,
            seconds: opt.seconds, warmupSeconds: opt.warmupSeconds, warmupRequests: opt.warmupRequests,
            watchdogMs: workerTimeoutMs() - 5000,
          }, { timeoutMs: workerTimeoutMs() });
          progress(n, total, r, c, store, res);
        }
        results[ci][store][r] = res;
      }
    }
  }
  return { configs, results };
}

function progress(n, total, r, c, store, res) {
  const head = `[${String(n).padStart(String(total).length)}/${total} ${elapsed()}] r${r + 1} ${report.cfgName(c).padEnd(22)} ${store.padEnd(10)}`;
  if (res.opsPerSec === undefined) { log(`${head} ERROR ${String(res.error).split('\n')[0].slice(0, 200)}`); return; }
  const lat = res.latency[c.workload === 'set' ? 'set' : 'get'];
  log(`${head} ${fmtNum(res.opsPerSec).padStart(7)} ops/s  CPU ${fmtSig(res.cpuUsPerOp).padStart(6)} µs/op  main ${fmtSig(res.mainUsPerOp).padStart(6)} µs/op  p99 ${fmtSig(lat && lat.p99)} ms` +
    `  warm-up ${res.warmup.requests} req/${fmtSig(res.warmup.seconds)} s` +
    `${res.machine && res.machine.otherCores > 0.25 ? `  (other load ${fmtSig(res.machine.otherCores)} cores)` : ''}` +
    `${res.ok ? '' : `\n   !! ${res.correctness && !res.correctness.ok ? 'CORRECTNESS FAILURE: ' : ''}${String(res.error).split('\n')[0].slice(0, 300)}`}`);
}

async function latencyRuns(available) {
  log(`\nLatency scenario: fake server with ${opt.latencyMs} ms latency, ${opt.burstSize} gets at once, ${opt.bursts} bursts per process`);
  const server = await startServer({ kind: 'fake', latencyMs: opt.latencyMs });
  try {
    await ensureTable(server.endpoint);
    const usable = opt.stores.filter((s) => available[s].available);
    await populate(server.endpoint, usable.map((store) => ({ store, size: '1KB' })), { concurrency: 128 });
    const results = Object.fromEntries(opt.stores.map((s) => [s, []]));
    for (let r = 0; r < opt.repeats; r++) {
      for (const store of opt.stores) {
        let res;
        if (!available[store].available) res = { ok: false, error: available[store].error };
        else {
          res = await runWorker({ mode: 'burst', store, endpoint: server.endpoint, server: 'fake', serverPid: server.pid, size: '1KB', burstSize: opt.burstSize, bursts: opt.bursts, watchdogMs: 60000 }, { timeoutMs: 70000 });
          const ms = (list) => `[${list.map((b) => (b === null ? '?' : fmtNum(b))).join(' ')}]`;
          log(`[${elapsed()}] r${r + 1} burst ${store.padEnd(10)} ${res.bursts ? `cold ${fmtSig(res.coldMs)} ms, warm median ${fmtSig(res.warmMedianMs)} ms; all ${ms(res.bursts)} ms; CPU per burst: client ${ms(res.clientCpuMs)} ms, server ${ms(res.serverCpuMs)} ms` : ''}${res.ok ? '' : ` !! ${res.error}`}`);
        }
        results[store][r] = res;
      }
    }
    return { latencyMs: opt.latencyMs, burstSize: opt.burstSize, bursts: opt.bursts, stores: report.summarizeLatency(results, opt.stores), raw: results };
  } finally {
    server.stop();
  }
}

async function main() {
  const machine = report.machine();
  log(`koa-session-dynamodb-store benchmark — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  log(`stores ${opt.stores.join(',')}; workloads ${opt.workloads.join(',')}; sizes ${opt.sizes.join(',')}; concurrency ${opt.concurrency.join(',')}; ` +
    `${opt.repeats} repeat(s) of ${opt.seconds} s after ${opt.warmupRequests} warm-up requests (≤ ${opt.warmupSeconds} s); server: ${opt.server}`);

  const server = await startServer({ kind: opt.server });
  let throughput;
  let available;
  try {
    await ensureTable(server.endpoint);
    log(`${opt.server} server on ${server.endpoint} (pid ${server.pid}); probing stores:`);
    available = await probeStores(server);
    const usable = opt.stores.filter((s) => available[s].available);
    const tp = Date.now();
    const items = await populate(server.endpoint, usable.flatMap((store) => opt.sizes.map((size) => ({ store, size }))));
    log(`populated ${items} sessions in ${((Date.now() - tp) / 1000).toFixed(1)} s`);
    throughput = await throughputRuns(server, available);
  } finally {
    server.stop();
  }
  const latency = opt.latency ? await latencyRuns(available) : null;

  const configurations = throughput.configs.map((c, i) => report.summarizeConfig(c, throughput.results[i], opt.stores, opt.subject));
  const failures = [];
  throughput.configs.forEach((c, i) => {
    for (const s of opt.stores) {
      throughput.results[i][s].forEach((r, rep) => {
        if (r && !r.ok) failures.push({ store: s, what: `${report.cfgName(c)} r${rep + 1}`, error: r.error, correctness: Boolean(r.correctness && !r.correctness.ok) });
      });
    }
  });
  if (latency) {
    for (const s of opt.stores) latency.raw[s].forEach((r, rep) => { if (r && !r.ok) failures.push({ store: s, what: `burst r${rep + 1}`, error: r.error }); });
    delete latency.raw; // every burst is in latency.stores[*].repeats
  }
  const other = throughput.results.flatMap((byStore) => Object.values(byStore).flat()).map((r) => r && r.machine && r.machine.otherCores);
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine,
    command: `node bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    mode,
    server: opt.server === 'fake' ? 'fake (bench/fake-server.js)' : 'dynalite',
    stores: opt.stores,
    subject: opt.subject,
    seconds: opt.seconds,
    warmupRequests: opt.warmupRequests,
    warmupSeconds: opt.warmupSeconds,
    repeats: opt.repeats,
    otherLoad: { median: median(other), max: Math.max(0, ...other.filter(Number.isFinite)) },
    underWarmed: report.underWarmed(throughput.results, opt.stores),
    durationSeconds: (Date.now() - t0) / 1000,
  };
  const out = { meta, storeStatus: available, configurations, latency, failures };
  render(out);
  if (opt.write) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'latest.json');
    // Four significant digits are plenty for every figure and keep the file small.
    const round = (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v);
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(out, round)}\n`);
    fs.renameSync(`${file}.tmp`, file);
    log(`\nwrote bench/results/latest.json and the results section of bench/README.md (${elapsed()} total)`);
  }
  // What users pay (capacity units and bytes per 1,000 requests): bench/cost.js (rolling sessions)
  // and bench/cost-sizes.js (1 KB / 10 KB / 100 KB, plain / compress / encrypt / v3), in the full run.
  if (mode === 'full') {
    for (const [script, title] of [['cost.js', 'DynamoDB capacity and bytes'], ['cost-sizes.js', 'capacity, bytes and CPU by session size']]) {
      log(`\n── cost: ${title} (bench/${script}) ──`);
      const cost = require('node:child_process').spawnSync(process.execPath, [path.join(__dirname, script), ...(opt.write ? ['--write'] : [])], { stdio: 'inherit', timeout: 20 * 60 * 1000 });
      if (cost.status !== 0) failures.push({ store: 'cost', what: `bench/${script}`, error: cost.error ? String(cost.error.message) : `exit ${cost.status}` });
    }
  }
  process.exitCode = failures.length ? 1 : 0;
}

// Tables, targets and notes on the console; the README section too unless --no-write.
function render(out) {
  const { meta, configurations, latency, failures } = out;
  for (const s of configurations) log(report.consoleConfig(s, meta.stores, meta.subject));
  if (latency) log(report.consoleLatency(latency.stores, latency));
  out.targets = report.targets(configurations, latency && latency.stores, meta.subject);
  log(report.consoleTargets(out.targets));
  for (const u of meta.underWarmed || []) {
    log(`note: ${u.store} was measured after a short warm-up in ${u.short} of ${u.of} measurements (median ${fmtNum(u.medianRequests)} requests): a JIT-compiled client is not at its steady state yet`);
  }
  const correctness = failures.filter((f) => f.correctness);
  if (failures.length) {
    log(`\n!! ${failures.length} failed measurement(s)${correctness.length ? `, ${correctness.length} of them CORRECTNESS FAILURES` : ''}:`);
    for (const f of failures.slice(0, 12)) log(`   ${f.store} ${f.what}: ${String(f.error).split('\n')[0].slice(0, 200)}`);
  }
  if (opt.write) report.updateReadme(path.join(__dirname, 'README.md'), report.markdown(out));
}

// --render: the tables and the README section again, from results/latest.json.
function renderSaved() {
  const out = JSON.parse(fs.readFileSync(path.join(__dirname, 'results', 'latest.json'), 'utf8'));
  render(out);
  process.exitCode = out.failures.length ? 1 : 0;
}

(args.render ? async () => renderSaved() : main)().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  killAll();
  process.exit(2);
});
