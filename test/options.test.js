'use strict';
// Option checks (TypeError/RangeError naming the option), defaults, and region/endpoint resolution.
const test = require('node:test');
const assert = require('node:assert/strict');
const { resolveOptions, DEFAULTS } = require('../lib/config');
const DynamoDBStore = require('..');

const base = { dynamoConfig: { region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b' } };

test('defaults are the JavaScript package\'s', () => {
  const s = resolveOptions({ dynamoConfig: { region: 'eu-west-1' } }, {});
  assert.equal(s.tableName, 'sessions');
  assert.equal(s.hashKey, 'sessionId');
  assert.equal(s.ttlKey, 'expires');
  assert.equal(s.useTtlExpired, true);
  assert.equal(s.readCapacityUnits, 5);
  assert.equal(s.writeCapacityUnits, 5);
  assert.equal(s.autoCreate, false);
  assert.equal(s.consistentRead, true);
  assert.equal(s.sessionMaxAge, 86400000);
  assert.equal(s.endpoint, 'https://dynamodb.eu-west-1.amazonaws.com/');
  assert.equal(s.host, 'dynamodb.eu-west-1.amazonaws.com');
  assert.equal(s.region, 'eu-west-1');
  assert.equal(DEFAULTS.maxAttempts, s.maxAttempts);
});

test('wrong option types throw a TypeError naming the option', () => {
  const cases = [
    [{ table: 'sessions' }, /option table must be an object/],
    [{ table: { name: 5 } }, /option table\.name must be a string/],
    [{ table: { hashKey: {} } }, /option table\.hashKey must be a string/],
    [{ table: { ttlKey: null } }, /option table\.ttlKey must be a string/],
    [{ table: { useTtlExpired: 'yes' } }, /option table\.useTtlExpired must be a boolean/],
    [{ table: { autoCreate: 1 } }, /option table\.autoCreate must be a boolean/],
    [{ table: { readCapacityUnits: 'many' } }, /option table\.readCapacityUnits must be a whole number/],
    [{ table: { writeCapacityUnits: true } }, /option table\.writeCapacityUnits must be a whole number/],
    [{ table: { readCapacityUnits: 1.5 } }, /option table\.readCapacityUnits must be a whole number/],
    [{ dynamoConfig: [] }, /option dynamoConfig must be an object/],
    [{ dynamoConfig: { region: 5 } }, /option dynamoConfig\.region must be a string/],
    [{ dynamoConfig: { region: 'us-east-1', endpoint: 8000 } }, /option dynamoConfig\.endpoint must be a string/],
    [{ dynamoConfig: { region: 'us-east-1', endpoint: 'http://[bad' } }, /option dynamoConfig\.endpoint is not a URL/],
    [{ dynamoConfig: { region: 'us-east-1', endpoint: 'ftp://x' } }, /dynamoConfig\.endpoint must be an http or https URL/],
    [{ dynamoConfig: { region: 'us-east-1', maxRetries: 'x' } }, /option dynamoConfig\.maxRetries must be a whole number/],
    [{ dynamoConfig: { region: 'us-east-1', httpOptions: { timeout: '5s' } } }, /dynamoConfig\.httpOptions\.timeout must be a number/],
    [{ dynamoConfig: { region: 'us-east-1', sslEnabled: 'no' } }, /option dynamoConfig\.sslEnabled must be a boolean/],
    [{ consistentRead: 'true' }, /option consistentRead must be a boolean/],
    [{ sessionMaxAge: '1d' }, /option sessionMaxAge must be a number/],
    ['options', /options must be an object/],
  ];
  for (const [opts, re] of cases) {
    const o = typeof opts === 'object' ? { ...opts, dynamoConfig: { region: 'us-east-1', ...(opts.dynamoConfig || {}) } } : opts;
    if (Array.isArray(opts.dynamoConfig)) o.dynamoConfig = opts.dynamoConfig;
    assert.throws(() => new DynamoDBStore(o), (e) => e instanceof TypeError && re.test(e.message), `${JSON.stringify(opts)} should throw ${re}`);
  }
  assert.throws(() => new DynamoDBStore(base, 'not a function'), /callback must be a function/);
});

test('out-of-range values throw a RangeError naming the option', () => {
  const cases = [
    [{ table: { name: 'ab' } }, /table\.name/],
    [{ table: { name: 'has space' } }, /table\.name/],
    [{ table: { hashKey: '' } }, /table\.hashKey must be 1 to 255 bytes/],
    [{ table: { readCapacityUnits: 0 } }, /table\.readCapacityUnits must be 1 or more/],
    [{ table: { billingMode: 'FREE' } }, /table\.billingMode/],
    [{ table: { hashKey: 'expires' } }, /different names/],
    [{ sessionMaxAge: -5 }, /sessionMaxAge/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(() => new DynamoDBStore({ ...base, ...opts }), (e) => e instanceof RangeError && re.test(e.message), JSON.stringify(opts));
  }
});

test('the caller\'s options object is not modified', () => {
  const opts = { table: { name: 'sessions', readCapacityUnits: '7' }, dynamoConfig: { region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b' } };
  const copy = JSON.parse(JSON.stringify(opts));
  const s = new DynamoDBStore(opts);
  s.close();
  assert.deepEqual(opts, copy);
});

test('region and endpoint resolution', () => {
  const r = (dc, env = {}) => resolveOptions({ dynamoConfig: dc }, env);
  assert.equal(r({ region: 'local' }).endpoint, 'http://localhost:8000/');
  assert.equal(r({ region: 'local-env' }).isLocal, true);
  assert.equal(r({ region: 'localhost', endpoint: 'http://127.0.0.1:9000' }).endpoint, 'http://127.0.0.1:9000/');
  assert.equal(r({ region: 'cn-north-1' }).endpoint, 'https://dynamodb.cn-north-1.amazonaws.com.cn/');
  assert.equal(r({ region: 'us-east-1', useFipsEndpoint: true }).endpoint, 'https://dynamodb-fips.us-east-1.amazonaws.com/');
  assert.equal(r({ region: 'us-east-1', useDualstackEndpoint: true }).endpoint, 'https://dynamodb.us-east-1.api.aws/');
  assert.equal(r({ region: 'us-east-1', sslEnabled: false }).endpoint, 'http://dynamodb.us-east-1.amazonaws.com/');
  assert.equal(r({}, { AWS_REGION: 'ap-south-1' }).endpoint, 'https://dynamodb.ap-south-1.amazonaws.com/');
  assert.equal(r({}, { AWS_DEFAULT_REGION: 'sa-east-1' }).region, 'sa-east-1');
  assert.equal(r({ region: 'eu-west-1' }, { AWS_REGION: 'ap-south-1' }).region, 'eu-west-1');
  assert.equal(r({ region: 'us-west-2' }, { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:7000' }).endpoint, 'http://127.0.0.1:7000/');
  assert.equal(r({ region: 'us-west-2' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:7001' }).host, '127.0.0.1:7001');
  assert.equal(r({ endpoint: 'https://dynamodb.eu-central-1.amazonaws.com' }).region, 'eu-central-1');
  assert.equal(r({ region: 'us-east-1', endpoint: 'https://example.com:443/' }).host, 'example.com');
  assert.throws(() => r({}, {}), (e) => e instanceof TypeError && /no AWS region/.test(e.message));
});

test('timeouts and retries: our names and aws-sdk v2\'s', () => {
  const r = (dc) => resolveOptions({ dynamoConfig: { region: 'us-east-1', ...dc } }, {});
  assert.equal(r({ maxRetries: 0 }).maxAttempts, 1);
  assert.equal(r({ maxRetries: 4 }).maxAttempts, 5);
  assert.equal(r({ maxAttempts: 2, maxRetries: 9 }).maxAttempts, 2);
  assert.equal(r({ httpOptions: { timeout: 1500, connectTimeout: 300 } }).requestTimeout, 1500);
  assert.equal(r({ httpOptions: { connectTimeout: 300 } }).connectTimeout, 300);
  assert.equal(r({ requestTimeout: 700 }).requestTimeout, 700);
});

test('unknown options are named once in a warning, never silently ignored', () => {
  const warnings = [];
  resolveOptions({ dynamoConfig: { region: 'us-east-1', logger: console, httpOptions: { agent: {} } }, table: { nmae: 'x' }, tabel: {} }, {}, (w) => warnings.push(w));
  assert.ok(warnings.some((w) => /dynamoConfig\.logger/.test(w)));
  assert.ok(warnings.some((w) => /dynamoConfig\.httpOptions\.agent/.test(w)));
  assert.ok(warnings.some((w) => /table\.nmae/.test(w)));
  assert.ok(warnings.some((w) => /option tabel/.test(w)));
});

test('credentials and region from the environment', async () => {
  const saved = { ...process.env };
  try {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
    process.env.AWS_REGION = 'eu-north-1';
    delete process.env.AWS_PROFILE;
    const s = new DynamoDBStore();
    const shown = require('node:util').inspect(s);
    assert.match(shown, /eu-north-1/);
    await new Promise((r) => setImmediate(r));
    assert.match(require('node:util').inspect(s), /AKIDENV/);
    assert.doesNotMatch(require('node:util').inspect(s), /env-secret/);
    await s.close();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

// ---------------------------------------------------------------------------------------------
// Limits and values that reach C or HTTP headers

const { LIMITS, resolveProxy, hasLoneSurrogate, hasLoneSurrogateByRegex } = require('../lib/config');
const { useServer } = require('./helpers');
const binding = require('../lib/binding');

/** Runs fn with process.env replaced by exactly `env` (restored afterwards, even on failure). */
async function withProcessEnv(env, fn) {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** Replaces binding.NativeStore while fn runs: records every config, and control() throws. */
async function withRecordedNative(fn) {
  const Real = binding.NativeStore;
  const configs = [];
  binding.NativeStore = class extends Real {
    constructor(config) {
      configs.push(config);
      super(config);
    }

    control() {
      throw new Error('native.control must not be used');
    }
  };
  try {
    return await fn(configs);
  } finally {
    binding.NativeStore = Real;
  }
}

test('numeric options have an upper bound: beyond it a RangeError names the option and the limit', () => {
  assert.deepEqual({ ...LIMITS }, {
    readCapacityUnits: 1e12, writeCapacityUnits: 1e12, sessionMaxAge: 100 * 365 * 86400000, maxAttempts: 100,
    connectTimeout: 2 ** 31 - 1, requestTimeout: 2 ** 31 - 1, operationTimeout: 2 ** 31 - 1, maxConnections: 65536,
    touchAfter: 365 * 86400,
  });
  const r = (opts) => resolveOptions({ ...opts, dynamoConfig: { region: 'us-east-1', ...opts.dynamoConfig } }, {});
  const cases = [
    [{ dynamoConfig: { requestTimeout: 1e300 } }, 'dynamoConfig.requestTimeout', LIMITS.requestTimeout],
    [{ dynamoConfig: { requestTimeout: 2 ** 31 } }, 'dynamoConfig.requestTimeout', LIMITS.requestTimeout],
    [{ dynamoConfig: { httpOptions: { timeout: 2 ** 31 } } }, 'dynamoConfig.httpOptions.timeout', LIMITS.requestTimeout],
    [{ dynamoConfig: { connectTimeout: 2 ** 32 } }, 'dynamoConfig.connectTimeout', LIMITS.connectTimeout],
    [{ dynamoConfig: { httpOptions: { connectTimeout: 1e20 } } }, 'dynamoConfig.httpOptions.connectTimeout', LIMITS.connectTimeout],
    [{ dynamoConfig: { operationTimeout: Number.MAX_VALUE } }, 'dynamoConfig.operationTimeout', LIMITS.operationTimeout],
    [{ dynamoConfig: { maxAttempts: 101 } }, 'dynamoConfig.maxAttempts', LIMITS.maxAttempts],
    [{ dynamoConfig: { maxAttempts: 2 ** 32 + 1 } }, 'dynamoConfig.maxAttempts', LIMITS.maxAttempts],
    [{ dynamoConfig: { maxRetries: 100 } }, 'dynamoConfig.maxRetries', LIMITS.maxAttempts - 1],
    [{ dynamoConfig: { maxConnections: 65537 } }, 'dynamoConfig.maxConnections', LIMITS.maxConnections],
    [{ table: { readCapacityUnits: 1e12 + 1 } }, 'table.readCapacityUnits', LIMITS.readCapacityUnits],
    [{ table: { readCapacityUnits: '1e300' } }, 'table.readCapacityUnits', LIMITS.readCapacityUnits],
    [{ table: { writeCapacityUnits: 2 ** 63 } }, 'table.writeCapacityUnits', LIMITS.writeCapacityUnits],
    [{ sessionMaxAge: LIMITS.sessionMaxAge + 1 }, 'sessionMaxAge', LIMITS.sessionMaxAge],
    [{ sessionMaxAge: 1e300 }, 'sessionMaxAge', LIMITS.sessionMaxAge],
  ];
  for (const [opts, name, limit] of cases) {
    assert.throws(() => r(opts), (e) => e instanceof RangeError && e.message.startsWith(`option ${name} must be at most ${limit}`), `${JSON.stringify(opts)}`);
  }
  // The limits themselves are allowed.
  const s = r({
    table: { readCapacityUnits: LIMITS.readCapacityUnits, writeCapacityUnits: String(LIMITS.writeCapacityUnits) },
    sessionMaxAge: LIMITS.sessionMaxAge,
    dynamoConfig: { requestTimeout: LIMITS.requestTimeout, connectTimeout: LIMITS.connectTimeout, operationTimeout: LIMITS.operationTimeout, maxAttempts: LIMITS.maxAttempts, maxConnections: LIMITS.maxConnections },
  });
  assert.deepEqual([s.readCapacityUnits, s.writeCapacityUnits, s.sessionMaxAge, s.requestTimeout, s.connectTimeout, s.operationTimeout, s.maxAttempts, s.maxConnections],
    [1e12, 1e12, LIMITS.sessionMaxAge, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 100, 65536]);
  assert.equal(r({ dynamoConfig: { maxRetries: 99 } }).maxAttempts, 100);
  // A timeout just under the limit is rounded up to it, not past it.
  assert.equal(r({ dynamoConfig: { requestTimeout: LIMITS.requestTimeout - 0.5 } }).requestTimeout, LIMITS.requestTimeout);
  // The constructor throws the same.
  assert.throws(() => new DynamoDBStore({ ...base, dynamoConfig: { ...base.dynamoConfig, requestTimeout: 1e300 } }), RangeError);
});

test('set(): a maxAge that is not finite or would overflow the expiry rejects with a RangeError; nothing is sent', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store();
  const before = server.stats.requests;
  for (const maxAge of [Infinity, -Infinity, NaN, 1e300, -1e300, LIMITS.sessionMaxAge + 1, -LIMITS.sessionMaxAge - 1]) {
    let p;
    assert.doesNotThrow(() => { p = store.set('k', { a: 1 }, maxAge); }, 'rejects, never throws');
    await assert.rejects(p, (e) => e instanceof RangeError && /maxAge must be a finite number of ms/.test(e.message), String(maxAge));
  }
  await assert.rejects(store.set('k', { a: 1 }, '60000'), TypeError);
  assert.equal(server.stats.requests, before, 'no request was sent');
  // The limit itself works: the expiry is 100 years ahead.
  await store.set('k', { a: 1 }, LIMITS.sessionMaxAge);
  const expires = Number((await server.getItem('sessions', 'sessionId', 'k')).expires.N);
  assert.ok(Math.abs(expires - (Date.now() + LIMITS.sessionMaxAge) / 1000) < 5, `expires ${expires}`);
  assert.deepEqual(await store.get('k'), { a: 1 });
});

test('set(): the expiry is rounded up, so a session of 1 to 999 ms is found by an immediate get', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store();
  for (const maxAge of [1, 2, 10, 100, 500, 998, 999]) {
    // Start early in a second, so that the set and the get happen within the same second: the
    // expiry is then found (or not) by the rounding alone, whatever the second boundary.
    const into = Date.now() % 1000;
    if (into > 800) await new Promise((resolve) => setTimeout(resolve, 1000 - into));
    const key = `short-${maxAge}`;
    const t0 = Date.now();
    await store.set(key, { maxAge }, maxAge);
    assert.deepEqual(await store.get(key), { maxAge }, `maxAge ${maxAge} ms`);
    const expires = Number((await server.getItem('sessions', 'sessionId', key)).expires.N);
    assert.ok(expires > Math.floor(t0 / 1000), `maxAge ${maxAge}: expires ${expires} is after the second it was written in`);
    assert.ok(expires <= Math.ceil((Date.now() + maxAge) / 1000), `maxAge ${maxAge}: expires ${expires}`);
  }
});

test('attribute-name options: a NUL or a lone surrogate is a RangeError naming the option', () => {
  const cases = [
    [{ table: { hashKey: 'session\u0000Id' } }, /option table\.hashKey must not contain a NUL character/],
    [{ table: { ttlKey: 'expires\u0000' } }, /option table\.ttlKey must not contain a NUL character/],
    [{ table: { hashKey: '\u0000' } }, /option table\.hashKey must not contain a NUL/],
    [{ table: { hashKey: 'id\ud800' } }, /option table\.hashKey contains a lone UTF-16 surrogate/],
    [{ table: { ttlKey: '\udc00ttl' } }, /option table\.ttlKey contains a lone UTF-16 surrogate/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(() => new DynamoDBStore({ ...base, ...opts }), (e) => e instanceof RangeError && re.test(e.message), JSON.stringify(opts));
  }
  // Other characters, surrogate pairs included, are fine.
  const s = resolveOptions({ ...base, table: { hashKey: 'id 🔑', ttlKey: 'exp\tires' } }, {});
  assert.equal(s.hashKey, 'id 🔑');
});

test('lone surrogates in keys are refused without String.prototype.isWellFormed too (Node 18)', async () => {
  const samples = [
    ['plain', false], ['', false], ['😀', false], ['a😀b', false], ['\ud83d\ude00\ud83d\ude00', false],
    ['\ud800', true], ['\udc00', true], ['a\ud800', true], ['a\udbff', true], ['\ud800b', true], ['x\udfffy', true],
    ['\ude00\ud83d', true], ['\ud83d\ud83d\ude00', true], ['\ud83d\ude00\ude00', true], ['😀\ud800', true],
  ];
  for (const [s, lone] of samples) {
    assert.equal(hasLoneSurrogateByRegex(s), lone, JSON.stringify(s));
    if (typeof s.isWellFormed === 'function') assert.equal(!s.isWellFormed(), lone, `regex and isWellFormed agree on ${JSON.stringify(s)}`);
  }
  const store = new DynamoDBStore({ ...base, dynamoConfig: { ...base.dynamoConfig, endpoint: 'http://127.0.0.1:1' } });
  const descriptor = Object.getOwnPropertyDescriptor(String.prototype, 'isWellFormed');
  try {
    delete String.prototype.isWellFormed; // as on Node 18
    assert.equal('a\ud800'.isWellFormed, undefined);
    for (const [s, lone] of samples) assert.equal(hasLoneSurrogate(s), lone, JSON.stringify(s));
    // 'a\ud800' and 'a\udbff' would both be sent as 'a\ufffd' (one item): both are refused.
    for (const key of ['a\ud800', 'a\udbff', '\udc00']) {
      for (const op of [() => store.get(key), () => store.set(key, { a: 1 }, 1000), () => store.destroy(key)]) {
        await assert.rejects(op(), (e) => e instanceof RangeError && /lone surrogate/.test(e.message), JSON.stringify(key));
      }
    }
  } finally {
    if (descriptor) Object.defineProperty(String.prototype, 'isWellFormed', descriptor);
    await store.close();
  }
});

test('region: a-z, 0-9 and \'-\', at most 64 characters, from every source, else a TypeError naming it', (t) => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbstore-region-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  fs.mkdirSync(path.join(home, '.aws'));
  const r = (dc, env = {}) => resolveOptions({ dynamoConfig: dc }, { HOME: home, ...env });
  const bad = ['attacker.example/x#', 'us-east-1\r\nX: y', 'US-EAST-1', 'us_east_1', 'a'.repeat(65), 'eu-west-1 ', 'é', 'us-east-1\u0000'];
  for (const region of bad) {
    const sources = [
      [() => r({ region }), /^option dynamoConfig\.region must be an AWS region name/],
      [() => r({}, { AWS_REGION: region }), /^AWS_REGION must be an AWS region name/],
      [() => r({}, { AWS_DEFAULT_REGION: region }), /^AWS_DEFAULT_REGION must be an AWS region name/],
    ];
    if (!/[\r\n]/.test(region) && region.trim() === region) { // (an INI value has no line break, and is trimmed)
      sources.push([() => {
        fs.writeFileSync(path.join(home, '.aws', 'config'), `[profile p]\nregion = ${region}\n`);
        return r({ profile: 'p' });
      }, /^region in profile "p" of the AWS config file must be an AWS region name/]);
    }
    for (const [fn, re] of sources) {
      assert.throws(fn, (e) => e instanceof TypeError && re.test(e.message) && !/[\r\n]/.test(e.message), JSON.stringify(region));
    }
  }
  assert.throws(() => new DynamoDBStore({ dynamoConfig: { region: 'attacker.example/x#', accessKeyId: 'a', secretAccessKey: 'b' } }), TypeError);
  // The region in an AWS endpoint's host name is checked the same way.
  assert.throws(() => r({ endpoint: 'https://dynamodb.us_east_1.amazonaws.com' }), (e) => e instanceof TypeError && /region in the host name of option dynamoConfig\.endpoint/.test(e.message));
  assert.throws(() => r({ endpoint: `https://dynamodb.${'a'.repeat(65)}.amazonaws.com` }), TypeError);
  assert.throws(() => r({}, { AWS_ENDPOINT_URL: 'https://dynamodb.EU_WEST_1.api.aws' }), (e) => e instanceof TypeError && /of AWS_ENDPOINT_URL/.test(e.message));
  assert.equal(r({ endpoint: 'https://dynamodb-fips.us-gov-west-1.amazonaws.com' }).region, 'us-gov-west-1');
  assert.equal(r({ endpoint: 'https://dynamodb.cn-north-1.amazonaws.com.cn' }).region, 'cn-north-1');
  assert.equal(r({ endpoint: 'https://dynamodb.eu-west-1.amazonaws.com.example.net' }).region, 'us-east-1', 'not an AWS host name');
  // A line break in an endpoint is refused, not silently dropped by the URL parser.
  assert.throws(() => r({ region: 'us-east-1', endpoint: 'http://127.0.0.1:8000/\r\nX: y' }), (e) => e instanceof TypeError && /dynamoConfig\.endpoint contains a control character/.test(e.message));
  assert.throws(() => r({ region: 'us-east-1' }, { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000\n' }), /AWS_ENDPOINT_URL_DYNAMODB contains a control character/);
  // Good ones.
  for (const region of ['us-east-1', 'local', 'ap-southeast-4', 'a'.repeat(64)]) assert.equal(r({ region, endpoint: 'http://127.0.0.1:1' }).region, region);
});

test('proxy variables: libcurl\'s precedence, resolved from the environment passed in', () => {
  const https = (env) => resolveProxy(env, true);
  const http = (env) => resolveProxy(env, false);
  const all = {
    https_proxy: 'http://lower-https:1', HTTPS_PROXY: 'http://upper-https:2', http_proxy: 'http://lower-http:3', HTTP_PROXY: 'http://upper-http:4',
    all_proxy: 'http://lower-all:5', ALL_PROXY: 'http://upper-all:6', no_proxy: 'lower.example', NO_PROXY: 'upper.example',
  };
  const without = (...names) => Object.fromEntries(Object.entries(all).filter(([k]) => !names.includes(k)));
  assert.deepEqual(https(all), { proxy: 'http://lower-https:1', noProxy: 'lower.example' });
  assert.equal(https(without('https_proxy')).proxy, 'http://upper-https:2');
  assert.equal(https(without('https_proxy', 'HTTPS_PROXY')).proxy, 'http://lower-all:5', 'http_proxy is not for https endpoints');
  assert.equal(https(without('https_proxy', 'HTTPS_PROXY', 'all_proxy')).proxy, 'http://upper-all:6');
  assert.equal(https({ http_proxy: 'http://x:1', HTTP_PROXY: 'http://y:1' }).proxy, undefined);
  assert.equal(http(all).proxy, 'http://lower-http:3');
  assert.equal(http(without('http_proxy')).proxy, 'http://lower-all:5', 'HTTP_PROXY is never used (as in libcurl)');
  assert.equal(http(without('http_proxy', 'all_proxy')).proxy, 'http://upper-all:6');
  assert.equal(http({ HTTP_PROXY: 'http://y:1', https_proxy: 'http://z:1' }).proxy, undefined);
  assert.equal(http(without('no_proxy')).noProxy, 'upper.example');
  assert.deepEqual(https({}), { proxy: undefined, noProxy: undefined });
  assert.deepEqual(https({ https_proxy: '', HTTPS_PROXY: 'http://p:1', no_proxy: '', NO_PROXY: '*' }), { proxy: 'http://p:1', noProxy: '*' }, 'empty means not set');
  // resolveOptions picks by the endpoint's scheme.
  const r = (dc, env) => resolveOptions({ dynamoConfig: { region: 'us-east-1', ...dc } }, env);
  assert.equal(r({}, all).proxy, 'http://lower-https:1');
  assert.equal(r({ endpoint: 'http://127.0.0.1:8000' }, all).proxy, 'http://lower-http:3');
  assert.equal(r({ endpoint: 'http://127.0.0.1:8000' }, all).noProxy, 'lower.example');
  assert.equal(r({}, {}).proxy, undefined);
});

test('proxy values: libcurl\'s forms are accepted; other schemes and control characters are a TypeError naming the variable, not the value', () => {
  for (const proxy of ['proxy:3128', 'proxy', 'http://proxy:3128', 'HTTP://proxy:3128/', 'https://proxy.example:443', 'socks5h://127.0.0.1:1080',
    'socks4://p:1080', 'socks4a://p', 'socks5://p:1', 'socks://p:1', 'http://user:pa%40ss@proxy:3128', '[::1]:3128', 'http://[fd00::1]:8080', '10.0.0.1:8080']) {
    assert.equal(resolveProxy({ https_proxy: proxy }, true).proxy, proxy, proxy);
  }
  const refused = [
    ['ftp://proxy:21', /scheme "ftp"/], ['file:///etc/passwd', /scheme "file"/],
    ['http://user:SECRETPW@proxy:3128\r\nX-Injected: 1', /control character/], ['http://user:SECRETPW@pro\txy:3128', /control character/],
    ['http://user:SECRETPW@pro xy:3128', /white space/], ['http://user:SECRETPW@:3128', /not a URL|no host/], ['http://proxy:99999', /not a URL/],
  ];
  for (const [proxy, re] of refused) {
    for (const name of ['https_proxy', 'HTTPS_PROXY', 'ALL_PROXY']) {
      assert.throws(() => resolveOptions({ dynamoConfig: { region: 'us-east-1' } }, { [name]: proxy }),
        (e) => e instanceof TypeError && e.message.startsWith(`${name} `) && re.test(e.message) && !e.message.includes('SECRETPW'), `${name}=${JSON.stringify(proxy)}`);
    }
  }
  assert.throws(() => resolveOptions({ dynamoConfig: { region: 'us-east-1', endpoint: 'http://127.0.0.1:1' } }, { http_proxy: 'gopher://p:70' }), /^TypeError: http_proxy has the scheme "gopher"/);
  assert.throws(() => resolveProxy({ NO_PROXY: 'a.example,b.example\r\nX: y' }, true), (e) => e instanceof TypeError && /^NO_PROXY contains a control character/.test(e.message));
  assert.equal(resolveProxy({ no_proxy: ' a.example, .b.example ,10.0.0.0/8' }, true).noProxy, ' a.example, .b.example ,10.0.0.0/8');
});

test('the store hands the resolved proxy and noProxy to the native core', async () => {
  await withRecordedNative(async (configs) => {
    await withProcessEnv({ https_proxy: 'http://127.0.0.1:9', NO_PROXY: 'internal.example', http_proxy: 'http://127.0.0.1:8' }, async () => {
      const a = new DynamoDBStore(base);
      const b = new DynamoDBStore({ ...base, dynamoConfig: { ...base.dynamoConfig, endpoint: 'http://127.0.0.1:1' } });
      await Promise.all([a.close(), b.close()]);
    });
    await withProcessEnv({}, async () => {
      await new DynamoDBStore(base).close();
    });
    assert.equal(configs.length, 3);
    assert.equal(configs[0].proxy, 'http://127.0.0.1:9');
    assert.equal(configs[0].noProxy, 'internal.example');
    assert.equal(configs[1].proxy, 'http://127.0.0.1:8');
    assert.equal(configs[2].proxy, undefined);
    assert.equal(configs[2].noProxy, undefined);
  });
  // A proxy variable libcurl would not take makes the constructor throw.
  await withProcessEnv({ HTTPS_PROXY: 'ftp://p:21' }, async () => {
    assert.throws(() => new DynamoDBStore(base), (e) => e instanceof TypeError && /^HTTPS_PROXY /.test(e.message));
  });
});
