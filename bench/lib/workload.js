'use strict';
// The workloads, shared by worker.js (timed windows) and soak.js: closed-loop lanes issuing
// koa-session-shaped store calls, per-operation latency, error accounting and a round-trip check.
const { performance } = require('node:perf_hooks');
const { MAX_AGE, SIZES, rng, makeSession, touched } = require('./session');

const TABLE = 'sessions';
const WORKLOADS = ['get', 'set', 'mix'];
const MIX_SET = 0.30; // share of requests that also save the session
const MIX_DESTROY = 0.02; // share that destroy it (logout), then re-create it (next login)

// The third argument koa-session passes to the store.
const CTX = Object.freeze({ state: {} });
const GET_OPTS = Object.freeze({ rolling: false, ctx: CTX });
const SET_OPTS = Object.freeze({ rolling: false, changed: true, ctx: CTX });
const DESTROY_OPTS = Object.freeze({ ctx: CTX });
const FAILED = Symbol('failed');

// Pre-populated keys per store and size: at least one per lane (so up to 128 lanes at 100 KB,
// 2,048 at 1 KB).
function keyCount(sizeLabel) {
  return SIZES[sizeLabel] >= 10 * 1024 ? 128 : 2048;
}
function keyName(store, sizeLabel, i) {
  return `bench-${store}-${sizeLabel}-${String(i).padStart(5, '0')}`;
}
function keysFor(store, sizeLabel) {
  return Array.from({ length: keyCount(sizeLabel) }, (_, i) => keyName(store, sizeLabel, i));
}
// The stored session for key i (a handful of distinct sessions per size, generated once).
const sessionCache = new Map();
function sessionFor(sizeLabel, i) {
  const id = `${sizeLabel}:${i % 8}`;
  if (!sessionCache.has(id)) sessionCache.set(id, makeSession(SIZES[sizeLabel], 1 + (i % 8)));
  return sessionCache.get(id);
}

// Latency samples per operation kind, reservoir-sampled so memory stays fixed however long.
class Recorder {
  constructor(capacity = 100000) {
    this.capacity = capacity;
    this.kinds = new Map();
  }

  add(kind, ms) {
    let r = this.kinds.get(kind);
    if (!r) this.kinds.set(kind, (r = { seen: 0, samples: new Float64Array(this.capacity) }));
    if (r.seen < this.capacity) r.samples[r.seen] = ms;
    else {
      const j = Math.floor(Math.random() * (r.seen + 1));
      if (j < this.capacity) r.samples[j] = ms;
    }
    r.seen++;
  }

  summary() {
    const out = {};
    for (const [kind, r] of this.kinds) {
      const n = Math.min(r.seen, this.capacity);
      const s = r.samples.slice(0, n).sort();
      const q = (p) => s[Math.min(n - 1, Math.floor(p * n))];
      let sum = 0;
      for (let i = 0; i < n; i++) sum += s[i];
      out[kind] = { n: r.seen, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[n - 1], mean: sum / n };
    }
    return out;
  }
}

// First difference between two session values, ignoring key order and prototypes; null if equal.
function firstDifference(a, b, path = '$') {
  if (a === b) return null;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') {
    return `${path}: ${JSON.stringify(a)?.slice(0, 80)} != ${JSON.stringify(b)?.slice(0, 80)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join('\0') !== kb.join('\0')) return `${path}: keys [${ka}] != [${kb}]`.slice(0, 300);
  for (const k of ka) {
    const d = firstDifference(a[k], b[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

// set -> get must give back the same session; destroy -> get must give nothing.
async function roundTripCheck(store, key, sess) {
  try {
    await store.set(key, sess, MAX_AGE, SET_OPTS);
    const got = await store.get(key, MAX_AGE, GET_OPTS);
    const diff = got === undefined || got === null ? 'get after set returned nothing' : firstDifference(got, sess);
    if (diff) return { ok: false, detail: `get after set differs: ${diff}` };
    await store.destroy(key, DESTROY_OPTS);
    const gone = await store.get(key, MAX_AGE, GET_OPTS);
    if (gone !== undefined && gone !== null) return { ok: false, detail: 'get after destroy returned a session' };
    return { ok: true };
  } catch (e) {
    return { ok: false, detail: `round trip threw: ${e && e.message}` };
  }
}

// Drives one workload against one store: `lanes` closed-loop workers, lane j owning keys
// j, j+C, j+2C... so one lane's destroy+re-create never races another lane's get.
class Driver {
  constructor({ store, workload, sizeLabel, keys, concurrency, record = true, seed = 1 }) {
    if (!WORKLOADS.includes(workload)) throw new Error(`unknown workload ${workload}`);
    if (keys.length < concurrency) throw new Error(`${keys.length} keys cannot feed ${concurrency} lanes`);
    this.store = store;
    this.workload = workload;
    this.base = sessionFor(sizeLabel, 0);
    this.recorder = record ? new Recorder() : null;
    this.lanes = Array.from({ length: concurrency }, (_, j) => ({
      keys: keys.filter((_, i) => i % concurrency === j),
      cursor: 0,
      rand: rng(seed * 1000003 + j),
      n: 0,
    }));
    this.request = { get: this.getRequest, set: this.setRequest, mix: this.mixRequest }[workload].bind(this);
    this.reset();
  }

  reset() {
    this.requests = 0;
    this.ops = 0;
    this.errors = 0;
    this.firstError = null;
    if (this.recorder) this.recorder = new Recorder();
  }

  async op(kind, fn) {
    const t0 = performance.now();
    try {
      const v = await fn();
      if (this.recorder) this.recorder.add(kind, performance.now() - t0);
      this.ops++;
      return v;
    } catch (e) {
      this.error(`${kind}: ${(e && (e.stack || e.message)) || e}`);
      return FAILED;
    }
  }

  error(msg) {
    this.errors++;
    if (!this.firstError) this.firstError = String(msg).slice(0, 2000);
  }

  async checkedGet(key) {
    const s = await this.op('get', () => this.store.get(key, MAX_AGE, GET_OPTS));
    if (s === FAILED) return; // already counted
    // Every key a lane reads is populated, so a miss or a foreign object is an error.
    if (!s || s._maxAge !== MAX_AGE) this.error(`get ${key}: expected a session, got ${JSON.stringify(s)?.slice(0, 100)}`);
  }

  save(key, lane) {
    return this.op('set', () => this.store.set(key, touched(this.base, ++lane.n), MAX_AGE, SET_OPTS));
  }

  nextKey(lane) {
    return lane.keys[lane.cursor++ % lane.keys.length];
  }

  async getRequest(lane) {
    await this.checkedGet(this.nextKey(lane));
  }

  async setRequest(lane) {
    await this.save(this.nextKey(lane), lane);
  }

  // A koa-session request: load the session; save it on 30%; log out and back in on 2%.
  async mixRequest(lane) {
    const key = this.nextKey(lane);
    await this.checkedGet(key);
    const u = lane.rand();
    if (u < MIX_SET) {
      await this.save(key, lane);
    } else if (u < MIX_SET + MIX_DESTROY) {
      await this.op('destroy', () => this.store.destroy(key, DESTROY_OPTS));
      await this.save(key, lane);
    }
  }

  // Start the lanes: each issues its next request as soon as the previous one settled, until
  // stop() or until errors pile up. The lanes keep running across reset(), so a measurement
  // window can begin and end with the pipeline full (no ramp-up, no drain inside the window).
  start({ maxErrors = 1000 } = {}) {
    this.stopping = false;
    this.watchers = new Set();
    const lane = async (l) => {
      while (!this.stopping && this.errors < maxErrors) {
        await this.request(l);
        this.requests++;
        for (const w of this.watchers) w();
      }
    };
    this.ended = false;
    this.done = Promise.all(this.lanes.map(lane)).then(() => {
      this.ended = true;
      for (const w of this.watchers) w(true);
    });
    return this;
  }

  // Stop issuing requests; resolves when the in-flight ones have settled.
  stop() {
    this.stopping = true;
    return this.done;
  }

  // Resolves after `seconds`, or once `requests` were made since the last reset(), or once
  // test(driver) is true, or when the lanes have ended, whichever comes first.
  waitFor({ seconds = Infinity, requests = Infinity, test = null }) {
    return new Promise((resolve) => {
      if (this.ended) { resolve(); return; }
      let timer = null;
      const watcher = (ended) => {
        if (!ended && this.requests < requests && !(test && test(this))) return;
        this.watchers.delete(watcher);
        if (timer) clearTimeout(timer);
        resolve();
      };
      if (Number.isFinite(seconds)) timer = setTimeout(watcher, seconds * 1000, true);
      this.watchers.add(watcher);
    });
  }
}

module.exports = {
  TABLE, WORKLOADS, MAX_AGE, GET_OPTS, SET_OPTS, DESTROY_OPTS,
  keyCount, keyName, keysFor, sessionFor, Recorder, Driver, roundTripCheck, firstDifference,
};
