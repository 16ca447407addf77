#!/usr/bin/env node
'use strict';
// Memory soak (not part of npm test): SOAK_OPS mixed store operations (default 1,000,000) of one
// store against the fake server at concurrency 64. After a warm-up of 50,000 operations the RSS
// is sampled every 50,000 (after a full GC); fails (exit 1) if it grew by more than 20 MB, or on
// any error, or if it could not take two samples in time.
//
//   node bench/soak.js [--store native]
// Env: SOAK_OPS (1000000), SOAK_MAX_SECONDS (900), SOAK_CONCURRENCY (64), SOAK_LIMIT_MB (20),
//      SOAK_WARMUP_OPS (50000), SOAK_SAMPLE_OPS (50000).
const { spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { parseArgs, num } = require('./lib/args');

const env = process.env;
const maxSeconds = num(env.SOAK_MAX_SECONDS, 900);

// Re-run with --expose-gc: RSS compared after full collections is the memory actually held.
if (typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
    timeout: (maxSeconds + 120) * 1000,
  });
  if (r.error) console.error(`soak: ${r.error.message}`);
  process.exit(r.status === null ? 1 : r.status);
}

const { loadStore } = require('./lib/stores');
const { startServer } = require('./lib/children');
const { ensureTable, populate, CREDENTIALS } = require('./lib/setup');
const { TABLE, keysFor, sessionFor, Driver, roundTripCheck } = require('./lib/workload');

const args = parseArgs(process.argv.slice(2));
const storeName = args.store || 'native';
const totalOps = num(env.SOAK_OPS, 1000000);
const concurrency = num(env.SOAK_CONCURRENCY, 64);
const limitMB = num(env.SOAK_LIMIT_MB, 20);
const warmupOps = num(env.SOAK_WARMUP_OPS, 50000);
const sampleOps = num(env.SOAK_SAMPLE_OPS, 50000);
const MB = 2 ** 20;

function measure(ops, t0) {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { ops, seconds: (performance.now() - t0) / 1000, rssMB: m.rss / MB, heapUsedMB: m.heapUsed / MB, externalMB: m.external / MB };
}

async function main() {
  const server = await startServer({ kind: 'fake' });
  let store;
  try {
    await ensureTable(server.endpoint);
    await populate(server.endpoint, [{ store: storeName, size: '1KB' }]);
    store = loadStore(storeName).create({ ...CREDENTIALS, endpoint: server.endpoint, table: TABLE, server: 'fake' });
    const driver = new Driver({ store, workload: 'mix', sizeLabel: '1KB', keys: keysFor(storeName, '1KB'), concurrency, record: false });
    console.log(`soak: ${storeName}, ${totalOps.toLocaleString('en-US')} mixed ops at concurrency ${concurrency} (≤ ${maxSeconds} s), RSS sampled every ${sampleOps.toLocaleString('en-US')} ops after ${warmupOps.toLocaleString('en-US')}`);

    const t0 = performance.now();
    const samples = [];
    let next = warmupOps;
    driver.start();
    await driver.waitFor({
      seconds: maxSeconds,
      test: (d) => {
        if (d.ops >= next) {
          const s = measure(d.ops, t0);
          samples.push(s);
          next += sampleOps;
          const delta = s.rssMB - samples[0].rssMB;
          console.log(`  ${String(s.ops).padStart(8)} ops  ${s.seconds.toFixed(0).padStart(4)} s  RSS ${s.rssMB.toFixed(1)} MB (${delta >= 0 ? '+' : ''}${delta.toFixed(1)})  heap ${s.heapUsedMB.toFixed(1)} MB  external ${s.externalMB.toFixed(1)} MB`);
        }
        return d.ops >= totalOps;
      },
    });
    await driver.stop();
    const final = measure(driver.ops, t0);
    const check = await roundTripCheck(store, `bench-${storeName}-soak-check`, sessionFor('1KB', 2));
    const base = samples[0];
    const growth = base && samples.length >= 2 ? final.rssMB - base.rssMB : null;
    const peakGrowth = base ? Math.max(...samples.map((s) => s.rssMB - base.rssMB), final.rssMB - base.rssMB) : null;
    const result = {
      store: storeName, ops: driver.ops, requests: driver.requests, seconds: final.seconds,
      opsPerSec: driver.ops / final.seconds, stoppedByTime: driver.ops < totalOps,
      baselineRssMB: base && base.rssMB, finalRssMB: final.rssMB, growthMB: growth, peakGrowthMB: peakGrowth,
      heapGrowthMB: base ? final.heapUsedMB - base.heapUsedMB : null, limitMB,
      errors: driver.errors, firstError: driver.firstError, correctness: check, samples,
    };
    const problems = [];
    if (growth === null) problems.push(`inconclusive: only ${samples.length} sample(s) in ${maxSeconds} s (${driver.ops} ops)`);
    else if (growth > limitMB) problems.push(`RSS grew ${growth.toFixed(1)} MB > ${limitMB} MB`);
    if (driver.errors) problems.push(`${driver.errors} errors; first: ${driver.firstError}`);
    if (!check.ok) problems.push(`CORRECTNESS: ${check.detail}`);
    console.log(JSON.stringify({ ...result, samples: undefined }));
    console.log(`soak ${problems.length ? 'FAILED' : 'passed'}: ${driver.ops.toLocaleString('en-US')} ops in ${final.seconds.toFixed(0)} s` +
      `${result.stoppedByTime ? ' (stopped by SOAK_MAX_SECONDS)' : ''}; RSS ${base ? base.rssMB.toFixed(1) : '?'} → ${final.rssMB.toFixed(1)} MB` +
      ` (growth ${growth === null ? '?' : growth.toFixed(1)} MB, limit ${limitMB} MB)${problems.length ? `\n  ${problems.join('\n  ')}` : ''}`);
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    if (store) await store.close().catch(() => {});
    server.stop();
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
