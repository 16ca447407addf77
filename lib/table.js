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

async function createTable(ctx) {
  const s = ctx.settings;
  const body = {
    TableName: s.tableName,
    AttributeDefinitions: [{ AttributeName: s.hashKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: s.hashKey, KeyType: 'HASH' }],
  };
  if (s.billingMode === 'PAY_PER_REQUEST') body.BillingMode = 'PAY_PER_REQUEST';
  else {
    body.BillingMode = 'PROVISIONED';
    body.ProvisionedThroughput = { ReadCapacityUnits: s.readCapacityUnits, WriteCapacityUnits: s.writeCapacityUnits };
  }
  try {
    await send(ctx, 'CreateTable', body);
  } catch (err) {
    if (err.code !== 'ResourceInUseException') throw err; // created by someone else meanwhile: fine
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
async function ensureTable({ settings, ttlKey, call, warn }) {
  const ctx = { settings, ttlKey, call, warn };
  const s = settings;
  let table = await describeTable(ctx);
  if (!table) {
    await createTable(ctx);
    await waitActive(ctx, null);
    return { ttlKey: s.useTtlExpired ? await reconcileTtl(ctx) : ttlKey };
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
    } catch (err) {
      warn(`koa-session-dynamodb-store: could not update the capacity of table ${s.tableName} (${err.code}: ${err.message})`);
    }
  }
  return { ttlKey: useKey };
}

module.exports = { ensureTable, ttlUnsupported, TABLE_POLL_MS, TABLE_WAIT_MS };
