'use strict';
// Plain-JavaScript DynamoDB JSON conversion and the item layout every store in this benchmark
// writes: { sessionId: {S}, session: {M}, expires: {N: epoch seconds} }.

const HASH_KEY = 'sessionId';
const DEFAULT_MAX_AGE = 86400000;

function marshal(v) {
  switch (typeof v) {
    case 'string': return { S: v };
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`cannot store number ${v}`);
      return { N: String(v) };
    case 'boolean': return { BOOL: v };
    case 'bigint': return { N: v.toString() };
    case 'object':
      if (v === null) return { NULL: true };
      if (Array.isArray(v)) return { L: v.map((x) => (x === undefined ? { NULL: true } : marshal(x))) };
      if (Buffer.isBuffer(v)) return { B: v.toString('base64') };
      if (typeof v.toJSON === 'function') return marshal(v.toJSON());
      return { M: marshalMap(v) };
    default:
      throw new TypeError(`cannot store a ${typeof v}`);
  }
}

function marshalMap(obj) {
  const out = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v !== undefined && typeof v !== 'function') out[k] = marshal(v);
  }
  return out;
}

function unmarshal(av) {
  if (av.S !== undefined) return av.S;
  if (av.N !== undefined) return Number(av.N);
  if (av.M !== undefined) return unmarshalMap(av.M);
  if (av.L !== undefined) return av.L.map(unmarshal);
  if (av.BOOL !== undefined) return av.BOOL;
  if (av.NULL !== undefined) return null;
  if (av.B !== undefined) return Buffer.from(av.B, 'base64');
  if (av.SS !== undefined) return new Set(av.SS);
  if (av.NS !== undefined) return new Set(av.NS.map(Number));
  if (av.BS !== undefined) return new Set(av.BS.map((b) => Buffer.from(b, 'base64')));
  throw new TypeError(`unknown attribute value ${Object.keys(av)}`);
}

function unmarshalMap(m) {
  const out = {};
  for (const k of Object.keys(m)) out[k] = unmarshal(m[k]);
  return out;
}

// koa-session passes maxAge in ms, or 'session' for a browser-session cookie; keep such rows a day.
function expiresEpoch(maxAge, now = Date.now()) {
  return Math.floor((now + (typeof maxAge === 'number' ? maxAge : DEFAULT_MAX_AGE)) / 1000);
}

function sessionItem(key, sess, maxAge) {
  return {
    [HASH_KEY]: { S: key },
    session: { M: marshalMap(sess) },
    expires: { N: String(expiresEpoch(maxAge)) },
  };
}

module.exports = { HASH_KEY, marshal, marshalMap, unmarshal, unmarshalMap, expiresEpoch, sessionItem };
