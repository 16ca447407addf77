'use strict';
// A misbehaving server must never make the store give one user another user's session. Against
// test/support/raw-server.js (a byte-level fake DynamoDB): answers that cross on a keep-alive
// connection (late duplicates, surplus bytes, unasked answers), answers whose framing is ambiguous
// under RFC 9112, header injection through credentials and region, and 200 answers that are not
// JSON. Everything on 127.0.0.1, port 0; the scenarios run concurrently, each with its own server.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { DynamoDBStore, runtimeEnv } = require('./helpers');
const { DynamoDBStoreError } = DynamoDBStore;
const { startRawServer } = require('./support/raw-server');

const USERS = ['alice', 'bob', 'carol'];
const GAPS = [0, 50, 300, 700, 1500, 2000];
const HOUR_MS = 3600 * 1000;

// letter, raw-server kind, whether the answer's framing is ambiguous (then the connection that
// carried it must never carry another request)
const MATRIX = [
  ['a', 'late-duplicate', false],
  ['b', 'long-body', false],
  ['c', '204-then-answer', false],
  ["c'", '204-then-body', false],
  ['d', '500-then-200', false],
  ['e', 'unsolicited', false],
  ['f', 'te-and-cl', true],
  ['g', 'http10-chunked', true],
  ['h', 'te-gzip-chunked', true],
  ['i', 'long-header', true],
  ['j', 'bare-cr', true],
  ['k', 'trailers', false],
  ["k'", 'trailer-smuggle', true],
  ['l', 'short-cl', false],
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function storeOptions(server, dynamoConfig = {}) {
  return {
    table: { name: 'sessions' },
    dynamoConfig: {
      region: 'us-east-1', endpoint: server.endpoint, accessKeyId: 'AKIDRAWTEST', secretAccessKey: 'raw-secret',
      requestTimeout: 1000, operationTimeout: 3000, connectTimeout: 1000, ...dynamoConfig,
    },
  };
}

/** What get(key) gave: own session, another user's, something else, or an error. */
async function outcome(store, key) {
  try {
    const v = await store.get(key);
    if (v && typeof v === 'object' && v.user === key) return { key, kind: 'own' };
    if (v && typeof v === 'object' && typeof v.user === 'string') return { key, kind: 'crossed', user: v.user };
    return { key, kind: 'wrong', value: v };
  } catch (err) {
    if (err instanceof DynamoDBStoreError) return { key, kind: 'error', code: err.code, message: err.message };
    return { key, kind: 'bad-error', name: err && err.name, message: err && err.message };
  }
}

/** A request head as the server parsed it, with the characters that matter made visible. */
function headText(req) {
  return req.rawHead.replace(/\r(?!\n)/g, '\\r').replace(/\0/g, '\\0');
}

function show(o) {
  switch (o.kind) {
    case 'own': return `${o.key}: own session`;
    case 'crossed': return `${o.key}: GOT ${o.user.toUpperCase()}'S SESSION`;
    case 'wrong': return `${o.key}: resolved ${JSON.stringify(o.value)}`;
    case 'error': return `${o.key}: DynamoDBStoreError ${o.code} (${o.message})`;
    default: return `${o.key}: ${o.name} ${o.message}`;
  }
}

async function scenario(kind, gap) {
  const server = await startRawServer();
  const store = new DynamoDBStore(storeOptions(server, { maxConnections: 1 }));
  try {
    for (const u of USERS) await store.set(u, { user: u }, HOUR_MS); // the one connection now exists, idle
    // (e): the unasked answer comes in the middle of the idle time (or with the next request)
    const delayMs = kind === 'unsolicited' ? Math.max(5, gap / 2) : undefined;
    const arm = server.misbehaveOnce(kind, { key: 'alice', surplusKey: 'alice', delayMs });
    const gets = [await outcome(store, 'alice')];
    await sleep(gap);
    for (const k of ['bob', 'carol', 'bob', 'carol']) gets.push(await outcome(store, k));
    server.behave();
    // recovery: the server behaves again; each key must come back as its own (retries allowed)
    const recovery = [];
    for (const k of USERS) {
      for (let attempt = 0; attempt < 4; attempt++) {
        const o = await outcome(store, k);
        o.after = true;
        recovery.push(o);
        if (o.kind !== 'error') break;
      }
    }
    const reused = [...server.stats.reusedAfterAmbiguous]; // during the misbehaviour or after it
    return { arm, gets, recovery, reused, connections: server.stats.connections };
  } finally {
    await store.close().catch(() => {});
    await server.close();
  }
}

test('adversarial server', { concurrency: true }, async (top) => {
  await Promise.all([
    // ---------------------------------------------------------------- 1 + 2: crossing and framing
    top.test('crossing and framing matrix: every get gives its own session or a DynamoDBStoreError', { concurrency: true }, async (t) => {
      const runs = [];
      for (const [letter, kind, ambiguous] of MATRIX) {
        for (const gap of GAPS) {
          runs.push(t.test(`(${letter}) ${kind}, next request ${gap} ms later`, { timeout: 30000 }, async (tt) => {
            const r = await scenario(kind, gap);
            const where = `at gap ${gap} for kind (${letter}) ${kind}`;
            const transcript = `gets: ${r.gets.map(show).join('; ')} | recovery: ${r.recovery.map(show).join('; ')}` +
              ` | connections: ${r.connections}${r.reused.length ? ` | reused after the ambiguous answer for: ${r.reused.map((x) => `${x.target} ${x.key}`).join(', ')}` : ''}`;
            tt.diagnostic(transcript);
            assert.equal(r.arm.fired, 1, `the misbehaviour did not fire ${where}`);
            // never another user's session, during the misbehaviour or after it
            const crossed = [...r.gets, ...r.recovery].filter((o) => o.kind === 'crossed');
            assert.equal(crossed.length, 0,
              `${crossed.map((o) => `${o.key} got ${o.user}'s session${o.after ? ' (after the server behaved again)' : ''}`).join(', ')} ${where}\n${transcript}`);
            // each get: its own session or a DynamoDBStoreError (not undefined, not a SyntaxError)
            const bad = r.gets.filter((o) => o.kind !== 'own' && o.kind !== 'error');
            assert.equal(bad.length, 0, `${bad.map(show).join('; ')} ${where}\n${transcript}`);
            // the store recovers: the last answer for each key is its own session
            for (const u of USERS) {
              const last = r.recovery.filter((o) => o.key === u).pop();
              assert.equal(last && last.kind, 'own', `after the misbehaviour, ${last ? show(last) : `${u}: nothing`} ${where}\n${transcript}`);
            }
            // an answer whose framing is ambiguous: its connection is never used again
            if (ambiguous) {
              assert.equal(r.reused.length, 0,
                `the connection that carried the ambiguous (${letter}) answer was used again for ${r.reused.map((x) => `${x.target} ${x.key}`).join(', ')} ${where}\n${transcript}`);
            }
          }));
        }
      }
      await Promise.all(runs);
    }),

    // ---------------------------------------------------------------- 3: header injection
    top.test('header injection through credentials and region', { concurrency: true }, async (t) => {
      await Promise.all([
        ...optionInjectionCases().map(([name, dc]) => t.test(`${name}: the constructor throws a TypeError, nothing is sent`, async () => {
          const server = await startRawServer();
          try {
            let threw = null;
            let store = null;
            try {
              store = new DynamoDBStore(storeOptions(server, { maxAttempts: 1, ...dc }));
            } catch (err) {
              threw = err;
            }
            let observed = '';
            if (store) {
              const o = await outcome(store, 'k');
              await store.close().catch(() => {});
              await server.allClosed();
              observed = `; the store was created and get() gave ${show(o)}; the server received ${server.stats.requests} request(s)` +
                `${server.requests.length ? `; first head:\n${headText(server.requests[0])}` : ''}`;
            }
            assert.ok(threw instanceof TypeError, `constructor ${threw ? `threw ${threw.name}: ${threw.message}` : 'did not throw'}${observed}`);
            assert.equal(server.stats.connections, 0, `connections made: ${server.stats.connections}`);
            assert.equal(server.stats.requests, 0);
          } finally {
            await server.close();
          }
        })),

        t.test("a region that would move the endpoint ('attacker.example/x#', no endpoint option): TypeError", async () => {
          let threw = null;
          let store = null;
          try {
            store = new DynamoDBStore({ table: { name: 'sessions' }, dynamoConfig: { region: 'attacker.example/x#', accessKeyId: 'AKID', secretAccessKey: 's' } });
          } catch (err) {
            threw = err;
          }
          const endpoint = store ? store.toJSON().endpoint : null;
          if (store) await store.close(); // no request is ever made: it would go to that host
          assert.ok(threw instanceof TypeError, `constructor ${threw ? `threw ${threw.name}` : `did not throw; its endpoint is ${endpoint}`}`);
        }),

        ...providerInjectionCases().map(([name, creds]) => t.test(`${name}: the first operation rejects with a CredentialsError, nothing is sent`, async () => {
          const server = await startRawServer();
          try {
            // no static keys: they would take precedence over dynamoConfig.credentials
            const store = new DynamoDBStore(storeOptions(server, { maxAttempts: 1, accessKeyId: undefined, secretAccessKey: undefined, credentials: async () => creds }));
            const o = await outcome(store, 'k');
            await store.close().catch(() => {});
            await server.allClosed(); // every byte the store sent is parsed: the count is final
            const heads = server.requests.map((r) => `${r.method} ${r.path}${r.headers.some(([n]) => /^x-(injected|smuggled)$/i.test(n)) ? ' [injected header]' : ''}`);
            const seen = `get() gave ${show(o)}; the server parsed ${server.stats.requests} request(s) on ${server.stats.connections} connection(s): ${heads.join(', ')}`;
            assert.ok(server.stats.requests <= 1, `more requests parsed than the store sent: ${seen}`);
            assert.equal(server.stats.requests, 0, seen);
            assert.equal(o.kind, 'error', seen);
            assert.equal(o.code, 'CredentialsError', seen);
            assert.match(o.message, /accessKeyId|secretAccessKey|sessionToken|session token|access key/i, seen);
            assert.doesNotMatch(o.message, /Smuggled|X-Injected/i, `the error must not echo the value: ${o.message}`);
          } finally {
            await server.close();
          }
        })),

        t.test('a session token carrying a complete second request never makes the server parse more requests than the store sent', async () => {
          const server = await startRawServer();
          try {
            let store = null;
            let threw = null;
            try {
              store = new DynamoDBStore(storeOptions(server, { maxAttempts: 1, sessionToken: SMUGGLE }));
            } catch (err) {
              threw = err;
            }
            const results = [];
            if (store) {
              for (let i = 0; i < 2; i++) results.push(await outcome(store, 'k'));
              await store.close().catch(() => {});
              await server.allClosed(); // every byte the store sent is parsed: the count is final
            }
            // the store sends at most one request per get here (maxAttempts 1; a stale connection
            // may move a request once): what the server parsed must not exceed the gets made
            const smuggled = server.requests.filter((r) => r.headers.some(([n]) => /^x-smuggled$/i.test(n)) || r.path === '/smuggled');
            const seen = `the server parsed ${server.stats.requests} request(s) for ${results.length} get(s) (${smuggled.length} smuggled: ${smuggled.map((r) => `${r.method} ${r.path}`).join(', ')}); gets gave ${results.map(show).join('; ')}`;
            assert.ok(server.stats.requests <= results.length, seen);
            assert.equal(smuggled.length, 0, seen);
            assert.ok(threw instanceof TypeError, `constructor ${threw ? `threw ${threw.name}` : 'did not throw'}; ${seen}`);
          } finally {
            await server.close();
          }
        }),

        ...envInjectionCases().map(([name, env]) => t.test(`${name}: the constructor throws a TypeError, nothing is sent (child process)`, async () => {
          const server = await startRawServer();
          try {
            const r = await envChild(server.endpoint, env);
            await server.allClosed(); // the child is gone: everything it sent is parsed
            const seen = `child: ${r.result ? JSON.stringify(r.result) : `no result; stdout ${JSON.stringify(r.stdout.slice(0, 300))}`} (exit ${r.code}${r.stderr ? `, stderr ${r.stderr.slice(0, 300)}` : ''}); ` +
              `the server received ${server.stats.requests} request(s)${server.requests.length ? `; first head:\n${headText(server.requests[0])}` : ''}`;
            assert.ok(r.result, seen);
            assert.equal(r.result.threw && r.result.threw.name, 'TypeError', seen);
            assert.equal(server.stats.connections, 0, seen);
          } finally {
            await server.close();
          }
        })),
      ]);
    }),

    // ---------------------------------------------------------------- 4: 200 answers that are not JSON
    top.test('a 200 answer that is not JSON to UpdateItem or DeleteItem: set() and destroy() reject with InvalidResponse', { concurrency: true }, async (t) => {
      const bodies = [['an HTML page', '<html><body>maintenance</body></html>'], ['truncated JSON', '{"truncated']];
      await Promise.all(bodies.flatMap(([label, body]) => [['UpdateItem', 'set'], ['DeleteItem', 'destroy']].map(([target, method]) =>
        t.test(`${method}() answered by ${label}`, async () => {
          const server = await startRawServer();
          const store = new DynamoDBStore(storeOptions(server));
          try {
            const arm = server.misbehave('body', { target, body, count: 10 }); // every attempt, retries included
            const call = method === 'set' ? store.set('k', { user: 'k' }, HOUR_MS) : store.destroy('k');
            const result = await call.then((v) => ({ resolved: v }), (e) => ({ error: e }));
            assert.ok(arm.fired >= 1, 'the answer was sent');
            assert.ok(result.error, `${method}() resolved (${JSON.stringify(result.resolved)}) although the ${target} answer was ${JSON.stringify(body)}`);
            assert.ok(result.error instanceof DynamoDBStoreError, `${result.error.name}: ${result.error.message}`);
            assert.equal(result.error.code, 'InvalidResponse', result.error.message);
            server.behave();
            await store.set('k', { user: 'k' }, HOUR_MS);
            assert.deepEqual(await store.get('k'), { user: 'k' });
          } finally {
            await store.close().catch(() => {});
            await server.close();
          }
        }))));
    }),
  ]);
});

const SMUGGLE = 'x\r\nContent-Length: 0\r\n\r\nPOST /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nX-Smuggled: yes';

function optionInjectionCases() {
  return [
    ['dynamoConfig.accessKeyId with CRLF', { accessKeyId: 'AKIDRAWTEST\r\nX-Injected: akid' }],
    ['dynamoConfig.accessKeyId with a bare LF', { accessKeyId: 'AKIDRAWTEST\nX-Injected: akid' }],
    ['dynamoConfig.accessKeyId with a bare CR', { accessKeyId: 'AKIDRAWTEST\rX-Injected: akid' }],
    ['dynamoConfig.accessKeyId with NUL', { accessKeyId: 'AKIDRAWTEST\0tail' }],
    ['dynamoConfig.secretAccessKey with CRLF', { secretAccessKey: 'raw-secret\r\nX-Injected: secret' }],
    ['dynamoConfig.secretAccessKey with NUL', { secretAccessKey: 'raw-secret\0tail' }],
    ['dynamoConfig.sessionToken with CRLF', { sessionToken: 'token\r\nX-Injected: token' }],
    ['dynamoConfig.sessionToken with a bare LF', { sessionToken: 'token\nX-Injected: token' }],
    ['dynamoConfig.sessionToken with NUL', { sessionToken: 'token\0tail' }],
    ['dynamoConfig.region with CRLF', { region: 'us-east-1\r\nX-Injected: region' }],
    ['dynamoConfig.region with NUL', { region: 'us-east-1\0tail' }],
    ["dynamoConfig.region 'attacker.example/x#' (with an endpoint)", { region: 'attacker.example/x#' }],
    ['dynamoConfig.credentials object whose sessionToken has CRLF', {
      accessKeyId: undefined, secretAccessKey: undefined, // static keys would take precedence
      credentials: { accessKeyId: 'AKIDRAWTEST', secretAccessKey: 'raw-secret', sessionToken: 'token\r\nX-Injected: object' },
    }],
  ];
}

function providerInjectionCases() {
  return [
    ['an async provider whose sessionToken carries a second request', { accessKeyId: 'AKIDRAWTEST', secretAccessKey: 'raw-secret', sessionToken: SMUGGLE }],
    ['an async provider whose accessKeyId has CRLF', { accessKeyId: 'AKIDRAWTEST\r\nX-Injected: provider', secretAccessKey: 'raw-secret' }],
    ['an async provider whose sessionToken has NUL', { accessKeyId: 'AKIDRAWTEST', secretAccessKey: 'raw-secret', sessionToken: 'token\0tail' }],
  ];
}

function envInjectionCases() {
  const base = { AWS_ACCESS_KEY_ID: 'AKIDRAWTEST', AWS_SECRET_ACCESS_KEY: 'raw-secret', AWS_REGION: 'us-east-1' };
  return [
    ['AWS_ACCESS_KEY_ID with CRLF', { ...base, AWS_ACCESS_KEY_ID: 'AKIDRAWTEST\r\nX-Injected: env' }],
    ['AWS_SECRET_ACCESS_KEY with CRLF', { ...base, AWS_SECRET_ACCESS_KEY: 'raw-secret\r\nX-Injected: env' }],
    ['AWS_SESSION_TOKEN with CRLF', { ...base, AWS_SESSION_TOKEN: 'token\r\nX-Injected: env' }],
    ['AWS_SESSION_TOKEN carrying a second request', { ...base, AWS_SESSION_TOKEN: SMUGGLE }],
    ['AWS_REGION with CRLF', { ...base, AWS_REGION: 'us-east-1\r\nX-Injected: env' }],
    ["AWS_REGION 'attacker.example/x#'", { ...base, AWS_REGION: 'attacker.example/x#' }],
  ];
}

const ENV_CHILD = `
  const Store = require(${JSON.stringify(path.join(__dirname, '..'))});
  const endpoint = process.argv[1];
  const out = {};
  let printed = false;
  const done = () => { if (!printed) { printed = true; process.stdout.write('RESULT ' + JSON.stringify(out) + '\\n'); } };
  process.on('exit', () => { if (!printed) { out.exitedBeforeSettling = true; done(); } });
  let s;
  try {
    s = new Store({ table: { name: 'sessions' }, dynamoConfig: { endpoint, maxAttempts: 1, requestTimeout: 1000, operationTimeout: 2000 } });
  } catch (e) {
    out.threw = { name: e.name, message: e.message };
  }
  if (!s) done();
  else s.get('k').then((v) => { out.get = { value: v === undefined ? '(undefined)' : v }; }, (e) => { out.get = { error: e.name, code: e.code, message: e.message }; })
    .then(() => s.close()).then(done, done);
`;

/** Runs a store in a child process whose environment is exactly env (plus what loading needs). */
function envChild(endpoint, env) {
  return new Promise((resolve) => {
    const childEnv = { PATH: process.env.PATH, HOME: '/nonexistent-home-for-test', AWS_EC2_METADATA_DISABLED: 'true', ...runtimeEnv(), ...env };
    const child = spawn(process.execPath, ['-e', ENV_CHILD, endpoint], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.on('close', (code) => { // 'close': after stdout is read to its end ('exit' may come first)
      clearTimeout(timer);
      let result = null;
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      try { result = JSON.parse(line.slice(7)); } catch { /* none */ }
      resolve({ code, result, stderr, stdout });
    });
  });
}
