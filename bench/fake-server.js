#!/usr/bin/env node
'use strict';
// A fast fake DynamoDB for benchmarking clients: DynamoDB JSON 1.0 protocol over keep-alive
// HTTP/1.1 on 127.0.0.1, items in memory. It checks that an Authorization header is present but
// verifies no signature, so the client's own cost dominates what is measured.
//
//   node bench/fake-server.js [--port 0] [--latency-ms 0] [--table NAME] [--watch-stdin]
//
// Prints {"port":N,"pid":P} on stdout once listening. --table pre-creates a session table
// (hash key sessionId). --watch-stdin: exit when stdin closes (i.e. when the parent dies).
// Operations: GetItem, PutItem, DeleteItem, UpdateItem (SET/REMOVE of top-level attributes and of
// fields of a map, the version increment; conditions joined with AND;
// ConditionExpression), CreateTable,
// DescribeTable, DescribeTimeToLive. ConsistentRead and ProjectionExpression are accepted and
// ignored. GET /__stats returns request counts.
const { createServer } = require('./lib/raw-http');
const zlib = require('node:zlib');
const { parseArgs, num } = require('./lib/args');

const crc32 = zlib.crc32 || require('buffer-crc32').unsigned; // zlib.crc32: Node >= 20.15 / 22.2

const TARGET_PREFIX = 'DynamoDB_20120810.';
const ERR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const CONTENT_TYPE = 'application/x-amz-json-1.0';

class ApiError extends Error {
  constructor(type, message, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}
const validation = (msg) => new ApiError(`com.amazon.coral.validate#ValidationException`, msg);

// ---- tables and items --------------------------------------------------------------------------
// Items are kept as their JSON text in Buffers: a GetItem answer is then a concatenation of bytes,
// and the heap holds no objects for the GC to trace (100 KB sessions, thousands of them).
const tables = new Map();

function createTable(req) {
  const name = req.TableName;
  if (!name) throw validation('TableName is required');
  if (tables.has(name)) throw new ApiError(`${ERR_PREFIX}ResourceInUseException`, `Table already exists: ${name}`);
  const hash = (req.KeySchema || []).find((k) => k.KeyType === 'HASH');
  if (!hash) throw validation('KeySchema needs a HASH key');
  if ((req.KeySchema || []).length !== 1) throw validation('fake server: only a single HASH key is supported');
  const t = {
    name,
    hashKey: hash.AttributeName,
    keySchema: req.KeySchema,
    attributeDefinitions: req.AttributeDefinitions || [{ AttributeName: hash.AttributeName, AttributeType: 'S' }],
    throughput: req.ProvisionedThroughput || { ReadCapacityUnits: 0, WriteCapacityUnits: 0 },
    billingMode: req.BillingMode || (req.ProvisionedThroughput ? 'PROVISIONED' : 'PAY_PER_REQUEST'),
    created: Date.now() / 1000,
    items: new Map(),
    // the item a whole-session UpdateItem wrote, as an object whose bulky values are raw text
    // (fast-put.js RAW): the next one starts from it instead of scanning the item's text again
    parts: new Map(),
  };
  tables.set(name, t);
  return { TableDescription: describe(t) };
}

function describe(t) {
  return {
    TableName: t.name,
    TableStatus: 'ACTIVE',
    TableArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${t.name}`,
    TableId: '00000000-0000-0000-0000-000000000000',
    KeySchema: t.keySchema,
    AttributeDefinitions: t.attributeDefinitions,
    CreationDateTime: t.created,
    ItemCount: t.items.size,
    TableSizeBytes: 0,
    BillingModeSummary: { BillingMode: t.billingMode },
    ProvisionedThroughput: { ...t.throughput, NumberOfDecreasesToday: 0 },
  };
}

function table(req) {
  const t = tables.get(req.TableName);
  if (!t) throw new ApiError(`${ERR_PREFIX}ResourceNotFoundException`, 'Requested resource not found');
  return t;
}

function keyOf(t, attrs) {
  const av = attrs && attrs[t.hashKey];
  if (!av) throw validation('The provided key element does not match the schema');
  if (av.S !== undefined) return 'S' + av.S;
  if (av.N !== undefined) return 'N' + av.N;
  if (av.B !== undefined) return 'B' + av.B;
  throw validation('The provided key element does not match the schema');
}

// ConditionExpression: conditions joined with AND, each attribute_exists(#a),
// attribute_not_exists(#a) or #a = :v (what the store's conditional writes use).
function checkCondition(req, current) {
  const expr = req.ConditionExpression;
  if (!expr) return;
  // current: the stored item's text, or the item already read
  const item = current === undefined ? undefined : Buffer.isBuffer(current) ? JSON.parse(current.toString()) : current;
  for (const part of expr.split(/\s+AND\s+/)) {
    let ok;
    let m = /^\s*(attribute_exists|attribute_not_exists)\s*\(\s*(#?\w+)\s*\)\s*$/.exec(part);
    if (m) {
      const exists = item !== undefined && item[attrName(req, m[2])] !== undefined;
      ok = exists === (m[1] === 'attribute_exists');
    } else if ((m = /^\s*(#?\w+)\s*=\s*(:\w+)\s*$/.exec(part))) {
      const have = item && item[attrName(req, m[1])];
      ok = have !== undefined && JSON.stringify(have) === JSON.stringify(attrValue(req, m[2]));
    } else {
      throw validation(`fake server: unsupported ConditionExpression: ${expr}`);
    }
    if (!ok) throw new ApiError(`${ERR_PREFIX}ConditionalCheckFailedException`, 'The conditional request failed');
  }
}

function attrValue(req, token) {
  const v = req.ExpressionAttributeValues && req.ExpressionAttributeValues[token];
  if (v === undefined) throw validation(`unresolved attribute value ${token}`);
  return v;
}

function attrName(req, token) {
  if (token[0] !== '#') return token;
  const n = req.ExpressionAttributeNames && req.ExpressionAttributeNames[token];
  if (n === undefined) throw validation(`unresolved attribute name ${token}`);
  return n;
}

const wrap = (name, json) => Buffer.concat([Buffer.from(`{"${name}":`), json, Buffer.from('}')]);

// The old item for ReturnValues: ALL_OLD, as JSON text (or '{}' when there is none).
function oldValues(req, json) {
  return req.ReturnValues === 'ALL_OLD' && json !== undefined ? wrap('Attributes', json) : '{}';
}

const ops = {
  CreateTable: createTable,
  DescribeTable: (req) => ({ Table: describe(table(req)) }),
  DescribeTimeToLive: (req) => (table(req), { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } }),

  GetItem(req) {
    const t = table(req);
    const json = t.items.get(keyOf(t, req.Key));
    return json === undefined ? '{}' : wrap('Item', json);
  },

  PutItem(req) {
    const t = table(req);
    const k = keyOf(t, req.Item);
    const old = t.items.get(k);
    checkCondition(req, old);
    // req.itemText: the Item's JSON text as the client sent it (the fast PutItem path below).
    t.items.set(k, req.itemText !== undefined ? req.itemText : Buffer.from(JSON.stringify(req.Item)));
    t.parts.delete(k);
    return oldValues(req, old);
  },

  DeleteItem(req) {
    const t = table(req);
    const k = keyOf(t, req.Key);
    const old = t.items.get(k);
    checkCondition(req, old);
    t.items.delete(k);
    t.parts.delete(k);
    return oldValues(req, old);
  },

  UpdateItem(req) {
    const t = table(req);
    const k = keyOf(t, req.Key);
    const old = t.items.get(k);
    // a whole session (fastUpdateItem): the old item's bulky values and the new session stay JSON
    // text, spliced, never parsed (as the fast PutItem path)
    const oldItem = old === undefined ? undefined
      : req.whole ? t.parts.get(k) || itemParts(old) || JSON.parse(old.toString()) : JSON.parse(old.toString());
    checkCondition(req, oldItem);
    const item = oldItem === undefined ? { ...req.Key } : { ...oldItem };
    applyUpdate(req, item, t.hashKey);
    const json = req.whole ? itemText(item) : Buffer.from(JSON.stringify(item));
    if (req.whole) t.parts.set(k, item);
    else t.parts.delete(k);
    t.items.set(k, json);
    switch (req.ReturnValues || 'NONE') {
      case 'NONE': return '{}';
      case 'ALL_NEW': return wrap('Attributes', json);
      case 'ALL_OLD': return oldValues(req, old);
      default: throw validation(`fake server: unsupported ReturnValues ${req.ReturnValues}`);
    }
  },
};

// UpdateExpression: SET path = :v, #n = if_not_exists(#n, :a) + :b [REMOVE path, ...], where a
// path is a top-level attribute or one level into a map (#s.#f): what the store's updates use.
function applyUpdate(req, item, hashKey) {
  const expr = req.UpdateExpression;
  if (!expr) throw validation('fake server: UpdateItem needs an UpdateExpression');
  const parts = expr.split(/\b(SET|REMOVE)\b/i).map((s) => s.trim());
  if (parts[0] !== '') throw validation(`fake server: unsupported UpdateExpression: ${expr}`);
  const resolve = (path) => path.split('.').map((t) => attrName(req, t.trim()));
  for (let i = 1; i < parts.length; i += 2) {
    const action = parts[i].toUpperCase();
    for (const clause of parts[i + 1].split(/,(?![^(]*\))/)) {
      if (action === 'SET') {
        let m = /^\s*([#\w.]+)\s*=\s*(:\w+)\s*$/.exec(clause);
        let value;
        if (m) {
          value = attrValue(req, m[2]);
        } else if ((m = /^\s*(#?\w+)\s*=\s*if_not_exists\s*\(\s*(#?\w+)\s*,\s*(:\w+)\s*\)\s*\+\s*(:\w+)\s*$/.exec(clause))) {
          const base = item[attrName(req, m[2])] || attrValue(req, m[3]);
          value = { N: String(Number(base.N) + Number(attrValue(req, m[4]).N)) };
        } else if ((m = /^\s*(#?\w+)\s*=\s*if_not_exists\s*\(\s*(#?\w+)\s*,\s*(:\w+)\s*\)\s*$/.exec(clause))) {
          value = item[attrName(req, m[2])] || attrValue(req, m[3]);
        } else {
          throw validation(`fake server: unsupported SET clause: ${clause}`);
        }
        const path = resolve(m[1]);
        if (path[0] === hashKey) throw validation(`Cannot update attribute ${hashKey}. This attribute is part of the key`);
        if (path.length === 1) item[path[0]] = value;
        else if (path.length === 2 && item[path[0]] && item[path[0]].M) item[path[0]].M[path[1]] = value;
        else throw validation('The document path provided in the update expression is invalid for update');
      } else {
        const path = resolve(clause);
        if (path.length === 1) delete item[path[0]];
        else if (item[path[0]] && item[path[0]].M) delete item[path[0]].M[path[1]];
      }
    }
  }
}

// ---- the fast PutItem path (bench/lib/fast-put.js) ------------------------------------------
// JSON.parse of a 100 KB session's PutItem body and JSON.stringify of its Item cost this server
// 4-6 ms per request, more than the native client's whole cost: large bodies are scanned instead.
const { fastPutItem, fastUpdateItem, itemParts, itemText, FAST_PUT_MIN } = require('./lib/fast-put');

// ---- HTTP ---------------------------------------------------------------------------------------
const args = parseArgs(process.argv.slice(2), { booleans: ['watch-stdin'] });
const latencyMs = num(args['latency-ms'], 0);
const stats = { requests: 0, errors: 0, byOp: {} };
let requestSeq = 0;
const REQUEST_ID_PREFIX = `FAKE${process.pid.toString(36).toUpperCase().padStart(8, '0')}`;

function send(reply, status, body) {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  reply(status, [
    ['Content-Type', CONTENT_TYPE],
    ['x-amzn-RequestId', REQUEST_ID_PREFIX + (++requestSeq).toString(36).toUpperCase().padStart(44, '0')],
    ['x-amz-crc32', String(crc32(buf))],
  ], buf);
}

function respond(reply, status, body) {
  if (latencyMs > 0) setTimeout(send, latencyMs, reply, status, body);
  else send(reply, status, body);
}

function fail(reply, type, message, status = 400) {
  stats.errors++;
  respond(reply, status, JSON.stringify({ __type: type, message }));
}

function handle(req, reply, body) {
  const target = req.headers['x-amz-target'];
  if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
    return fail(reply, 'com.amazon.coral.service#UnknownOperationException', `unknown target ${target}`);
  }
  const op = target.slice(TARGET_PREFIX.length);
  const fn = Object.hasOwn(ops, op) ? ops[op] : undefined;
  if (!fn) return fail(reply, 'com.amazon.coral.service#UnknownOperationException', `fake server: no ${op}`);
  // Signature is not verified, but a signing client must have sent one. The floor client (raw
  // HTTP, no signing at all) identifies itself instead.
  if (!req.headers.authorization && req.headers['x-bench-client'] !== 'floor') {
    return fail(reply, 'com.amazon.coral.service#MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  }
  stats.byOp[op] = (stats.byOp[op] || 0) + 1;
  let parsed;
  try {
    parsed = (op === 'PutItem' && body.length > FAST_PUT_MIN && fastPutItem(body)) ||
      (op === 'UpdateItem' && body.length > FAST_PUT_MIN && fastUpdateItem(body)) || JSON.parse(body.toString());
  } catch {
    return fail(reply, 'com.amazon.coral.service#SerializationException', 'Start of structure or map found where not expected.');
  }
  let out;
  try {
    out = fn(parsed);
  } catch (e) {
    if (e instanceof ApiError) return fail(reply, e.type, e.message, e.status);
    return fail(reply, 'com.amazonaws.dynamodb.v20120810#InternalServerError', String(e && e.stack), 500);
  }
  respond(reply, 200, typeof out === 'string' || Buffer.isBuffer(out) ? out : JSON.stringify(out));
}

// HTTP/1.1 on node:net (bench/lib/raw-http.js): node:http's own cost per request was as large as
// the native client's, and on 2 cores that distorted what is measured.
const server = createServer((req, reply) => {
  stats.requests++;
  if (req.method === 'GET' && req.url === '/__stats') {
    reply(200, [['Content-Type', 'application/json']],
      JSON.stringify({ ...stats, cpuUs: process.cpuUsage(), tables: [...tables.values()].map((t) => ({ name: t.name, items: t.items.size })) }));
    return;
  }
  if (req.method !== 'POST') return fail(reply, 'com.amazon.coral.service#UnknownOperationException', `fake server: ${req.method} ${req.url}`, 404);
  handle(req, reply, req.body);
});

if (args.table) createTable({ TableName: args.table, KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }] });

server.listen({ host: '127.0.0.1', port: num(args.port, 0), backlog: 2048 }, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, pid: process.pid, latencyMs })}\n`);
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (args['watch-stdin']) {
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
