'use strict';
// A user's sessions (the users option) and the operator's views of the table, for the store's
// sessionsOf / destroySessionsOf / describeTable / inspect and the command line. Pure functions over
// a context ctx = { call, settings, warn, sleep?, ttlKey? }: call(operation, JSON text) →
// Promise<JSON text> is the native core's generic signed call (retried and timed out there),
// rejecting with a DynamoDBStoreError; settings are the resolved options (settings.users:
// { of, attribute, index, pageSize, settleMs }); ttlKey is the attribute the store writes expiries
// to when it differs from settings.ttlKey (it follows the table's TTL setting).
//
// The index on the user attribute is a global secondary index: eventually consistent. A session
// written a moment ago may not be in it yet (AWS: propagation usually takes under a second), and a
// destroyed one may still be listed for a moment. destroySessionsOf therefore queries again after
// settleMs and destroys what the first pass missed (see README, "Users and devices").

const { DynamoDBStoreError } = require('./errors');
const { typeName, hasLoneSurrogate } = require('./config');
const { send, ttlUnsupported, createdAtKeyOf } = require('./table');

const MAX_KEY_BYTES = 2048; // DynamoDB's limit for a partition key value, the index's included
const BATCH_SIZE = 25; // BatchWriteItem's limit
const BATCH_ATTEMPTS = 8; // per chunk: the first try and 7 retries of its unprocessed items
const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 2000;
const MAX_PASSES = 3;
const MAX_PAGES = 100000; // a bound on one query's pages (1 MB each)
const DEFAULT_SETTLE_MS = 1000;

function defaultSleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The user id as the index holds it (String(id)); TypeError / RangeError naming userId. */
function userKey(userId, method) {
  if (typeof userId === 'number') {
    if (!Number.isFinite(userId)) throw new TypeError(`${method}(userId): userId must be a non-empty string or a finite number, got ${userId}`);
    return String(userId);
  }
  if (typeof userId !== 'string' || userId === '') {
    throw new TypeError(`${method}(userId): userId must be a non-empty string or a finite number, got ${userId === '' ? 'an empty string' : typeName(userId)}`);
  }
  if (hasLoneSurrogate(userId)) throw new RangeError(`${method}(userId): userId contains a lone surrogate and is not valid Unicode`);
  const bytes = Buffer.byteLength(userId);
  if (bytes > MAX_KEY_BYTES) throw new RangeError(`${method}(userId): userId is ${bytes} bytes; DynamoDB's limit for an index key is ${MAX_KEY_BYTES} bytes`);
  return userId;
}

/** A session key argument: a non-empty string (the store checks the rest when it uses it). */
function sessionKey(key, what) {
  if (typeof key !== 'string' || key === '') throw new TypeError(`${what} must be a non-empty string (a session key), got ${key === '' ? 'an empty string' : typeName(key)}`);
  return key;
}

/** `except`: undefined, a key or an array of keys → a Set. */
function exceptKeys(except) {
  if (except === undefined || except === null) return new Set();
  if (typeof except === 'string') return new Set([sessionKey(except, 'destroySessionsOf(userId, { except }): except')]);
  if (!Array.isArray(except)) {
    throw new TypeError(`destroySessionsOf(userId, { except }): except must be a session key or an array of session keys, got ${typeName(except)}`);
  }
  return new Set(except.map((k, i) => sessionKey(k, `destroySessionsOf(userId, { except }): except[${i}]`)));
}

function usersOf(ctx, method) {
  const u = ctx.settings.users;
  if (!u) throw new TypeError(`${method}(): the store has no users option; pass users: { of: (session) => session.userId } to the store`);
  return u;
}

const ttlKeyOf = (ctx) => ctx.ttlKey || ctx.settings.ttlKey;

/** An epoch-seconds N attribute as a Date, or null. */
function dateOf(attr) {
  if (!attr || typeof attr.N !== 'string') return null;
  const n = Number(attr.N);
  return Number.isFinite(n) ? new Date(n * 1000) : null;
}

/** Expired for the store: expiry (epoch seconds) ≤ now in whole seconds, as the native core reads it. */
function isExpired(expires, now) {
  return expires !== null && expires.getTime() / 1000 <= Math.floor(now / 1000);
}

/** The errors a table operation turns into clearer ones: a missing table, a missing index. */
function clearer(ctx, err, method) {
  const s = ctx.settings;
  if (!err || typeof err !== 'object') return err;
  if (err.code === 'ResourceNotFoundException') {
    return new DynamoDBStoreError(`table "${s.tableName}" does not exist`, {
      code: 'ResourceNotFoundException', operation: err.operation, retryable: false, httpStatusCode: err.httpStatusCode, requestId: err.requestId, cause: err,
    });
  }
  const u = s.users;
  if (u && err.code === 'ValidationException' && typeof err.message === 'string') {
    if (/backfilling/i.test(err.message)) {
      return new DynamoDBStoreError(`${method}: index "${u.index}" of table "${s.tableName}" is still being built (backfilling); ` +
        'try again when `npx koa-session-dynamodb-store describe` shows it ACTIVE', {
        code: 'ValidationException', operation: err.operation, retryable: true, cause: err,
      });
    }
    if (/index/i.test(err.message)) {
      return new DynamoDBStoreError(`${method}: table "${s.tableName}" has no usable index "${u.index}" on the user attribute "${u.attribute}" (${err.message}); ` +
        `run store.createTableIfDontExists() with the users option, or \`npx koa-session-dynamodb-store create-table --table ${s.tableName}\`, to add it`, {
        code: 'ValidationException', operation: err.operation, retryable: false, cause: err,
      });
    }
  }
  return err;
}

/**
 * Every item of the user in the index, all pages read: [{ key, expires, createdAt }] (expired ones
 * included; the callers decide).
 */
async function queryUser(ctx, id, method) {
  const s = ctx.settings;
  const u = s.users;
  const body = {
    TableName: s.tableName,
    IndexName: u.index,
    KeyConditionExpression: '#u = :u',
    ProjectionExpression: '#k, #e, #c',
    ExpressionAttributeNames: { '#u': u.attribute, '#k': s.hashKey, '#e': ttlKeyOf(ctx), '#c': createdAtKeyOf(s) },
    ExpressionAttributeValues: { ':u': { S: id } },
    ReturnConsumedCapacity: 'TOTAL', // counted in store.stats()
  };
  if (u.pageSize) body.Limit = u.pageSize;
  const out = [];
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) {
      throw new DynamoDBStoreError(`${method}: more than ${MAX_PAGES} pages of sessions for one user`, { code: 'InvalidResponse', operation: 'Query', retryable: false });
    }
    let answer;
    try {
      answer = await send(ctx, 'Query', body);
    } catch (err) {
      throw clearer(ctx, err, method);
    }
    const items = answer && Array.isArray(answer.Items) ? answer.Items : [];
    for (const item of items) {
      const k = item && item[s.hashKey];
      if (!k || typeof k.S !== 'string') continue; // not a session item (the store's keys are strings)
      out.push({ key: k.S, expires: dateOf(item[ttlKeyOf(ctx)]), createdAt: dateOf(item[createdAtKeyOf(s)]) });
    }
    const next = answer && answer.LastEvaluatedKey;
    if (!next || typeof next !== 'object' || Object.keys(next).length === 0) break;
    body.ExclusiveStartKey = next;
  }
  return out;
}

/** Newest first (createdAt; unknown last), then by key. */
function byNewest(a, b) {
  const ta = a.createdAt ? a.createdAt.getTime() : -Infinity;
  const tb = b.createdAt ? b.createdAt.getTime() : -Infinity;
  if (ta !== tb) return tb - ta;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The user's live sessions: [{ key, expires: Date, createdAt: Date | null }], newest first.
 * Expired sessions (DynamoDB deletes them lazily) are left out. The index is eventually consistent:
 * a session created or destroyed within about a second may be missing or still listed.
 */
async function sessionsOf(ctx, userId, { now = Date.now() } = {}) {
  const id = userKey(userId, 'sessionsOf');
  usersOf(ctx, 'sessionsOf');
  const seen = new Set();
  const live = [];
  for (const s of await queryUser(ctx, id, 'sessionsOf')) {
    if (seen.has(s.key) || isExpired(s.expires, now)) continue; // a key is in the index once; be safe
    seen.add(s.key);
    live.push(s);
  }
  return live.sort(byNewest);
}

function partialError(ctx, cause, destroyed, notDestroyed) {
  const s = ctx.settings;
  const why = cause ? `${cause.code || 'Error'}: ${cause.message}` : `DynamoDB left them unprocessed after ${BATCH_ATTEMPTS} attempts`;
  return new DynamoDBStoreError(
    `destroySessionsOf: ${destroyed} session${destroyed === 1 ? '' : 's'} destroyed, ${notDestroyed} not (${why}); call it again to destroy the rest`, {
      code: cause ? cause.code || 'UnknownError' : 'ProvisionedThroughputExceededException',
      operation: 'BatchWriteItem',
      retryable: cause ? cause.retryable !== false : true,
      destroyed,
      notDestroyed,
      table: s.tableName,
      ...(cause ? { cause } : {}),
    });
}

/**
 * Deletes `keys` with BatchWriteItem, 25 at a time, retrying unprocessed items with exponential
 * backoff (bounded). `live` says which keys count as destroyed sessions (the others had expired).
 * Resolves the number of live ones deleted; rejects with how many were and were not.
 */
async function deleteKeys(ctx, keys, live, before) {
  const s = ctx.settings;
  const sleep = ctx.sleep || defaultSleep;
  let destroyed = 0;
  for (let i = 0; i < keys.length; i += BATCH_SIZE) {
    let pending = keys.slice(i, i + BATCH_SIZE);
    for (let attempt = 1; pending.length; attempt++) {
      if (attempt > 1) {
        if (attempt > BATCH_ATTEMPTS) throw partialError(ctx, null, before + destroyed, remainingCount(keys, i, pending));
        const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        await sleep(Math.floor(cap / 2 + Math.random() * (cap / 2))); // "equal jitter"
      }
      let answer;
      try {
        answer = await send(ctx, 'BatchWriteItem', {
          RequestItems: { [s.tableName]: pending.map((k) => ({ DeleteRequest: { Key: { [s.hashKey]: { S: k } } } })) },
          ReturnConsumedCapacity: 'TOTAL',
        });
      } catch (err) {
        // this chunk's deletes may or may not have happened: not counted
        throw partialError(ctx, clearer(ctx, err, 'destroySessionsOf'), before + destroyed, remainingCount(keys, i, pending));
      }
      const unprocessed = ((answer && answer.UnprocessedItems && answer.UnprocessedItems[s.tableName]) || [])
        .map((r) => r && r.DeleteRequest && r.DeleteRequest.Key && r.DeleteRequest.Key[s.hashKey] && r.DeleteRequest.Key[s.hashKey].S)
        .filter((k) => typeof k === 'string');
      const left = new Set(unprocessed);
      for (const k of pending) if (!left.has(k) && live.has(k)) destroyed++;
      pending = pending.filter((k) => left.has(k));
    }
  }
  return destroyed;
}

/** How many keys are not known to be deleted: those pending in the current chunk and all after it. */
function remainingCount(keys, chunkStart, pending) {
  return pending.length + Math.max(0, keys.length - (chunkStart + BATCH_SIZE));
}

/**
 * Destroys the user's sessions except `except` (a key or an array of keys); resolves the number of
 * live sessions destroyed. Expired ones found in the index are deleted too but not counted (no
 * store reads them; this keeps a request that read one just before it expired from saving it
 * again). Queries again settleMs after the first pass, and once more if that found new ones: the
 * index may not show a session written within about the last second. Once it resolves, none of the
 * sessions it destroyed can be read or written again (the store's writes of a session a request
 * read are conditional on the item still existing).
 */
async function destroySessionsOf(ctx, userId, { except } = {}) {
  const id = userKey(userId, 'destroySessionsOf');
  const keep = exceptKeys(except);
  const u = usersOf(ctx, 'destroySessionsOf');
  const sleep = ctx.sleep || defaultSleep;
  const settleMs = u.settleMs === undefined || u.settleMs === null ? DEFAULT_SETTLE_MS : u.settleMs;
  const handled = new Set(); // every key seen once: deleted, kept, or found again while the index catches up
  let destroyed = 0;
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    if (pass > 1) await sleep(settleMs);
    const now = Date.now();
    const fresh = [];
    const live = new Set();
    let found;
    try {
      found = await queryUser(ctx, id, 'destroySessionsOf');
    } catch (err) {
      if (pass === 1) throw err;
      // some are destroyed already: say so, never just fail (nor succeed) without a count
      throw new DynamoDBStoreError(`destroySessionsOf: ${destroyed} session${destroyed === 1 ? '' : 's'} destroyed, but looking again for ` +
        `sessions the index did not show yet failed (${err.code || 'Error'}: ${err.message}); call it again`, {
        code: err.code || 'UnknownError', operation: 'Query', retryable: err.retryable !== false, destroyed, cause: err,
      });
    }
    for (const s of found) {
      if (handled.has(s.key)) continue;
      handled.add(s.key);
      if (keep.has(s.key)) continue;
      fresh.push(s.key);
      if (!isExpired(s.expires, now)) live.add(s.key);
    }
    if (pass > 1 && fresh.length === 0) break;
    destroyed += await deleteKeys(ctx, fresh, live, destroyed);
  }
  return destroyed;
}

/** DynamoDB's size of an attribute value (its rules for item size; numbers approximated). */
function valueSize(v) {
  if (!v || typeof v !== 'object') return 0;
  if (typeof v.S === 'string') return Buffer.byteLength(v.S);
  if (typeof v.N === 'string') return numberSize(v.N);
  if (typeof v.B === 'string') return Buffer.from(v.B, 'base64').length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (Array.isArray(v.SS)) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (Array.isArray(v.NS)) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (Array.isArray(v.BS)) return v.BS.reduce((n, s) => n + Buffer.from(s, 'base64').length, 0);
  if (Array.isArray(v.L)) return 3 + v.L.reduce((n, x) => n + 1 + valueSize(x), 0);
  if (v.M && typeof v.M === 'object') return 3 + Object.keys(v.M).reduce((n, k) => n + 1 + Buffer.byteLength(k) + valueSize(v.M[k]), 0);
  return 0;
}

function numberSize(text) {
  const digits = String(text).replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/** Approximate size in bytes of an item (attribute names and values, as DynamoDB counts them). */
function itemSize(item) {
  return Object.keys(item).reduce((n, k) => n + Buffer.byteLength(k) + valueSize(item[k]), 0);
}

/**
 * One item's metadata for operators: { key, expires, createdAt, user, version, size } or null when
 * there is no such item (expired items included: `expires` tells). A consistent GetItem of the whole
 * item (its size needs all of it); the session itself is not decoded here: store.get(key) does that.
 */
async function inspectItem(ctx, key) {
  sessionKey(key, 'inspect(key): key');
  const s = ctx.settings;
  let answer;
  try {
    answer = await send(ctx, 'GetItem', { TableName: s.tableName, Key: { [s.hashKey]: { S: key } }, ConsistentRead: true });
  } catch (err) {
    throw clearer(ctx, err, 'inspect');
  }
  const item = answer && answer.Item;
  if (!item || typeof item !== 'object') return null;
  let user = null;
  if (s.users) {
    const a = item[s.users.attribute];
    if (a && typeof a.S === 'string') user = a.S;
    else if (a && typeof a.N === 'string') user = a.N;
  }
  const v = item[s.versionKey || 'version'];
  const version = v && typeof v.N === 'string' && Number.isFinite(Number(v.N)) ? Number(v.N) : null;
  return {
    key,
    expires: dateOf(item[ttlKeyOf(ctx)]),
    createdAt: dateOf(item[createdAtKeyOf(s)]),
    user,
    version,
    size: itemSize(item),
  };
}

function keySchemaOf(ks, defs) {
  return (Array.isArray(ks) ? ks : []).map((k) => {
    const d = (defs || []).find((x) => x.AttributeName === k.AttributeName);
    return { attribute: k.AttributeName, keyType: k.KeyType, attributeType: d ? d.AttributeType : null };
  });
}

/**
 * The table as an operator sees it: { name, status, keySchema, ttl: { status, attribute },
 * billingMode, capacity: { read, write } | null, itemCount, sizeBytes, indexes: [{ name, status,
 * backfilling, keySchema, projection: { type, attributes }, itemCount }] }. keySchema entries:
 * { attribute, keyType ('HASH'|'RANGE'), attributeType ('S'|'N'|'B') }. itemCount and sizeBytes are
 * DynamoDB's, updated about every six hours. A server without DescribeTimeToLive: ttl status 'UNKNOWN'.
 */
async function describeTable(ctx) {
  const s = ctx.settings;
  let t;
  try {
    const answer = await send(ctx, 'DescribeTable', { TableName: s.tableName });
    t = answer && answer.Table;
  } catch (err) {
    throw clearer(ctx, err, 'describeTable');
  }
  if (!t || typeof t !== 'object') {
    throw new DynamoDBStoreError(`DynamoDB's answer to DescribeTable has no Table`, { code: 'InvalidResponse', operation: 'DescribeTable', retryable: false });
  }
  let ttl;
  try {
    const d = (await send(ctx, 'DescribeTimeToLive', { TableName: s.tableName })).TimeToLiveDescription || {};
    ttl = { status: d.TimeToLiveStatus || 'UNKNOWN', attribute: d.AttributeName || null };
  } catch (err) {
    // a server without TTL operations, or credentials that may not ask: the rest is still worth showing
    if (!ttlUnsupported(err) && err.code !== 'AccessDeniedException') throw clearer(ctx, err, 'describeTable');
    ttl = { status: 'UNKNOWN', attribute: null };
  }
  const defs = t.AttributeDefinitions || [];
  const billingMode = (t.BillingModeSummary && t.BillingModeSummary.BillingMode) || 'PROVISIONED';
  const pt = t.ProvisionedThroughput || {};
  const count = (n) => (typeof n === 'number' && Number.isFinite(n) ? n : null);
  return {
    name: t.TableName || s.tableName,
    status: t.TableStatus || 'UNKNOWN',
    keySchema: keySchemaOf(t.KeySchema, defs),
    ttl,
    billingMode,
    capacity: billingMode === 'PAY_PER_REQUEST' ? null : { read: count(pt.ReadCapacityUnits), write: count(pt.WriteCapacityUnits) },
    itemCount: count(t.ItemCount),
    sizeBytes: count(t.TableSizeBytes),
    indexes: (t.GlobalSecondaryIndexes || []).map((i) => ({
      name: i.IndexName,
      status: i.IndexStatus || 'UNKNOWN',
      backfilling: i.Backfilling === true,
      keySchema: keySchemaOf(i.KeySchema, defs),
      projection: {
        type: (i.Projection && i.Projection.ProjectionType) || null,
        attributes: (i.Projection && i.Projection.NonKeyAttributes) || [],
      },
      itemCount: count(i.ItemCount),
    })),
  };
}

module.exports = {
  sessionsOf, destroySessionsOf, inspectItem, describeTable, userKey, itemSize,
  BATCH_SIZE, BATCH_ATTEMPTS, MAX_PASSES, DEFAULT_SETTLE_MS,
};
