#!/usr/bin/env node
'use strict';
// The operator's command line: `npx koa-session-dynamodb-store <command> ...`. Looks at and manages
// the sessions table through the store itself (same credentials and region chain, same signed calls):
// create-table, describe, sessions <userId>, revoke <userId>, show <key>, destroy <key>.
// Output: aligned text, or one JSON document with --json. Exit status: 0 done, 1 failed (one line on
// stderr), 2 usage error. Never prints credentials or the store's options.

const { parseArgs } = require('node:util');

const NAME = 'koa-session-dynamodb-store';
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;
const DEFAULT_TABLE = 'sessions';
const DEFAULT_USER_ATTRIBUTE = 'userId';
const DEFAULT_USER_INDEX = 'userId-index';

const COMMON_OPTIONS = {
  table: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  profile: { type: 'string' },
  'hash-key': { type: 'string' },
  'ttl-key': { type: 'string' },
  'user-attribute': { type: 'string' },
  'user-index': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};
const COMMAND_OPTIONS = {
  'create-table': {
    'billing-mode': { type: 'string' },
    'read-capacity': { type: 'string' },
    'write-capacity': { type: 'string' },
  },
  revoke: { except: { type: 'string', multiple: true } },
};

const COMMON_HELP = `Options:
  --table NAME            the table (default "${DEFAULT_TABLE}")
  --region REGION         AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region)
  --endpoint URL          DynamoDB endpoint (default: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL,
                          else the region's)
  --profile NAME          AWS profile for credentials and region (default: AWS_PROFILE, "default")
  --hash-key NAME         the table's hash key (default: read from the table, else "sessionId")
  --ttl-key NAME          the expiry attribute (default: the table's TTL attribute, else "expires")
  --user-attribute NAME   the attribute holding the user id (default "${DEFAULT_USER_ATTRIBUTE}")
  --user-index NAME       the index on it (default "${DEFAULT_USER_INDEX}")
  --json                  print one JSON document on stdout (dates as ISO 8601 strings)
  -h, --help              help; \`${NAME} <command> --help\` for a command's

Credentials come from the same chain as the store's: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
(/ AWS_SESSION_TOKEN), the profile in ~/.aws, web identity, ECS or EC2 instance roles.
Exit status: 0 done, 1 failed (one line on stderr), 2 usage error.`;

const COMMANDS = {
  'create-table': {
    args: [],
    summary: 'create the table and the users index if missing; add the index to an existing table',
    help: `Usage: ${NAME} create-table [options]

Creates the table when it does not exist (string hash key, TTL on the expiry attribute) with the
users index (hash key the user attribute, projecting the expiry and createdAt), and waits until both
are ACTIVE. On an existing table: enables TTL when it is off and adds the index when it is missing
(DynamoDB backfills it from the table's items; the command waits up to 5 minutes). Its capacity and
billing mode are left as they are unless given. Fails (exit 1) when the index cannot be made ready.

  --billing-mode MODE     PROVISIONED (default) or PAY_PER_REQUEST (a new table)
  --read-capacity N       read capacity units of a provisioned table and its index (default 5,
                          or the existing table's)
  --write-capacity N      write capacity units (default 5, or the existing table's)`,
  },
  describe: {
    args: [],
    summary: 'the table: status, key schema, TTL, billing, item count, indexes',
    help: `Usage: ${NAME} describe [options]

The table's status, key schema, TTL, billing mode and capacity, item count and size (DynamoDB
updates these about every six hours), and its global secondary indexes.`,
  },
  sessions: {
    args: ['userId'],
    summary: 'a user\'s live sessions, newest first',
    help: `Usage: ${NAME} sessions <userId> [options]

The user's live sessions (expired ones left out), newest first: key, created, expires. Read from
the users index, which is eventually consistent: a session created or destroyed within about the
last second may be missing or still listed.`,
  },
  revoke: {
    args: ['userId'],
    summary: 'destroy a user\'s sessions (log out everywhere)',
    help: `Usage: ${NAME} revoke <userId> [--except KEY]... [options]

Destroys every session of the user except the ones given with --except (repeatable), and prints
how many were destroyed. Queries the index again about a second later to catch sessions the index
did not show yet. A request of a destroyed session still in flight cannot bring it back.

  --except KEY            keep this session (may be given several times)`,
  },
  show: {
    args: ['key'],
    summary: 'one session: its metadata and content',
    help: `Usage: ${NAME} show <key> [options]

One session: its user, when it was created, when it expires, its version and approximate size, and
its content. Fails (exit 1) when there is no such session. Session contents can be personal data:
mind where the output goes.`,
  },
  destroy: {
    args: ['key'],
    summary: 'destroy one session',
    help: `Usage: ${NAME} destroy <key> [options]

Destroys the session (the user is logged out of that device). Says whether it existed; destroying a
session that does not exist is not an error.`,
  },
};

function globalHelp() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length + 1 + COMMANDS[c].args.map((a) => `<${a}>`).join(' ').length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => {
    const head = [name, ...c.args.map((a) => `<${a}>`)].join(' ');
    return `  ${head.padEnd(width + 2)}${c.summary}`;
  });
  return `Usage: ${NAME} <command> [arguments] [options]

Looks at and manages a koa-session-dynamodb-store sessions table.

Commands:
${lines.join('\n')}

${COMMON_HELP}`;
}

function commandHelp(name) {
  return `${COMMANDS[name].help}\n\n${COMMON_HELP}`;
}

class UsageError extends Error {}

function oneLine(text) {
  return String(text).replace(/\s+/g, ' ').trim();
}

// ---- output

/** An ISO 8601 date without milliseconds, or '-' */
function when(d) {
  return d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

/** Aligned columns: rows of strings, the first one the header. */
function columns(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? String(c) : String(c).padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** Key: value lines, the keys aligned. */
function fields(pairs) {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n');
}

function keySchemaText(ks) {
  return ks.map((k) => `${k.attribute} (${k.keyType}${k.attributeType ? `, ${k.attributeType}` : ''})`).join(', ') || '-';
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeText(d) {
  const ttl = d.ttl.status === 'UNKNOWN' ? 'unknown (the server does not say)' : `${d.ttl.status}${d.ttl.attribute ? ` on ${d.ttl.attribute}` : ''}`;
  const billing = d.billingMode === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST (on demand)'
    : `PROVISIONED (read ${d.capacity && d.capacity.read !== null ? d.capacity.read : '?'}, write ${d.capacity && d.capacity.write !== null ? d.capacity.write : '?'})`;
  const out = [fields([
    ['table', d.name],
    ['status', d.status],
    ['key schema', keySchemaText(d.keySchema)],
    ['ttl', ttl],
    ['billing', billing],
    ['items', d.itemCount === null ? '-' : `${d.itemCount} (approximate, updated about every six hours)`],
    ['size', d.sizeBytes === null ? '-' : `${d.sizeBytes} bytes`],
    ['indexes', d.indexes.length ? String(d.indexes.length) : 'none'],
  ])];
  if (d.indexes.length) {
    out.push('', columns([
      ['INDEX', 'STATUS', 'KEY', 'PROJECTION', 'ITEMS'],
      ...d.indexes.map((i) => [
        i.name,
        `${i.status}${i.backfilling ? ' (backfilling)' : ''}`,
        keySchemaText(i.keySchema),
        `${i.projection.type || '-'}${i.projection.attributes.length ? ` ${i.projection.attributes.join(', ')}` : ''}`,
        i.itemCount === null ? '-' : String(i.itemCount),
      ]),
    ]));
  }
  return out.join('\n');
}

// ---- arguments

function parse(argv) {
  const all = { ...COMMON_OPTIONS };
  for (const opts of Object.values(COMMAND_OPTIONS)) Object.assign(all, opts);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(oneLine(err.message).replace(/ To specify a positional argument.*$/, ''));
  }
  const { values, positionals } = parsed;
  let [command, ...args] = positionals;
  if (command === 'help') {
    if (args.length > 1 || (args[0] && !COMMANDS[args[0]])) throw new UsageError(`unknown command "${args[0]}"`);
    return { help: args[0] || true };
  }
  if (values.help) {
    if (command && !COMMANDS[command]) throw new UsageError(`unknown command "${command}"`);
    return { help: command || true };
  }
  if (!command) throw new UsageError('no command given');
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}"`);
  for (const [cmd, opts] of Object.entries(COMMAND_OPTIONS)) {
    if (cmd === command) continue;
    for (const name of Object.keys(opts)) {
      if (values[name] !== undefined) throw new UsageError(`--${name} is an option of ${cmd}, not of ${command}`);
    }
  }
  if (args.length < spec.args.length) throw new UsageError(`${command}: missing <${spec.args[args.length]}>`);
  if (args.length > spec.args.length) throw new UsageError(`${command}: unexpected argument "${args[spec.args.length]}"`);
  for (const [i, a] of args.entries()) if (a === '') throw new UsageError(`${command}: <${spec.args[i]}> must not be empty`);
  for (const [name, v] of Object.entries(values)) {
    if (typeof v === 'string' && v === '') throw new UsageError(`--${name} must not be empty`);
    if (Array.isArray(v) && v.includes('')) throw new UsageError(`--${name} must not be empty`);
  }
  const o = { command, args, values };
  if (command === 'create-table') {
    const mode = values['billing-mode'];
    if (mode !== undefined && mode !== 'PROVISIONED' && mode !== 'PAY_PER_REQUEST') {
      throw new UsageError(`--billing-mode must be PROVISIONED or PAY_PER_REQUEST, got "${mode}"`);
    }
    for (const name of ['read-capacity', 'write-capacity']) {
      const v = values[name];
      if (v === undefined) continue;
      if (!/^[1-9]\d{0,12}$/.test(v)) throw new UsageError(`--${name} must be a whole number of 1 or more, got "${v}"`);
      if (mode === 'PAY_PER_REQUEST') throw new UsageError(`--${name} is for PROVISIONED tables, not PAY_PER_REQUEST`);
    }
  }
  return o;
}

// ---- the store

const FLAG_OF_OPTION = [
  [/\boption table\.name\b/g, '--table'],
  [/\boption table\.hashKey\b/g, '--hash-key'],
  [/\boption table\.ttlKey\b/g, '--ttl-key'],
  [/\boption table\.billingMode\b/g, '--billing-mode'],
  [/\boption table\.readCapacityUnits\b/g, '--read-capacity'],
  [/\boption table\.writeCapacityUnits\b/g, '--write-capacity'],
  [/\boption dynamoConfig\.region\b/g, '--region'],
  [/\boption dynamoConfig\.endpoint\b/g, '--endpoint'],
  [/\boption dynamoConfig\.profile\b/g, '--profile'],
  [/\boption users\.attribute\b/g, '--user-attribute'],
  [/\boption users\.index\b/g, '--user-index'],
  [/\b(?:option )?dynamoConfig\.(region|endpoint|profile)\b/g, '--$1'],
];

/** The constructor's option errors in the command line's words (the flags). */
function flagWords(message) {
  let m = message;
  for (const [re, flag] of FLAG_OF_OPTION) m = m.replace(re, flag);
  return m;
}

let DynamoDBStore;
const stores = [];

function loadStore() {
  if (!DynamoDBStore) DynamoDBStore = require('../lib/index.js');
  return DynamoDBStore;
}

/**
 * A store for the command: { table: { name, hashKey?, ttlKey?, billingMode?, capacity? },
 * dynamoConfig: { region?, endpoint?, profile? }, users: { of, attribute, index } }. Option errors
 * (a bad --table, --region ...) are usage errors.
 */
function openStore(values, table = {}) {
  const Store = loadStore();
  const t = { name: values.table || DEFAULT_TABLE, ...table };
  if (values['hash-key']) t.hashKey = values['hash-key'];
  if (values['ttl-key']) t.ttlKey = values['ttl-key'];
  const dynamoConfig = {};
  for (const k of ['region', 'endpoint', 'profile']) if (values[k] !== undefined) dynamoConfig[k] = values[k];
  let store;
  try {
    store = new Store({
      table: t,
      dynamoConfig,
      users: {
        of: () => undefined, // the command line writes no session
        attribute: values['user-attribute'] || DEFAULT_USER_ATTRIBUTE,
        index: values['user-index'] || DEFAULT_USER_INDEX,
      },
    });
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      let m = flagWords(err.message);
      if (/^no AWS region/.test(m)) m = 'no AWS region: pass --region, or set AWS_REGION, or region in the AWS profile, or pass --endpoint';
      const e = new Error(m);
      e.exitCode = /--[a-z]/.test(m) && !/^no AWS region/.test(m) ? EXIT_USAGE : EXIT_ERROR;
      throw e;
    }
    throw err;
  }
  stores.push(store);
  return store;
}

async function closeStores() {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
}

/**
 * The table as the store sees it, to take its hash key and TTL attribute when the flags do not say;
 * null when the credentials may not describe it (then the flags and defaults are used).
 */
async function discover(values) {
  const store = openStore(values);
  try {
    return { store, table: await store.describeTable() };
  } catch (err) {
    if (err && err.code === 'AccessDeniedException') return { store, table: null };
    throw err;
  }
}

/** The table options that match an existing table, so that the store changes nothing by mistake. */
function tableOptionsFrom(d, values) {
  const t = {};
  if (!d) return t;
  const hash = d.keySchema.find((k) => k.keyType === 'HASH');
  if (!values['hash-key'] && hash && hash.attribute) t.hashKey = hash.attribute;
  if (!values['ttl-key'] && (d.ttl.status === 'ENABLED' || d.ttl.status === 'ENABLING') && d.ttl.attribute) t.ttlKey = d.ttl.attribute;
  return t;
}

// ---- commands

async function runCreateTable(values, out) {
  let existing = null;
  try {
    existing = (await discover(values)).table;
  } catch (err) {
    if (!err || err.code !== 'ResourceNotFoundException') throw err;
  }
  const table = tableOptionsFrom(existing, values);
  if (existing) {
    const hash = existing.keySchema.find((k) => k.keyType === 'HASH');
    if (values['hash-key'] && hash && hash.attribute !== values['hash-key']) {
      throw new Error(`table "${existing.name}" has the hash key "${hash.attribute}", not "${values['hash-key']}"`);
    }
    // Leave the existing table's billing and capacity alone unless asked.
    table.billingMode = values['billing-mode'] || existing.billingMode;
    if (table.billingMode === 'PROVISIONED' && existing.capacity) {
      const { read, write } = existing.capacity;
      if (read >= 1) table.readCapacityUnits = read;
      if (write >= 1) table.writeCapacityUnits = write;
    }
  } else if (values['billing-mode']) table.billingMode = values['billing-mode'];
  if (values['read-capacity']) table.readCapacityUnits = Number(values['read-capacity']);
  if (values['write-capacity']) table.writeCapacityUnits = Number(values['write-capacity']);
  const store = openStore(values, table);
  await store.createTableIfDontExists();
  const d = await store.describeTable();
  const indexName = values['user-index'] || DEFAULT_USER_INDEX;
  const index = d.indexes.find((i) => i.name === indexName);
  const ready = Boolean(index && index.status === 'ACTIVE' && !index.backfilling);
  if (values.json) out.json({ created: !existing, indexReady: ready, table: d });
  else out.text(`${existing ? `table "${d.name}" exists` : `table "${d.name}" created`}${ready ? `; index "${indexName}" is ACTIVE` : ''}\n\n${describeText(d)}`);
  if (!ready) {
    const state = index ? `${index.status}${index.backfilling ? ' (backfilling)' : ''}` : 'missing';
    throw new Error(`table "${d.name}" is ready, but its index "${indexName}" is ${state}${out.warnings.length ? ' (see the warning above)' : ''}`);
  }
}

async function runDescribe(values, out) {
  const d = await openStore(values).describeTable();
  if (values.json) out.json(d);
  else out.text(describeText(d));
}

/** A store that matches the table (its hash key and TTL attribute) unless the flags say otherwise. */
async function storeFor(values) {
  const { store, table: d } = await discover(values);
  const table = tableOptionsFrom(d, values);
  if (!(table.hashKey && table.hashKey !== (values['hash-key'] || 'sessionId')) && !(table.ttlKey && table.ttlKey !== 'expires')) return store;
  return openStore(values, table);
}

async function runSessions(values, [userId], out) {
  const store = await storeFor(values);
  const list = await store.sessionsOf(userId);
  const table = values.table || DEFAULT_TABLE;
  if (values.json) {
    out.json({ table, user: userId, sessions: list.map((s) => ({ key: s.key, createdAt: s.createdAt, expires: s.expires })) });
    return;
  }
  if (!list.length) {
    out.text(`no live sessions of user "${userId}" in table "${table}"`);
    return;
  }
  out.text(`${columns([['KEY', 'CREATED', 'EXPIRES'], ...list.map((s) => [s.key, when(s.createdAt), when(s.expires)])])}\n\n` +
    `${plural(list.length, 'live session')} of user "${userId}" in table "${table}"`);
}

async function runRevoke(values, [userId], out) {
  const store = await storeFor(values);
  const except = values.except || [];
  const destroyed = await store.destroySessionsOf(userId, except.length ? { except } : {});
  const table = values.table || DEFAULT_TABLE;
  if (values.json) out.json({ table, user: userId, destroyed, except });
  else out.text(`destroyed ${plural(destroyed, 'session')} of user "${userId}" in table "${table}"${except.length ? ` (kept ${except.map((k) => `"${k}"`).join(', ')})` : ''}`);
}

async function runShow(values, [key], out) {
  const store = await storeFor(values);
  const meta = await store.inspect(key);
  const table = values.table || DEFAULT_TABLE;
  if (!meta) {
    const e = new Error(`no session "${key}" in table "${table}"`);
    throw e;
  }
  const session = (await store.get(key)) ?? null;
  const expired = meta.expires ? meta.expires.getTime() <= Date.now() : false;
  if (values.json) {
    out.json({ table, key, user: meta.user, createdAt: meta.createdAt, expires: meta.expires, expired, version: meta.version, size: meta.size, session });
    return;
  }
  out.text(`${fields([
    ['key', key],
    ['user', meta.user === null ? '- (anonymous)' : meta.user],
    ['created', when(meta.createdAt)],
    ['expires', `${when(meta.expires)}${expired ? ' (expired)' : ''}`],
    ['version', meta.version === null ? '-' : String(meta.version)],
    ['size', `${meta.size} bytes (approximate)`],
  ])}\nsession:\n${session === null ? (expired ? '(expired: the store no longer reads it)' : '(gone)') : JSON.stringify(session, null, 2)}`);
}

async function runDestroy(values, [key], out) {
  const store = await storeFor(values);
  const existed = (await store.inspect(key)) !== null;
  await store.destroy(key);
  const table = values.table || DEFAULT_TABLE;
  if (values.json) out.json({ table, key, existed, destroyed: existed });
  else out.text(existed ? `destroyed session "${key}" in table "${table}"` : `no session "${key}" in table "${table}"; nothing to destroy`);
}

const RUN = {
  'create-table': (v, a, out) => runCreateTable(v, out),
  describe: (v, a, out) => runDescribe(v, out),
  sessions: runSessions,
  revoke: runRevoke,
  show: runShow,
  destroy: runDestroy,
};

// ---- main

function errorLine(err, values) {
  if (err && err.code === 'ResourceNotFoundException') return `table "${(values && values.table) || DEFAULT_TABLE}" does not exist`;
  let m = flagWords(oneLine((err && err.message) || err));
  if (err && err.code && !m.includes(err.code) && err.name === 'DynamoDBStoreError') m = `${m} (${err.code})`;
  if (err && err.code === 'ValidationException' && /key element does not match the schema/i.test(m)) {
    m += '; is the table\'s hash key another one? pass --hash-key';
  }
  return m;
}

async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  const warnings = [];
  const onWarning = (w) => {
    const text = oneLine(w && w.message).replace(new RegExp(`^${NAME}: `), '');
    warnings.push(text);
    io.stderr.write(`${NAME}: warning: ${text}\n`);
  };
  // The store's warnings (process.emitWarning) in our format, instead of Node's.
  process.removeAllListeners('warning');
  process.on('warning', onWarning);
  const out = {
    warnings,
    json: (doc) => io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`),
    text: (t) => io.stdout.write(`${t}\n`),
  };
  let opts;
  try {
    opts = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`${NAME}: ${err.message}\n`);
    const [cmd] = argv.filter((a) => !a.startsWith('-'));
    io.stderr.write(`Usage: ${NAME} ${COMMANDS[cmd] ? [cmd, ...COMMANDS[cmd].args.map((a) => `<${a}>`)].join(' ') : '<command>'} [options]\n` +
      `Commands: ${Object.keys(COMMANDS).join(', ')}. Run \`${NAME} ${COMMANDS[cmd] ? `${cmd} ` : ''}--help\` for more.\n`);
    return EXIT_USAGE;
  }
  if (opts.help) {
    io.stdout.write(`${opts.help === true ? globalHelp() : commandHelp(opts.help)}\n`);
    return 0;
  }
  try {
    await RUN[opts.command](opts.values, opts.args, out);
    return 0;
  } catch (err) {
    if (err && /native addon could not be loaded/.test(err.message)) {
      io.stderr.write(`${err.message}\n`); // what to install or build: several lines, worth reading
      return EXIT_ERROR;
    }
    io.stderr.write(`${NAME}: ${errorLine(err, opts.values)}\n`);
    return (err && err.exitCode) || EXIT_ERROR;
  } finally {
    await closeStores();
    // warnings are emitted on the next tick: let them out before the caller exits
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
  }
}

module.exports = { main, parse, columns, when };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Everything is closed; should anything still hold the event loop, do not hang.
    setTimeout(() => process.exit(code), 2000).unref();
  }, (err) => {
    process.stderr.write(`${NAME}: ${oneLine(err && err.message)}\n`);
    process.exit(EXIT_ERROR);
  });
}
