'use strict';
// The command line (bin/koa-session-dynamodb-store.js), run as a child process against the
// signature-checking test server, credentials from the environment or a profile as a user would
// give them: every command's output (text and --json) and exit status, a missing table, usage
// errors, and that no secret ever reaches stdout or stderr.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { useServer, runtimeEnv } = require('./helpers');

const root = path.join(__dirname, '..');
const BIN = path.join(root, 'bin', 'koa-session-dynamodb-store.js');
const NAME = 'koa-session-dynamodb-store';

/** Everything every run printed, to look for secrets in at the end of each test. */
function transcript(t, secrets) {
  const all = [];
  t.after(() => {
    const text = all.join('\n');
    for (const s of secrets) assert.ok(!text.includes(s), 'a secret was printed');
  });
  return all;
}

/**
 * Runs the command line with args; env: the test's AWS variables (nothing from the real ones; HOME
 * an empty directory so that no real ~/.aws is read). Resolves { code, stdout, stderr, json }.
 */
function cli(server, args, { env = {}, endpoint = true, seen, timeoutMs = 30000 } = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ksds-cli-'));
  const fullArgs = endpoint ? [...args, '--endpoint', server.endpoint, '--region', server.region] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...fullArgs], {
      cwd: home,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
        ...runtimeEnv(),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`cli ${args.join(' ')} timed out\n${stdout}\n${stderr}`)); }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fs.rmSync(home, { recursive: true, force: true });
      if (seen) seen.push(stdout, stderr);
      let json;
      try { json = JSON.parse(stdout); } catch { json = undefined; }
      resolve({ code, stdout, stderr, json });
    });
  });
}

const isoDate = (s) => typeof s === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/.test(s);

/** A store with the users option, to write sessions the way an app does. */
function appStore(server) {
  return server.store({ users: { of: (s) => s.user } });
}

test('the whole tour: create-table, describe, sessions, show, revoke, destroy (text and --json)', async (t) => {
  const server = await useServer(t);
  const seen = transcript(t, [server.credentials.secretAccessKey]);
  const run = (args, opts = {}) => cli(server, args, { seen, ...opts });

  // missing table: exit 1, one line naming the table, nothing on stdout
  for (const args of [['describe'], ['sessions', 'ana'], ['revoke', 'ana'], ['show', 'k'], ['destroy', 'k'], ['describe', '--json']]) {
    const r = await run(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${NAME}: table "sessions" does not exist\n`, args.join(' '));
  }
  const other = await run(['describe', '--table', 'app.sessions']);
  assert.equal(other.stderr, `${NAME}: table "app.sessions" does not exist\n`);

  // create-table
  let r = await run(['create-table']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^table "sessions" created; index "userId-index" is ACTIVE\n/);
  assert.match(r.stdout, /status: +ACTIVE/);
  assert.match(r.stdout, /key schema: +sessionId \(HASH, S\)/);
  assert.match(r.stdout, /ttl: +ENABLED on expires/);
  assert.match(r.stdout, /billing: +PROVISIONED \(read 5, write 5\)/);
  assert.match(r.stdout, /\nINDEX +STATUS +KEY +PROJECTION +ITEMS\nuserId-index +ACTIVE +userId \(HASH, S\) +INCLUDE expires, createdAt +0\n/);
  const gsi = (await server.describeTable('sessions')).GlobalSecondaryIndexes;
  assert.deepEqual(gsi.map((i) => [i.IndexName, i.IndexStatus]), [['userId-index', 'ACTIVE']]);
  r = await run(['create-table', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.created, false);
  assert.equal(r.json.indexReady, true);
  assert.equal(r.json.table.name, 'sessions');
  assert.equal(server.stats.byTarget.CreateTable, 1);
  assert.equal(server.stats.byTarget.UpdateTable, undefined, 'an existing table is left as it is');

  // sessions written by an app: ana on three devices, bob on one, one anonymous
  const store = appStore(server);
  for (const k of ['a1', 'a2', 'a3']) await store.set(k, { user: 'ana', device: k }, 3600_000);
  await store.set('b1', { user: 'bob' }, 3600_000);
  await store.set('anon', { cart: [1, 2] }, 3600_000);

  // describe
  r = await run(['describe']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^table: +sessions\nstatus: +ACTIVE\n/);
  assert.match(r.stdout, /userId-index +ACTIVE/);
  r = await run(['describe', '--json']);
  assert.equal(r.code, 0);
  assert.deepEqual(Object.keys(r.json).sort(), ['billingMode', 'capacity', 'indexes', 'itemCount', 'keySchema', 'name', 'sizeBytes', 'status', 'ttl']);
  assert.deepEqual(r.json.ttl, { status: 'ENABLED', attribute: 'expires' });
  assert.equal(r.json.indexes[0].name, 'userId-index');

  // sessions
  r = await run(['sessions', 'ana']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^KEY +CREATED +EXPIRES$/);
  assert.deepEqual(lines.slice(1, 4).map((l) => l.split(/ +/)[0]).sort(), ['a1', 'a2', 'a3']);
  for (const l of lines.slice(1, 4)) assert.match(l, /^a\d +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(lines[lines.length - 1], '3 live sessions of user "ana" in table "sessions"');
  r = await run(['sessions', 'ana', '--json']);
  assert.equal(r.code, 0);
  assert.equal(r.json.user, 'ana');
  assert.deepEqual(r.json.sessions.map((s) => s.key).sort(), ['a1', 'a2', 'a3']);
  for (const s of r.json.sessions) assert.ok(isoDate(s.createdAt) && isoDate(s.expires), JSON.stringify(s));
  r = await run(['sessions', 'nobody']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'no live sessions of user "nobody" in table "sessions"\n');
  r = await run(['sessions', 'nobody', '--json']);
  assert.deepEqual(r.json, { table: 'sessions', user: 'nobody', sessions: [] });

  // show
  r = await run(['show', 'a2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^key: +a2\nuser: +ana\ncreated: +\d{4}-.*Z\nexpires: +\d{4}-.*Z\nversion: +\d+\nsize: +\d+ bytes \(approximate\)\nsession:\n/);
  assert.ok(r.stdout.endsWith(`${JSON.stringify({ user: 'ana', device: 'a2' }, null, 2)}\n`), r.stdout);
  r = await run(['show', 'anon', '--json']);
  assert.equal(r.code, 0);
  assert.equal(r.json.user, null);
  assert.deepEqual(r.json.session, { cart: [1, 2] });
  assert.ok(isoDate(r.json.createdAt) && isoDate(r.json.expires));
  assert.equal(r.json.expired, false);
  assert.equal(typeof r.json.version, 'number');
  assert.ok(r.json.size > 10);
  r = await run(['show', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `${NAME}: no session "nope" in table "sessions"\n`);

  // revoke
  r = await run(['revoke', 'ana', '--except', 'a1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'destroyed 2 sessions of user "ana" in table "sessions" (kept "a1")\n');
  assert.deepEqual((await store.sessionsOf('ana')).map((s) => s.key), ['a1']);
  assert.equal(await store.get('a2'), undefined);
  r = await run(['revoke', 'bob', '--json']);
  assert.deepEqual(r.json, { table: 'sessions', user: 'bob', destroyed: 1, except: [] });
  r = await run(['revoke', 'nobody']);
  assert.equal(r.stdout, 'destroyed 0 sessions of user "nobody" in table "sessions"\n');

  // destroy
  r = await run(['destroy', 'a1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'destroyed session "a1" in table "sessions"\n');
  assert.equal(await store.get('a1'), undefined);
  r = await run(['destroy', 'a1']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'no session "a1" in table "sessions"; nothing to destroy\n');
  r = await run(['destroy', 'anon', '--json']);
  assert.deepEqual(r.json, { table: 'sessions', key: 'anon', existed: true, destroyed: true });
  assert.deepEqual(await server.scan('sessions'), []);
});

test('usage errors: exit 2, a short usage on stderr, nothing on stdout; --help: exit 0', async (t) => {
  const server = await useServer(t);
  const seen = transcript(t, [server.credentials.secretAccessKey]);
  const cases = [
    [[], /no command given/],
    [['bogus'], /unknown command "bogus"/],
    [['sessions'], /sessions: missing <userId>/],
    [['show'], /show: missing <key>/],
    [['destroy', 'a', 'b'], /destroy: unexpected argument "b"/],
    [['describe', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['sessions', 'ana', '--except', 'k'], /--except is an option of revoke, not of sessions/],
    [['create-table', '--billing-mode', 'CHEAP'], /--billing-mode must be PROVISIONED or PAY_PER_REQUEST/],
    [['create-table', '--read-capacity', 'lots'], /--read-capacity must be a whole number/],
    [['describe', '--table'], /--table/],
    [['sessions', ''], /<userId> must not be empty/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(server, args, { seen });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    const [first, ...rest] = r.stderr.trimEnd().split('\n');
    assert.ok(first.startsWith(`${NAME}: `), first);
    assert.match(first, message);
    assert.match(rest.join('\n'), /^Usage: koa-session-dynamodb-store /);
  }
  // a bad value the store refuses is a usage error too, in the command line's words
  const bad = await cli(server, ['describe', '--table', 'x']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^koa-session-dynamodb-store: --table must be 3 to 255 characters/);

  const help = await cli(server, ['--help'], { seen, endpoint: false });
  assert.equal(help.code, 0);
  assert.equal(help.stderr, '');
  assert.match(help.stdout, /^Usage: koa-session-dynamodb-store <command>/);
  for (const c of ['create-table', 'describe', 'sessions <userId>', 'revoke <userId>', 'show <key>', 'destroy <key>']) assert.ok(help.stdout.includes(`  ${c} `), c);
  for (const f of ['--table', '--region', '--endpoint', '--profile', '--json', '--user-attribute', '--user-index']) assert.ok(help.stdout.includes(f), f);
  for (const c of ['create-table', 'describe', 'sessions', 'revoke', 'show', 'destroy']) {
    const h = await cli(server, [c, '--help'], { seen, endpoint: false });
    assert.equal(h.code, 0);
    assert.match(h.stdout, new RegExp(`^Usage: koa-session-dynamodb-store ${c}`));
    const viaHelp = await cli(server, ['help', c], { seen, endpoint: false });
    assert.equal(viaHelp.stdout, h.stdout);
  }
  assert.match((await cli(server, ['revoke', '--help'], { endpoint: false })).stdout, /--except KEY/);
  assert.equal(server.stats.requests, 0, 'no request for a usage error or help');
});

test('credentials: a wrong secret fails with one line and prints no secret; --profile reads the shared files', async (t) => {
  const server = await useServer(t, {}, { expectRejections: true });
  const wrong = 'wrongSecretDoNotPrint0123456789abcdef';
  const seen = transcript(t, [server.credentials.secretAccessKey, wrong]);
  await server.createTable('sessions');
  const r = await cli(server, ['describe'], { seen, env: { AWS_SECRET_ACCESS_KEY: wrong } });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
  assert.match(r.stderr, /^koa-session-dynamodb-store: .*(InvalidSignatureException|signature)/);

  // a profile in a credentials file, no variables
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksds-profile-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'credentials');
  fs.writeFileSync(file, `[ops]\naws_access_key_id = ${server.credentials.accessKeyId}\naws_secret_access_key = ${server.credentials.secretAccessKey}\n`);
  const env = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: path.join(dir, 'none') };
  const ok = await cli(server, ['describe', '--profile', 'ops', '--json'], { seen, env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.json.name, 'sessions');
  const missing = await cli(server, ['describe', '--profile', 'nobody'], { seen, env });
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /^koa-session-dynamodb-store: .*nobody/);
  assert.equal(missing.stderr.split('\n').length, 2);
});

test('create-table: an existing table keeps its capacity and hash key; an index the server will not make: a warning and exit 1', async (t) => {
  const server = await useServer(t, { gsiUpdates: 'dynalite' });
  const seen = transcript(t, [server.credentials.secretAccessKey]);
  await server.createTable('ops-table', { hashKey: 'id', rcu: 20, wcu: 7 });
  const r = await cli(server, ['create-table', '--table', 'ops-table'], { seen });
  assert.equal(r.code, 1, r.stderr);
  const err = r.stderr.trimEnd().split('\n');
  assert.ok(err.some((l) => /^koa-session-dynamodb-store: warning: the server accepted the creation of index userId-index on table ops-table but did not create it/.test(l)), r.stderr);
  assert.equal(err[err.length - 1], 'koa-session-dynamodb-store: table "ops-table" is ready, but its index "userId-index" is missing (see the warning above)');
  assert.match(r.stdout, /table "ops-table" exists/);
  const table = await server.describeTable('ops-table');
  assert.deepEqual([table.ProvisionedThroughput.ReadCapacityUnits, table.ProvisionedThroughput.WriteCapacityUnits], [20, 7], 'capacity left alone');
  assert.deepEqual(await server.describeTimeToLive('ops-table'), { TimeToLiveStatus: 'ENABLED', AttributeName: 'expires' });
  // the table's hash key is read from it: show and destroy work without --hash-key
  await server.putItem('ops-table', { id: { S: 'k1' }, session: { M: { n: { N: '1' } } }, expires: { N: String(Math.floor(Date.now() / 1000) + 600) }, version: { N: '1' } });
  const shown = await cli(server, ['show', 'k1', '--table', 'ops-table', '--json'], { seen });
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(shown.json.session, { n: 1 });
  assert.equal(shown.json.user, null);
  // sessions needs the index: a clear error
  const s = await cli(server, ['sessions', 'ana', '--table', 'ops-table'], { seen });
  assert.equal(s.code, 1);
  assert.match(s.stderr, /^koa-session-dynamodb-store: sessionsOf: table "ops-table" has no usable index "userId-index"/);
  assert.equal(s.stderr.split('\n').length, 2);
});

test('create-table on demand with another user attribute and index; sessions and revoke use them', async (t) => {
  const server = await useServer(t);
  const seen = transcript(t, [server.credentials.secretAccessKey]);
  const flags = ['--table', 'od-sessions', '--user-attribute', 'owner', '--user-index', 'by-owner'];
  const r = await cli(server, ['create-table', '--billing-mode', 'PAY_PER_REQUEST', ...flags, '--json'], { seen });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.created, true);
  assert.equal(r.json.table.billingMode, 'PAY_PER_REQUEST');
  assert.equal(r.json.table.capacity, null);
  assert.deepEqual(r.json.table.indexes.map((i) => [i.name, i.keySchema[0].attribute]), [['by-owner', 'owner']]);
  const store = server.store({ table: { name: 'od-sessions' }, users: { of: (s) => s.user, attribute: 'owner', index: 'by-owner' } });
  await store.set('x1', { user: 7 }, 60000);
  await store.set('x2', { user: 7 }, 60000);
  const list = await cli(server, ['sessions', '7', ...flags, '--json'], { seen });
  assert.deepEqual(list.json.sessions.map((s) => s.key).sort(), ['x1', 'x2']);
  const revoked = await cli(server, ['revoke', '7', ...flags], { seen });
  assert.equal(revoked.stdout, 'destroyed 2 sessions of user "7" in table "od-sessions"\n');
});
