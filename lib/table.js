'use strict';
// The table: createTableIfDontExists and table.autoCreate. Creates the table when it is missing,
// waits until it is ACTIVE, reconciles its TTL with the options and updates provisioned capacity,
// with the JavaScript package's rules (see README, createTableIfDontExists). Every request body is
// built here and sent through the native core's generic call (signed, retried, timed out there):
// call(operation, JSON text) → Promise<JSON text>, rejecting with a DynamoDBStoreError (`code`).

const { DynamoDBStoreError } = require('./errors');
const { checkAttributeName } = require('./config');

const TABLE_POLL_MS = 250;
const TABLE_WAIT_MS = 5 * 60 * 1000;
const TTL_BUSY_RETRIES = 20; // UpdateTimeToLive refused with ResourceInUseException: the table is settling

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * True when the server does not know a TTL operation at all: an emulator without TTL (plain
 * dynalite answers UnknownOperationException), or a 400 whose message says the operation is unknown
 * or not supported.
 */
function ttlUnsupported(err) {
  if (!err) return false;
  if (err.code === 'UnknownOperationException') return true;
  return err.httpStatusCode === 400 && typeof err.message === 'string' &&
    /\b(?:unknown|unsupported|unrecognized) (?:operation|action|target)\b|\b(?:operation|action|(?:Update|Describe)?TimeToLive)\b[^.]*\bnot (?:yet )?(?:supported|implemented)\b/i.test(err.message);
}

/**
 * Sends one operation. `body` is turned into JSON here; the answer is parsed. An answer that is not
 * JSON rejects with an InvalidResponse error (never a SyntaxError quoting the text).
 */
async function send(ctx, operation, body) {
  const text = await ctx.call(operation, JSON.stringify(body));
  try {
    return JSON.parse(text);
  } catch {
    throw new DynamoDBStoreError(`DynamoDB's answer to ${operation} is not JSON`, { code: 'InvalidResponse', operation, retryable: false });
  }
}

/** The table's description, or null when it does not exist. */
async function describeTable(ctx) {
  try {
    const answer = await send(ctx, 'DescribeTable', { TableName: ctx.settings.tableName });
    return (answer && answer.Table) || null;
  } catch (err) {
    if (err.code === 'ResourceNotFoundException') return null;
    throw err;
  }
}

/** The createdAt attribute (epoch seconds, set once) the users option keeps on every item. */
function createdAtKeyOf(settings) {
  return settings.createdAtKey || 'createdAt';
}

/**
 * The users option's global secondary index, as CreateTable's GlobalSecondaryIndexes entry and
 * UpdateTable's Create action: hash key the user attribute (S: the store writes String(of(session))),
 * sparse (items without the attribute, anonymous sessions, are not in it), projecting what
 * sessionsOf needs besides the keys (the table key is always projected): the expiry and createdAt.
 * `provisioned`: the index's ProvisionedThroughput (a PROVISIONED table's), or null (on demand).
 */
function userIndexSpec(settings, ttlKey, provisioned) {
  const u = settings.users;
  const spec = {
    IndexName: u.index,
    KeySchema: [{ AttributeName: u.attribute, KeyType: 'HASH' }],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [ttlKey, createdAtKeyOf(settings)] },
  };
  if (provisioned) spec.ProvisionedThroughput = provisioned;
  return spec;
}

/** True when an error answer is about a secondary index (the server refused to make one). */
function aboutIndex(err) {
  return typeof err.message === 'string' && /\b(?:global )?secondary index|\bindex\b|GlobalSecondaryIndex/i.test(err.message);
}

function warnIndex(ctx, why, what) {
  const s = ctx.settings;
  const u = s.users;
  ctx.warn(`koa-session-dynamodb-store: ${why}; sessionsOf() and destroySessionsOf() need index ${u.index} on table ${s.tableName} ` +
    `(hash key ${u.attribute}, a string; projection INCLUDE ${ctx.ttlKey}, ${createdAtKeyOf(s)}) and fail until it exists; ` +
    `the store works otherwise. ${what}`);
}

function retryHint(ctx) {
  const s = ctx.settings;
  const u = s.users;
  const flags = `${u.attribute !== 'userId' ? ` --user-attribute ${u.attribute}` : ''}${u.index !== 'userId-index' ? ` --user-index ${u.index}` : ''}`;
  return `Run createTableIfDontExists() with the users option again, or \`npx koa-session-dynamodb-store create-table --table ${s.tableName}${flags}\`, to add it.`;
}

/**
 * CreateTable (with the users index when the option is set). Resolves 'created', 'exists' (someone
 * else created it meanwhile) or 'without-index' (the server refused the index: a warning).
 */
async function createTable(ctx) {
  const s = ctx.settings;
  const body = {
    TableName: s.tableName,
    AttributeDefinitions: [{ AttributeName: s.hashKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: s.hashKey, KeyType: 'HASH' }],
  };
  let provisioned = null;
  if (s.billingMode === 'PAY_PER_REQUEST') body.BillingMode = 'PAY_PER_REQUEST';
  else {
    body.BillingMode = 'PROVISIONED';
    provisioned = { ReadCapacityUnits: s.readCapacityUnits, WriteCapacityUnits: s.writeCapacityUnits };
    body.ProvisionedThroughput = provisioned;
  }
  if (s.users) {
    body.AttributeDefinitions.push({ AttributeName: s.users.attribute, AttributeType: 'S' });
    body.GlobalSecondaryIndexes = [userIndexSpec(s, ctx.ttlKey, provisioned && { ...provisioned })];
  }
  try {
    await send(ctx, 'CreateTable', body);
    return 'created';
  } catch (err) {
    if (err.code === 'ResourceInUseException') return 'exists'; // created by someone else meanwhile: fine
    // A server that cannot make the index (an emulator without global secondary indexes): the
    // table without it, and a warning.
    if (!s.users || !(err.code === 'ValidationException' || err.code === 'LimitExceededException') || !aboutIndex(err)) throw err;
    delete body.GlobalSecondaryIndexes;
    body.AttributeDefinitions.pop();
    try {
      await send(ctx, 'CreateTable', body);
    } catch (err2) {
      if (err2.code !== 'ResourceInUseException') throw err2;
    }
    warnIndex(ctx, `the server refused to create table ${s.tableName} with index ${s.users.index} (${err.code}: ${err.message}), so it was created without it`, retryHint(ctx));
    return 'without-index';
  }
}

/** Polls DescribeTable until the table is ACTIVE (at most TABLE_WAIT_MS); resolves its description. */
async function waitActive(ctx, table) {
  const name = ctx.settings.tableName;
  const deadline = Date.now() + TABLE_WAIT_MS;
  let t = table;
  while (!t || t.TableStatus !== 'ACTIVE') {
    if (t && t.TableStatus === 'DELETING') {
      throw new DynamoDBStoreError(`table ${name} is being deleted`, { code: 'ResourceInUseException', retryable: false });
    }
    if (Date.now() > deadline) {
      throw new DynamoDBStoreError(`table ${name} did not become ACTIVE within ${TABLE_WAIT_MS / 1000} s`, { code: 'TimeoutError', retryable: true });
    }
    await sleep(TABLE_POLL_MS);
    t = await describeTable(ctx);
  }
  return t;
}

async function enableTtl(ctx) {
  const body = { TableName: ctx.settings.tableName, TimeToLiveSpecification: { AttributeName: ctx.ttlKey, Enabled: true } };
  for (let attempt = 0; ; attempt++) {
    try {
      await send(ctx, 'UpdateTimeToLive', body);
      return;
    } catch (err) {
      // Another process enabled it at the same moment, or the table is still settling.
      if (err.code === 'ValidationException' && /already enabled/i.test(err.message)) return;
      if (err.code === 'ResourceInUseException' && attempt < TTL_BUSY_RETRIES) { await sleep(TABLE_POLL_MS); continue; }
      throw err;
    }
  }
}

function warnNoTtl(ctx, operation, err) {
  ctx.warn(`koa-session-dynamodb-store: the server at ${ctx.settings.endpoint} does not support TTL (${operation}: ${err.code}), ` +
    `so it will not delete expired sessions from table ${ctx.settings.tableName}; the store's reads ignore expired sessions anyway`);
}

/**
 * Makes the table's TTL match: enabled on another attribute → that attribute wins (a warning);
 * disabled → enabled on ttlKey. A server without TTL operations → a warning. Resolves the
 * attribute the store must write the expiry to.
 */
async function reconcileTtl(ctx) {
  let d;
  try {
    d = (await send(ctx, 'DescribeTimeToLive', { TableName: ctx.settings.tableName })).TimeToLiveDescription || {};
  } catch (err) {
    if (!ttlUnsupported(err)) throw err;
    warnNoTtl(ctx, 'DescribeTimeToLive', err);
    return ctx.ttlKey;
  }
  const status = d.TimeToLiveStatus;
  if ((status === 'ENABLED' || status === 'ENABLING') && typeof d.AttributeName === 'string' && d.AttributeName) {
    if (d.AttributeName !== ctx.ttlKey) {
      try {
        checkAttributeName(d.AttributeName, 'the TTL attribute in the DescribeTimeToLive answer'); // it becomes the native client's ttlKey
      } catch (err) {
        throw new DynamoDBStoreError(`table ${ctx.settings.tableName} has TTL enabled on an attribute the store cannot use: ${err.message}`, { code: 'InvalidResponse', operation: 'DescribeTimeToLive', retryable: false });
      }
      ctx.warn(`koa-session-dynamodb-store: table ${ctx.settings.tableName} has TTL enabled on attribute '${d.AttributeName}', not '${ctx.ttlKey}'; using '${d.AttributeName}'`);
    }
    return d.AttributeName;
  }
  try {
    await enableTtl(ctx);
  } catch (err) {
    if (!ttlUnsupported(err)) throw err;
    warnNoTtl(ctx, 'UpdateTimeToLive', err);
  }
  return ctx.ttlKey;
}

const INDEX_BUSY_RETRIES = 20; // UpdateTable refused with ResourceInUseException: the table is settling
const INDEX_MISSING_GRACE_MS = 5000; // DescribeTable is eventually consistent: a new index may show late

function indexOf(table, name) {
  return ((table && table.GlobalSecondaryIndexes) || []).find((i) => i && i.IndexName === name) || null;
}

/**
 * Polls DescribeTable until the users index is ACTIVE and no longer backfilling (bounded by
 * TABLE_WAIT_MS): resolves true, or false after a warning (the index vanished, or is still being
 * built when the time is up).
 */
async function waitIndexActive(ctx, table) {
  const s = ctx.settings;
  const name = s.users.index;
  const start = Date.now();
  let t = table;
  for (;;) {
    const idx = indexOf(t, name);
    if (idx && idx.IndexStatus === 'ACTIVE' && !idx.Backfilling) return true;
    if (!idx && Date.now() - start > INDEX_MISSING_GRACE_MS) {
      warnIndex(ctx, `the server accepted the creation of index ${name} on table ${s.tableName} but does not show the index (an emulator without global secondary indexes?)`, retryHint(ctx));
      return false;
    }
    if (idx && idx.IndexStatus === 'DELETING') {
      warnIndex(ctx, `index ${name} on table ${s.tableName} is being deleted`, 'Run createTableIfDontExists() again once it is gone.');
      return false;
    }
    if (Date.now() - start > ctx.indexWaitMs) {
      warnIndex(ctx, `index ${name} on table ${s.tableName} is still ${idx ? idx.IndexStatus : 'missing'}${idx && idx.Backfilling ? ' (backfilling)' : ''} after ${Math.round(ctx.indexWaitMs / 1000)} s`,
        'DynamoDB goes on building it: `npx koa-session-dynamodb-store describe` shows when it is ACTIVE.');
      return false;
    }
    await sleep(TABLE_POLL_MS);
    t = await describeTable(ctx);
    if (!t) throw new DynamoDBStoreError(`table ${s.tableName} does not exist any more`, { code: 'ResourceNotFoundException', operation: 'DescribeTable', retryable: false });
  }
}

/**
 * The users option on an existing table: the index is there with the right key (waits while it is
 * being built), or gets added with UpdateTable (then waits until it is ACTIVE). Whatever cannot be
 * done is a warning: the store works without the index, only sessionsOf / destroySessionsOf fail.
 */
async function ensureUserIndex(ctx, table) {
  const s = ctx.settings;
  const u = s.users;
  const defs = table.AttributeDefinitions || [];
  const def = defs.find((d) => d.AttributeName === u.attribute);
  const existing = indexOf(table, u.index);
  if (existing) {
    const ks = existing.KeySchema || [];
    if (ks.length !== 1 || ks[0].AttributeName !== u.attribute || ks[0].KeyType !== 'HASH' || (def && def.AttributeType !== 'S')) {
      const shown = ks.map((k) => `${k.AttributeName} (${k.KeyType})`).join(', ');
      warnIndex(ctx, `table ${s.tableName} has an index ${u.index} whose key is ${shown || 'unknown'}${def ? ` of type ${def.AttributeType}` : ''}, not ${u.attribute} (HASH, a string)`,
        'Choose another users.index (and users.attribute), or delete that index.');
      return;
    }
    const p = existing.Projection || {};
    const needs = [ctx.ttlKey, createdAtKeyOf(s)];
    if (p.ProjectionType !== 'ALL' && !needs.every((a) => (p.NonKeyAttributes || []).includes(a))) {
      warnIndex(ctx, `index ${u.index} on table ${s.tableName} does not project ${needs.filter((a) => !(p.NonKeyAttributes || []).includes(a)).join(' and ')}`,
        'Delete the index and run createTableIfDontExists() again to rebuild it.');
      return;
    }
    await waitIndexActive(ctx, table);
    return;
  }
  if (def && def.AttributeType !== 'S') {
    warnIndex(ctx, `attribute ${u.attribute} is a key of another index of table ${s.tableName} with type ${def.AttributeType}; ` +
      'the store writes user ids as strings, which DynamoDB refuses for that index', 'Choose another users.attribute.');
    return;
  }
  const billing = table.BillingModeSummary && table.BillingModeSummary.BillingMode;
  const provisioned = billing === 'PAY_PER_REQUEST' ? null : {
    ReadCapacityUnits: s.readCapacityUnits, WriteCapacityUnits: s.writeCapacityUnits,
  };
  const body = {
    TableName: s.tableName,
    AttributeDefinitions: [{ AttributeName: u.attribute, AttributeType: 'S' }],
    GlobalSecondaryIndexUpdates: [{ Create: userIndexSpec(s, ctx.ttlKey, provisioned) }],
  };
  let answer;
  for (let attempt = 0; ; attempt++) {
    try {
      answer = await send(ctx, 'UpdateTable', body);
      break;
    } catch (err) {
      // the table (or another index) is being updated: wait for ACTIVE and try again, a few times
      if (err.code === 'ResourceInUseException' && attempt < INDEX_BUSY_RETRIES) {
        await sleep(TABLE_POLL_MS);
        const t = await waitActive(ctx, await describeTable(ctx));
        if (indexOf(t, u.index)) return ensureUserIndex(ctx, t); // someone else added it meanwhile
        continue;
      }
      if (err.code === 'ValidationException' && /already exists/i.test(err.message)) {
        const t = await describeTable(ctx);
        if (t && indexOf(t, u.index)) return ensureUserIndex(ctx, t);
      }
      // LimitExceededException (another index being built, or the table has as many as it may),
      // AccessDenied, an emulator that does not do it, ...
      warnIndex(ctx, `could not add index ${u.index} to table ${s.tableName} (${err.code}: ${err.message})`, retryHint(ctx));
      return;
    }
  }
  const described = answer && answer.TableDescription;
  if (described && !indexOf(described, u.index)) {
    // real DynamoDB answers with the new index (CREATING); plain dynalite accepts and ignores it
    warnIndex(ctx, `the server accepted the creation of index ${u.index} on table ${s.tableName} but did not create it (an emulator without global secondary index updates?)`, retryHint(ctx));
    return;
  }
  await waitIndexActive(ctx, described || await describeTable(ctx));
}

/**
 * createTableIfDontExists: resolves { ttlKey }, the attribute the store must write expiries to
 * (the table's own TTL attribute when TTL is already enabled on another one).
 *
 * ctx: { settings (resolved options), ttlKey (the store's current one), call(operation, jsonText)
 * → Promise<jsonText>, warn(message) (once per message) }.
 *
 * A new table: any failure rejects, except a server without TTL operations (a warning). An
 * existing, usable table: failing to tune its TTL or capacity is a warning, not a failure.
 */
async function ensureTable({ settings, ttlKey, call, warn, indexWaitMs = TABLE_WAIT_MS }) {
  const ctx = { settings, ttlKey, call, warn, indexWaitMs };
  const s = settings;
  let table = await describeTable(ctx);
  if (!table) {
    const created = await createTable(ctx);
    table = await waitActive(ctx, null);
    const useKey = s.useTtlExpired ? await reconcileTtl(ctx) : ttlKey;
    // created by someone else meanwhile: it may lack the index (or have another one of that name)
    if (s.users && created !== 'without-index') await ensureUserIndex({ ...ctx, ttlKey: useKey }, table);
    return { ttlKey: useKey };
  }
  table = await waitActive(ctx, table);
  let useKey = ttlKey;
  if (s.useTtlExpired) {
    try {
      useKey = await reconcileTtl(ctx);
    } catch (err) {
      warn(`koa-session-dynamodb-store: could not enable TTL on table ${s.tableName} (${err.code}: ${err.message}); try again later`);
    }
  }
  const billing = table.BillingModeSummary && table.BillingModeSummary.BillingMode;
  const pt = table.ProvisionedThroughput || {};
  if (billing !== 'PAY_PER_REQUEST' && s.billingMode !== 'PAY_PER_REQUEST' &&
      (pt.ReadCapacityUnits !== s.readCapacityUnits || pt.WriteCapacityUnits !== s.writeCapacityUnits)) {
    try {
      await send(ctx, 'UpdateTable', {
        TableName: s.tableName,
        ProvisionedThroughput: { ReadCapacityUnits: s.readCapacityUnits, WriteCapacityUnits: s.writeCapacityUnits },
      });
      if (s.users) table = await waitActive(ctx, await describeTable(ctx)); // UPDATING for a moment
    } catch (err) {
      warn(`koa-session-dynamodb-store: could not update the capacity of table ${s.tableName} (${err.code}: ${err.message})`);
    }
  }
  // The index projects the expiry attribute the store really writes to (the table's TTL one).
  if (s.users) await ensureUserIndex({ ...ctx, ttlKey: useKey }, table);
  return { ttlKey: useKey };
}

module.exports = {
  ensureTable, ttlUnsupported, send, userIndexSpec, createdAtKeyOf, TABLE_POLL_MS, TABLE_WAIT_MS,
};
