'use strict';
// Validates the store's options (TypeError/RangeError naming the option) and resolves region,
// endpoint and the other settings. Pure apart from reading process.env (passed in) and, when the
// region is not given otherwise, the profile in the AWS config files. Never mutates the caller's objects.

const fs = require('node:fs');
const { profileConfig } = require('./credential-sources/shared-files');

const DEFAULTS = Object.freeze({
  tableName: 'sessions',
  hashKey: 'sessionId',
  ttlKey: 'expires',
  useTtlExpired: true,
  readCapacityUnits: 5,
  writeCapacityUnits: 5,
  autoCreate: false,
  consistentRead: true,
  sessionMaxAge: 86400000, // one day, the lifetime of a maxAge: 'session' session
  maxAttempts: 3,
  connectTimeout: 1000,
  requestTimeout: 3000,
  operationTimeout: 10000,
  maxConnections: 256,
});

// dynamoConfig keys we honour (aws-sdk v2 names included), so that anything else is named in a warning.
const KNOWN_DYNAMO_KEYS = new Set([
  'accessKeyId', 'secretAccessKey', 'sessionToken', 'region', 'endpoint', 'credentials', 'profile',
  'maxAttempts', 'maxRetries', 'connectTimeout', 'requestTimeout', 'operationTimeout', 'httpOptions',
  'sslEnabled', 'caFile', 'useFipsEndpoint', 'useDualstackEndpoint', 'apiVersion', 'maxConnections',
]);
const KNOWN_TOP_KEYS = new Set(['table', 'dynamoConfig', 'consistentRead', 'sessionMaxAge']);
const KNOWN_TABLE_KEYS = new Set([
  'name', 'hashKey', 'ttlKey', 'useTtlExpired', 'readCapacityUnits', 'writeCapacityUnits', 'autoCreate', 'billingMode',
]);

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optObject(value, name) {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new TypeError(`option ${name} must be an object, got ${typeName(value)}`);
  return value;
}

function optString(value, name, dflt) {
  if (value === undefined) return dflt;
  if (typeof value !== 'string') throw new TypeError(`option ${name} must be a string, got ${typeName(value)}`);
  return value;
}

function optBoolean(value, name, dflt) {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new TypeError(`option ${name} must be a boolean, got ${typeName(value)}`);
  return value;
}

// A positive integer; numeric strings are accepted as the JavaScript package did (Number(x)).
function optPositiveInt(value, name, dflt, { allowZero = false } = {}) {
  if (value === undefined) return dflt;
  let n = value;
  if (typeof value === 'string' && value.trim() !== '') n = Number(value);
  if (typeof n !== 'number' || !Number.isFinite(n) || !Number.isInteger(n)) {
    throw new TypeError(`option ${name} must be a whole number, got ${typeName(value)}`);
  }
  if (n < (allowZero ? 0 : 1)) throw new RangeError(`option ${name} must be ${allowZero ? '0 or more' : '1 or more'}, got ${n}`);
  return n;
}

function optMs(value, name, dflt) {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`option ${name} must be a number of milliseconds, got ${typeName(value)}`);
  }
  if (value <= 0) throw new RangeError(`option ${name} must be more than 0 ms, got ${value}`);
  return Math.ceil(value);
}

function attributeName(value, name, dflt) {
  const s = optString(value, name, dflt);
  const bytes = Buffer.byteLength(s);
  if (bytes < 1 || bytes > 255) throw new RangeError(`option ${name} must be 1 to 255 bytes long, got ${bytes}`);
  return s;
}

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

function regionEndpoint(region, { fips, dualstack }) {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  if (dualstack) {
    const ds = region.startsWith('cn-') ? 'api.amazonwebservices.com.cn' : 'api.aws';
    return `https://dynamodb${fips ? '-fips' : ''}.${region}.${ds}`;
  }
  return `https://dynamodb${fips ? '-fips' : ''}.${region}.${suffix}`;
}

/**
 * Validates options and returns the resolved settings. `env` is process.env (injectable for tests).
 * `warn(message)` receives the names of options that are accepted but have no effect.
 */
function resolveOptions(options, env = process.env, warn = () => {}) {
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) throw new TypeError(`options must be an object, got ${typeName(options)}`);
  const table = optObject(options.table, 'table');
  const dc = optObject(options.dynamoConfig, 'dynamoConfig');

  const tableName = optString(table.name, 'table.name', DEFAULTS.tableName);
  if (!TABLE_NAME.test(tableName)) {
    throw new RangeError(`option table.name must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.', got ${JSON.stringify(tableName)}`);
  }
  const billingMode = optString(table.billingMode, 'table.billingMode', 'PROVISIONED');
  if (billingMode !== 'PROVISIONED' && billingMode !== 'PAY_PER_REQUEST') {
    throw new RangeError(`option table.billingMode must be 'PROVISIONED' or 'PAY_PER_REQUEST', got ${JSON.stringify(billingMode)}`);
  }
  const settings = {
    tableName,
    hashKey: attributeName(table.hashKey, 'table.hashKey', DEFAULTS.hashKey),
    ttlKey: attributeName(table.ttlKey, 'table.ttlKey', DEFAULTS.ttlKey),
    useTtlExpired: optBoolean(table.useTtlExpired, 'table.useTtlExpired', DEFAULTS.useTtlExpired),
    readCapacityUnits: optPositiveInt(table.readCapacityUnits, 'table.readCapacityUnits', DEFAULTS.readCapacityUnits),
    writeCapacityUnits: optPositiveInt(table.writeCapacityUnits, 'table.writeCapacityUnits', DEFAULTS.writeCapacityUnits),
    autoCreate: optBoolean(table.autoCreate, 'table.autoCreate', DEFAULTS.autoCreate),
    billingMode,
    consistentRead: optBoolean(options.consistentRead, 'consistentRead', DEFAULTS.consistentRead),
    sessionMaxAge: optMs(options.sessionMaxAge, 'sessionMaxAge', DEFAULTS.sessionMaxAge),
  };
  if (settings.hashKey === settings.ttlKey || settings.hashKey === 'session' || settings.ttlKey === 'session') {
    throw new RangeError('options table.hashKey, table.ttlKey and the "session" attribute must all have different names');
  }

  // ---- region and endpoint
  let profile; // the profile's settings in ~/.aws/config (and credentials), read only when needed
  const fromProfile = (key) => (profile ??= profileConfig(optString(dc.profile, 'dynamoConfig.profile', undefined), env))[key];
  const region = optString(dc.region, 'dynamoConfig.region', undefined) ||
    env.AWS_REGION || env.AWS_DEFAULT_REGION || fromProfile('region') || '';
  const useFipsEndpoint = optBoolean(dc.useFipsEndpoint, 'dynamoConfig.useFipsEndpoint', env.AWS_USE_FIPS_ENDPOINT === 'true');
  const useDualstackEndpoint = optBoolean(dc.useDualstackEndpoint, 'dynamoConfig.useDualstackEndpoint', env.AWS_USE_DUALSTACK_ENDPOINT === 'true');
  const sslEnabled = optBoolean(dc.sslEnabled, 'dynamoConfig.sslEnabled', true);
  let endpoint = optString(dc.endpoint, 'dynamoConfig.endpoint', undefined) ||
    env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL || '';
  const isLocal = region.startsWith('local');
  if (!endpoint) {
    if (isLocal) endpoint = 'http://localhost:8000';
    else if (region) endpoint = regionEndpoint(region, { fips: useFipsEndpoint, dualstack: useDualstackEndpoint });
    else {
      throw new TypeError('no AWS region: set option dynamoConfig.region, or AWS_REGION / AWS_DEFAULT_REGION, or region in the profile in ~/.aws/config, or option dynamoConfig.endpoint');
    }
    if (!sslEnabled) endpoint = endpoint.replace(/^https:/, 'http:');
  }
  if (!/^[a-z]+:\/\//i.test(endpoint)) endpoint = `${sslEnabled ? 'https' : 'http'}://${endpoint}`;
  let url;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`option dynamoConfig.endpoint is not a URL: ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`option dynamoConfig.endpoint must be an http or https URL, got ${JSON.stringify(endpoint)}`);
  }
  if (url.username || url.password) throw new TypeError('option dynamoConfig.endpoint must not contain credentials');
  // SigV4 needs a region even for a custom endpoint: take it from the host name when it is an AWS one.
  let signingRegion = region;
  if (!signingRegion) {
    const m = /^dynamodb(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com|api\.aws)/.exec(url.hostname);
    signingRegion = m ? m[1] : 'us-east-1';
  }

  // ---- timeouts and retries (our names, then aws-sdk v2's)
  const httpOptions = optObject(dc.httpOptions, 'dynamoConfig.httpOptions');
  for (const k of Object.keys(httpOptions)) {
    if (k !== 'timeout' && k !== 'connectTimeout') warn(`dynamoConfig.httpOptions.${k} is not supported by koa-session-dynamodb-store and has no effect`);
  }
  let maxAttempts = DEFAULTS.maxAttempts;
  if (dc.maxAttempts !== undefined) maxAttempts = optPositiveInt(dc.maxAttempts, 'dynamoConfig.maxAttempts');
  else if (dc.maxRetries !== undefined) maxAttempts = optPositiveInt(dc.maxRetries, 'dynamoConfig.maxRetries', 0, { allowZero: true }) + 1;
  const connectTimeout = optMs(dc.connectTimeout ?? httpOptions.connectTimeout, dc.connectTimeout !== undefined ? 'dynamoConfig.connectTimeout' : 'dynamoConfig.httpOptions.connectTimeout', DEFAULTS.connectTimeout);
  const requestTimeout = optMs(dc.requestTimeout ?? httpOptions.timeout, dc.requestTimeout !== undefined ? 'dynamoConfig.requestTimeout' : 'dynamoConfig.httpOptions.timeout', DEFAULTS.requestTimeout);
  const operationTimeout = optMs(dc.operationTimeout, 'dynamoConfig.operationTimeout', Math.max(DEFAULTS.operationTimeout, requestTimeout));
  const maxConnections = optPositiveInt(dc.maxConnections, 'dynamoConfig.maxConnections', DEFAULTS.maxConnections);
  const caFile = optString(dc.caFile, 'dynamoConfig.caFile', env.AWS_CA_BUNDLE || (url.protocol === 'https:' && fromProfile('ca_bundle')) || undefined);
  if (caFile !== undefined) {
    try {
      fs.accessSync(caFile, fs.constants.R_OK);
    } catch (err) {
      const from = dc.caFile !== undefined ? 'option dynamoConfig.caFile' : env.AWS_CA_BUNDLE ? 'AWS_CA_BUNDLE' : 'ca_bundle in the AWS config profile';
      throw new TypeError(`${from}: cannot read the CA file ${JSON.stringify(caFile)} (${err.code || err.message})`);
    }
  }

  for (const k of Object.keys(dc)) if (!KNOWN_DYNAMO_KEYS.has(k)) warn(`dynamoConfig.${k} is not supported by koa-session-dynamodb-store and has no effect`);
  for (const k of Object.keys(table)) if (!KNOWN_TABLE_KEYS.has(k)) warn(`table.${k} is not a known option and has no effect`);
  for (const k of Object.keys(options)) if (!KNOWN_TOP_KEYS.has(k)) warn(`option ${k} is not a known option and has no effect`);

  Object.assign(settings, {
    region: signingRegion,
    isLocal,
    endpoint: url.href,
    host: url.host, // with the port when it is not the scheme's default: what curl sends and we sign
    maxAttempts,
    connectTimeout,
    requestTimeout,
    operationTimeout,
    maxConnections,
    caFile,
  });
  return settings;
}

module.exports = { resolveOptions, DEFAULTS, isPlainObject, optString, typeName };
