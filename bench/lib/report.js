'use strict';
// Summaries, ratios, targets, the console tables and the markdown section of run.js.
const fs = require('node:fs');
const os = require('node:os');
const { median, fmtNum, fmtSig } = require('./stats');

const RATIO_BASES = ['v3', 'v1', 'floor'];
// Ratios with three significant digits, so one just above a threshold does not print as it.
const fmtRatio = (v, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `×${v >= 100 ? fmtNum(v) : v.toPrecision(digits)}`);

function machine() {
  let cpu = os.cpus()[0] ? os.cpus()[0].model : 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  return {
    cpu,
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

// The figures of one worker result that the tables show.
function figures(r, workload) {
  if (!r || r.opsPerSec === undefined) return null;
  const lat = r.latency && r.latency[workload === 'set' ? 'set' : 'get'];
  return {
    opsPerSec: r.opsPerSec,
    cpuUsPerOp: r.cpuUsPerOp,
    mainUsPerOp: r.mainUsPerOp,
    mainCpuUsPerOp: r.mainCpuUsPerOp,
    p50: lat ? lat.p50 : null,
    p99: lat ? lat.p99 : null,
    maxRssMB: r.maxRssMB,
    serverCores: r.server ? r.server.cores : null,
    otherCores: r.machine ? r.machine.otherCores : null,
    warmupRequests: r.warmup ? r.warmup.requests : null,
    warmupSeconds: r.warmup ? r.warmup.seconds : null,
    latency: r.latency, // every operation kind: n, p50, p90, p99, max, mean (ms)
  };
}
const FIGURES = ['opsPerSec', 'cpuUsPerOp', 'mainUsPerOp', 'mainCpuUsPerOp', 'p50', 'p99', 'maxRssMB', 'serverCores', 'otherCores'];

// One configuration: per store its repeats (worker results, by repeat index) and medians;
// per pair "subject vs base" the per-repeat ratios and their median.
function summarizeConfig(config, results, stores, subject) {
  const out = { ...config, stores: {}, ratios: {} };
  for (const s of stores) {
    const runs = results[s] || [];
    const figs = runs.map((r) => (r && r.ok ? figures(r, config.workload) : null));
    const med = {};
    for (const f of FIGURES) med[f] = median(figs.map((x) => (x ? x[f] : null)));
    out.stores[s] = {
      repeats: figs,
      median: figs.some(Boolean) ? med : null,
      errors: runs.map((r, i) => (r && !r.ok ? { repeat: i + 1, error: r.error || 'failed', correctness: r.correctness } : null)).filter(Boolean),
    };
  }
  for (const base of RATIO_BASES) {
    if (base === subject || !out.stores[subject] || !out.stores[base]) continue;
    const a = out.stores[subject].repeats;
    const b = out.stores[base].repeats;
    const per = (fn) => a.map((x, i) => (x && b[i] ? fn(x, b[i]) : null));
    const ratio = {
      throughput: per((x, y) => x.opsPerSec / y.opsPerSec),
      cpu: per((x, y) => x.cpuUsPerOp / y.cpuUsPerOp),
      main: per((x, y) => x.mainUsPerOp / y.mainUsPerOp),
      mainCpu: per((x, y) => (x.mainCpuUsPerOp && y.mainCpuUsPerOp ? x.mainCpuUsPerOp / y.mainCpuUsPerOp : null)),
    };
    out.ratios[`${subject}/${base}`] = Object.fromEntries(
      Object.entries(ratio).map(([k, v]) => [k, { repeats: v, median: median(v) }]));
  }
  return out;
}

// A JIT-compiled client's cost per call keeps falling for a couple of thousand requests (see
// README): a measurement after fewer requests and less than 5 s of warm-up is not steady state.
const WARM = { requests: 2000, seconds: 5 };
const shortWarmup = (w) => w && w.requests !== null && w.requests < WARM.requests && w.seconds < WARM.seconds;

// Stores measured mostly after a short warm-up.
function underWarmed(rawResults, stores) {
  const out = [];
  for (const s of stores) {
    const w = rawResults.flatMap((byStore) => (byStore[s] || []).filter((r) => r && r.warmup).map((r) => r.warmup));
    const short = w.filter(shortWarmup).length;
    if (w.length && short > w.length / 2) out.push({ store: s, medianRequests: median(w.map((x) => x.requests)), short, of: w.length });
  }
  return out;
}

// Whether a configuration's figures for these stores came mostly after a short warm-up.
function shortIn(cfg, stores) {
  return Boolean(cfg) && stores.some((s) => {
    const reps = ((cfg.stores[s] && cfg.stores[s].repeats) || []).filter(Boolean);
    return reps.filter((f) => shortWarmup({ requests: f.warmupRequests, seconds: f.warmupSeconds })).length > reps.length / 2;
  });
}

function cfgName(c) {
  return `${c.workload} · ${c.size} · c=${c.concurrency}`;
}

// "median (r1 r2 r3)" when there are several repeats.
function withRepeats(values, fmt) {
  const m = median(values);
  const shown = values.filter((v) => v !== null && v !== undefined);
  if (shown.length <= 1) return fmt(m);
  return `${fmt(m)} (${values.map((v) => (v === null || v === undefined ? '✗' : fmt(v))).join(' ')})`;
}

function pad(rows) {
  const widths = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] || 0, String(c).length); });
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function consoleConfig(summary, stores, subject) {
  const lines = [`\n── ${cfgName(summary)} ${'─'.repeat(Math.max(0, 60 - cfgName(summary).length))}`];
  const op = summary.workload === 'set' ? 'set' : 'get';
  const rows = [['store', 'ops/s', 'CPU µs/op', 'main µs/op', 'main CPU µs/op', `${op} p50 ms`, `${op} p99 ms`, 'RSS MB', 'server cores', 'other load']];
  const problems = [];
  for (const s of stores) {
    const st = summary.stores[s];
    for (const e of st.errors) problems.push(`  !! ${s} repeat ${e.repeat}: ${String(e.error).split('\n')[0]}`.slice(0, 240));
    if (!st.median) {
      rows.push([s, 'ERROR']);
      continue;
    }
    const col = (f, fmt) => withRepeats(st.repeats.map((x) => (x ? x[f] : null)), fmt);
    rows.push([s, col('opsPerSec', (v) => fmtNum(v)), col('cpuUsPerOp', fmtSig), col('mainUsPerOp', fmtSig),
      fmtSig(st.median.mainCpuUsPerOp), fmtSig(st.median.p50), fmtSig(st.median.p99), fmtNum(st.median.maxRssMB), fmtSig(st.median.serverCores), fmtSig(st.median.otherCores)]);
  }
  lines.push(pad(rows), ...problems);
  const ratioRows = [];
  for (const [pair, r] of Object.entries(summary.ratios)) {
    if (r.throughput.median === null) continue;
    const x = fmtRatio;
    ratioRows.push([`  ${pair.replace('/', ' vs ')}`,
      `throughput ${withRepeats(r.throughput.repeats, x)}`,
      `CPU/op ${withRepeats(r.cpu.repeats, x)}`,
      `main/op ${withRepeats(r.main.repeats, x)}`,
      `main CPU/op ${withRepeats(r.mainCpu.repeats, x)}`]);
  }
  if (ratioRows.length) lines.push(pad(ratioRows));
  else if (summary.stores[subject] && !summary.stores[subject].median) lines.push(`  (no ratios: ${subject} has no result)`);
  return lines.join('\n');
}

// ---- latency scenario -----------------------------------------------------------------------
function summarizeLatency(results, stores) {
  const out = {};
  for (const s of stores) {
    const runs = results[s] || [];
    const ok = runs.filter((r) => r && r.bursts);
    out[s] = {
      repeats: runs.map((r) => (r && r.bursts ? {
        bursts: r.bursts, coldMs: r.coldMs, warmMedianMs: r.warmMedianMs, warmMaxMs: r.warmMaxMs,
        clientCpuMs: r.clientCpuMs, serverCpuMs: r.serverCpuMs, failures: r.failures,
      } : null)),
      clientCpuMs: median(ok.flatMap((r) => r.clientCpuMs.slice(1))),
      serverCpuMs: median(ok.flatMap((r) => r.serverCpuMs.slice(1))),
      coldMs: median(ok.map((r) => r.coldMs)),
      warmMedianMs: median(ok.map((r) => r.warmMedianMs)),
      warmMaxMs: ok.length ? Math.max(...ok.map((r) => r.warmMaxMs)) : null,
      errors: runs.filter((r) => r && !r.ok).map((r) => r.error || 'failed'),
    };
  }
  return out;
}

function consoleLatency(lat, meta) {
  const rows = [['store', 'cold burst ms', 'warm bursts ms (median)', 'worst warm ms', 'client CPU ms', 'server CPU ms', 'all bursts ms, per repeat']];
  const problems = [];
  for (const [s, l] of Object.entries(lat)) {
    for (const e of l.errors) problems.push(`  !! ${s}: ${String(e).split('\n')[0]}`.slice(0, 240));
    if (l.coldMs === null) { rows.push([s, 'ERROR']); continue; }
    rows.push([s, fmtSig(l.coldMs), fmtSig(l.warmMedianMs), fmtSig(l.warmMaxMs), fmtSig(l.clientCpuMs), fmtSig(l.serverCpuMs),
      l.repeats.map((r) => (r ? `[${r.bursts.map((b) => fmtNum(b)).join(' ')}]` : '✗')).join(' ')]);
  }
  return [`\n── ${meta.burstSize} concurrent gets, server latency ${meta.latencyMs} ms ${'─'.repeat(20)}`, pad(rows), ...problems,
    '(CPU: per warm burst, median; the server\'s CPU is time the answers wait for besides the 20 ms)'].join('\n');
}

// ---- targets --------------------------------------------------------------------------------
function targets(summaries, latency, subject) {
  const find = (w, size, c) => summaries.find((s) => s.workload === w && s.size === size && s.concurrency === c);
  const ratio = (cfg, base, k) => {
    const s = cfg && cfg.ratios[`${subject}/${base}`];
    return s ? s[k].median : null;
  };
  const mix1 = find('mix', '1KB', 16);
  const mix100 = find('mix', '100KB', 16);
  const lat = latency && latency[subject];
  // indicative: the figures compared were measured after a short warm-up (see WARM).
  const t = (id, text, value, ok, shown, cfg, base) => ({
    id, text, value, shown,
    pass: value === null || value === undefined ? null : ok(value),
    indicative: cfg ? shortIn(cfg, [subject, base]) : false,
  });
  const x = (v) => fmtRatio(v, 4);
  return [
    t('cpu-vs-v3', `1 KB mix c=16: ${subject} CPU/op ≤ 1/10 of v3`, ratio(mix1, 'v3', 'cpu'), (v) => v <= 0.1, x, mix1, 'v3'),
    t('cpu-vs-floor', `1 KB mix c=16: ${subject} CPU/op < floor`, ratio(mix1, 'floor', 'cpu'), (v) => v < 1, x, mix1, 'floor'),
    t('throughput-vs-v3', `1 KB mix c=16: ${subject} throughput ≥ 5× v3`, ratio(mix1, 'v3', 'throughput'), (v) => v >= 5, x, mix1, 'v3'),
    t('main-vs-v3', `1 KB mix c=16: ${subject} main-thread/op ≤ 1/20 of v3`, ratio(mix1, 'v3', 'main'), (v) => v <= 0.05,
      (v) => `${x(v)} (main-thread CPU: ${x(ratio(mix1, 'v3', 'mainCpu'))})`, mix1, 'v3'),
    t('throughput-100kb-vs-v3', `100 KB mix c=16: ${subject} throughput ≥ 5× v3`, ratio(mix100, 'v3', 'throughput'), (v) => v >= 5, x, mix100, 'v3'),
    t('burst-256', `256 gets at 20 ms latency settle within 60 ms (${subject}, warm median)`, lat ? lat.warmMedianMs : null, (v) => v <= 60, (v) => `${fmtSig(v)} ms`),
  ];
}

function targetStatus(t, { md = false } = {}) {
  if (t.pass === null) return 'n/a';
  const word = t.pass ? (md ? 'pass' : 'PASS') : md ? '**FAIL**' : 'FAIL';
  return t.indicative ? `${word}${md ? '\\*' : '*'}` : word;
}

function consoleTargets(list) {
  const rows = list.map((t) => [targetStatus(t).padEnd(5), t.text, t.value === null || t.value === undefined ? 'not measured' : t.shown(t.value)]);
  const note = list.some((t) => t.indicative) ? '\n* indicative only: compared after a short warm-up; judge with `node bench/run.js --targets`' : '';
  return `\n── targets ${'─'.repeat(50)}\n${pad(rows)}${note}\n(RSS growth < 20 MB over a million ops: see bench/soak.js)`;
}

// ---- markdown -------------------------------------------------------------------------------
function markdown(res) {
  const m = res.meta;
  const L = [];
  L.push('### Latest results', '');
  L.push(`Measured ${m.date} on ${m.machine.cpu} (${m.machine.cores} cores, ${m.machine.memoryGB} GB), Node ${m.machine.node}, ${m.machine.platform}.`);
  L.push(`Run: \`${m.command}\` (${{ quick: 'quick smoke run', targets: 'target configurations, long warm-up', full: 'full matrix' }[m.mode] || m.mode}): server ${m.server}; ${m.seconds} s windows after a warm-up of ${m.warmupRequests} requests (at most ${m.warmupSeconds} s); ${m.repeats} repeat(s), medians shown; took ${Math.round(m.durationSeconds)} s.`);
  if (m.otherLoad && m.otherLoad.max > 0.25) {
    L.push('', `**Noisy machine:** other processes kept up to ${fmtSig(m.otherLoad.max)} cores busy during the measurements (median ${fmtSig(m.otherLoad.median)}); throughput and latency figures are affected, CPU/op less so.`);
  }
  if (m.underWarmed && m.underWarmed.length) {
    const list = m.underWarmed.map((u) => `${u.store} (${u.short} of ${u.of}, median ${fmtNum(u.medianRequests)} requests)`).join(', ');
    L.push('', `**Short warm-up:** these stores were mostly measured after fewer than ${fmtNum(WARM.requests)} warm-up requests and less than ${WARM.seconds} s: ${list}. JIT-compiled clients (v1, v3, and less so floor) are then well above their steady-state cost, which flatters the ratios; see the warm-up caveat above and \`--targets\`.`);
  }
  const stores = m.stores;
  L.push('', '| workload | size | c | store | ops/s | CPU µs/op | main-thread µs/op (ELU) | main-thread CPU µs/op | p50 ms | p99 ms | peak RSS MB |', '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of res.configurations) {
    for (const s of stores) {
      const st = c.stores[s];
      const head = `| ${c.workload} | ${c.size} | ${c.concurrency} | ${s} |`;
      if (!st || !st.median) { L.push(`${head} error | | | | | | |`); continue; }
      const md = st.median;
      L.push(`${head} ${fmtNum(md.opsPerSec)} | ${fmtSig(md.cpuUsPerOp)} | ${fmtSig(md.mainUsPerOp)} | ${fmtSig(md.mainCpuUsPerOp)} | ${fmtSig(md.p50)} | ${fmtSig(md.p99)} | ${fmtNum(md.maxRssMB)} |`);
    }
  }
  const pairs = res.configurations.flatMap((c) => Object.entries(c.ratios).filter(([, r]) => r.throughput.median !== null).map(([p, r]) => [c, p, r]));
  if (pairs.length) {
    L.push('', `Ratios (${m.subject} ÷ other, median of the per-repeat ratios; throughput > 1 and CPU/op, main-thread/op < 1 favour ${m.subject}):`, '');
    L.push('| workload | size | c | pair | throughput | CPU/op | main-thread/op (ELU) | main-thread CPU/op |', '|---|---|---:|---|---:|---:|---:|---:|');
    for (const [c, p, r] of pairs) {
      L.push(`| ${c.workload} | ${c.size} | ${c.concurrency} | ${p.replace('/', ' vs ')} | ${fmtRatio(r.throughput.median)} | ${fmtRatio(r.cpu.median)} | ${fmtRatio(r.main.median)} | ${fmtRatio(r.mainCpu.median)} |`);
    }
  }
  if (res.latency) {
    L.push('', `${res.latency.burstSize} concurrent gets against a server answering after ${res.latency.latencyMs} ms (time until all settled):`, '');
    L.push('| store | cold burst ms | warm bursts ms (median) | worst warm burst ms | client CPU ms per burst | fake server CPU ms per burst |', '|---|---:|---:|---:|---:|---:|');
    for (const [s, l] of Object.entries(res.latency.stores)) {
      L.push(l.coldMs === null ? `| ${s} | error | | | | |`
        : `| ${s} | ${fmtSig(l.coldMs)} | ${fmtSig(l.warmMedianMs)} | ${fmtSig(l.warmMaxMs)} | ${fmtSig(l.clientCpuMs)} | ${fmtSig(l.serverCpuMs)} |`);
    }
  }
  L.push('', '| target | measured | |', '|---|---:|---|');
  for (const t of res.targets) {
    L.push(`| ${t.text} | ${t.value === null || t.value === undefined ? 'not measured' : t.shown(t.value)} | ${targetStatus(t, { md: true })} |`);
  }
  if (res.targets.some((t) => t.indicative)) L.push('', '\\* indicative only: compared after a short warm-up; judge with `node bench/run.js --targets`.');
  if (res.failures.length) {
    L.push('', `**${res.failures.length} failed measurement(s)**, e.g. ${res.failures.slice(0, 3).map((f) => `${f.store} ${f.what}: ${String(f.error).split('\n')[0].slice(0, 160)}`).join('; ')}`);
  }
  return L.join('\n');
}

function updateReadme(file, section) {
  const START = '<!-- results:start -->';
  const END = '<!-- results:end -->';
  const text = fs.readFileSync(file, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file}: markers ${START} / ${END} not found`);
  fs.writeFileSync(file, `${text.slice(0, a + START.length)}\n${section}\n${text.slice(b)}`);
}

module.exports = {
  machine, underWarmed, summarizeConfig, consoleConfig, summarizeLatency, consoleLatency, targets, consoleTargets, markdown, updateReadme, cfgName,
};
