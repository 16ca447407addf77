'use strict';
// CPU figures read from /proc (Linux; null elsewhere), synchronously, so a measurement window
// can open and close in one tick: the main thread's own CPU, the server process's CPU, and the
// whole machine's busy time (whatever else ran during the window).
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

const CLK_TCK = 100; // USER_HZ on Linux: /proc times are in 10 ms ticks

// utime + stime of a /proc/.../stat file, in µs.
function statCpuUs(file) {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK; // fields 14 and 15
  } catch {
    return null;
  }
}

// This process's main (JavaScript) thread. Unlike event-loop utilization it does not count time
// the thread was runnable but had no core.
const mainThreadCpuUs = () => statCpuUs(`/proc/self/task/${process.pid}/stat`);
const processCpuUs = (pid) => statCpuUs(`/proc/${pid}/stat`);

// Busy CPU seconds of the whole machine so far.
function machineBusySeconds() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal || 0)) / CLK_TCK;
  } catch {
    return null;
  }
}

function snapshot(serverPid) {
  return { at: performance.now(), machine: machineBusySeconds(), serverCpu: serverPid ? processCpuUs(serverPid) : null };
}

// Cores kept busy by the server and by other processes between two snapshots.
function loadBetween(a, b, ownCpuUs) {
  const wall = (b.at - a.at) / 1000;
  const out = { server: null, machine: null };
  let serverCores = 0;
  if (a.serverCpu !== null && b.serverCpu !== null) {
    serverCores = (b.serverCpu - a.serverCpu) / 1e6 / wall;
    out.server = { cores: serverCores };
  }
  if (a.machine !== null && b.machine !== null) {
    const busy = (b.machine - a.machine) / wall;
    out.machine = { busyCores: busy, otherCores: Math.max(0, busy - ownCpuUs / 1e6 / wall - serverCores) };
  }
  return out;
}

module.exports = { snapshot, loadBetween, mainThreadCpuUs, processCpuUs, machineBusySeconds };
