'use strict';
// What the store does and what it costs: the native core's per-request facts (the meta field in
// front of every answer it resolves, see src/addon.cc Settle), counted per operation for
// store.stats(), published on the diagnostics channel 'koa-session-dynamodb-store:request' and
// logged with NODE_DEBUG=koa-session-dynamodb-store. Never a session's content or key, never a
// secret: only the operation's name, numbers and error codes.

const diagnostics = require('node:diagnostics_channel');
const util = require('node:util');

const CHANNEL_NAME = 'koa-session-dynamodb-store:request';
const channel = diagnostics.channel(CHANNEL_NAME);
const debug = util.debuglog('koa-session-dynamodb-store');

/** Operations whose capacity units are read units; the other data operations consume write units. */
const READ_OPERATIONS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

const META = 48; // src/request.h DDBS_RESULT_META

// The reading position of readAnswer's helpers (one answer is read at a time: no await inside).
let pos = 0;

/** The decimal integer (optionally negative) at text[pos], and pos past the space after it. */
function readInt(text) {
  let c = text.charCodeAt(pos);
  const neg = c === 45;
  if (neg) c = text.charCodeAt(++pos);
  let v = 0;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = text.charCodeAt(++pos);
  }
  pos++;
  return neg ? -v : v;
}

/** The number at text[pos] (an integer, "x.5", or any JavaScript number text), pos past it. */
function readNumber(text) {
  const start = pos;
  const v = readInt(text);
  const c = text.charCodeAt(pos - 1);
  if (c === 32 || pos > text.length) return v; // (it ended at the space)
  const end = text.indexOf(' ', start);
  pos = end + 1;
  return Number(text.slice(start, end));
}

/**
 * The field the native core puts in front of every answer (src/request.h
 * ddbs_request_write_meta): { attempts, throttles, httpStatusCode, capacity, version, found, blob,
 * unreadable, payload }.
 */
const answer = {
  attempts: 0, throttles: 0, httpStatusCode: 0, capacity: 0, version: -1, found: false, blob: false, unreadable: false, payload: '',
};
/** (The same object for every answer: read it before the next one comes; copy it to keep it.) */
function readAnswer(text) {
  pos = 0;
  const attempts = readInt(text);
  const throttles = readInt(text);
  const httpStatusCode = readInt(text);
  const capacity = readNumber(text);
  const version = readInt(text);
  let found = false;
  let blob = false;
  let unreadable = false;
  for (let c = text.charCodeAt(pos); c !== 32 && pos < META; c = text.charCodeAt(++pos)) {
    if (c === 102) found = true; // f
    else if (c === 98) blob = true; // b
    else if (c === 117) unreadable = true; // u
  }
  answer.attempts = attempts;
  answer.throttles = throttles;
  answer.httpStatusCode = httpStatusCode;
  answer.capacity = capacity;
  answer.version = version;
  answer.found = found;
  answer.blob = blob;
  answer.unreadable = unreadable;
  answer.payload = text.length > META ? text.slice(META) : '';
  return answer;
}

// Latency histogram: buckets 5 % wide from 10 µs up (bucket i holds [10µs·1.05^i, 10µs·1.05^(i+1))).
const BASE_MS = 0.01;
const LOG_STEP = Math.log(1.05);
const BUCKETS = 400; // up to 10 µs · 1.05^400 ≈ 3 h

function bucketOf(ms) {
  if (!(ms > BASE_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log(ms / BASE_MS) / LOG_STEP));
}

class OperationStats {
  count = 0;
  errors = Object.create(null);
  retries = 0;
  throttles = 0;
  hist = new Uint32Array(BUCKETS);

  percentile(p) {
    if (this.count === 0) return null;
    const rank = Math.ceil(this.count * p);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.hist[i];
      if (seen >= rank) return Math.round(BASE_MS * 1.05 ** (i + 0.5) * 1000) / 1000; // the bucket's middle
    }
    return null;
  }

  view() {
    return {
      count: this.count,
      errors: { ...this.errors },
      retries: this.retries,
      throttles: this.throttles,
      latencyMs: { p50: this.percentile(0.5), p99: this.percentile(0.99) },
    };
  }
}

class Stats {
  #ops = new Map();
  #read = 0;
  #write = 0;
  conflicts = 0;
  touchesSkipped = 0;
  unreadable = 0;
  #table;

  constructor(table) {
    this.#table = table;
  }

  /**
   * One DynamoDB operation ended. info: { attempts, throttles, httpStatusCode, capacity } from the
   * answer or the error; errorCode when it failed.
   */
  record(operation, ms, info, errorCode) {
    let s = this.#ops.get(operation);
    if (!s) this.#ops.set(operation, (s = new OperationStats()));
    s.count++;
    s.hist[bucketOf(ms)]++;
    const attempts = info.attempts > 0 ? info.attempts : 1;
    s.retries += attempts - 1;
    s.throttles += info.throttles > 0 ? info.throttles : 0;
    if (errorCode) s.errors[errorCode] = (s.errors[errorCode] || 0) + 1;
    const capacity = info.capacity > 0 ? info.capacity : 0;
    if (capacity) {
      if (READ_OPERATIONS.has(operation)) this.#read += capacity;
      else if (WRITE_OPERATIONS.has(operation)) this.#write += capacity;
    }
    if (channel.hasSubscribers) {
      const message = {
        table: this.#table,
        operation,
        durationMs: ms,
        attempts,
        httpStatusCode: info.httpStatusCode || undefined,
        consumedCapacity: capacity,
      };
      if (errorCode) message.errorCode = errorCode;
      channel.publish(message);
    }
    if (debug.enabled) {
      debug('%s %s in %s ms, %d attempt(s), %d capacity unit(s)%s', operation, errorCode ? `failed (${errorCode})` : 'ok',
        ms.toFixed(2), attempts, capacity, info.throttles ? `, ${info.throttles} throttled` : '');
    }
  }

  snapshot() {
    const operations = {};
    for (const [name, s] of this.#ops) operations[name] = s.view();
    return {
      operations,
      consumedCapacity: { read: round(this.#read), write: round(this.#write) },
      conflicts: this.conflicts,
      touchesSkipped: this.touchesSkipped,
      unreadable: this.unreadable,
    };
  }
}

function round(x) {
  return Math.round(x * 1e6) / 1e6;
}

module.exports = { Stats, readAnswer, CHANNEL_NAME, META };
