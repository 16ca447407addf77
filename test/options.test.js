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
