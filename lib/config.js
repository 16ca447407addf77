'use strict';
// Validates the store's options (TypeError/RangeError naming the option) and resolves region,
// endpoint, proxy and the other settings. Pure apart from reading process.env (passed in) and, when
// the region is not given otherwise, the profile in the AWS config files. Never mutates the caller's
// objects. Also home of the checks other modules share: values that end up in HTTP headers
// (credentials, region, proxy), lone surrogates, the numeric limits.

const fs = require('node:fs');
const { profileConfig, profileName } = require('./credential-sources/shared-files');

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
  concurrency: 'merge', // what a save of a session this request read writes (see lib/writes.js)
  touchAfter: 0, // seconds: a save that only extends the expiry is skipped while the stored one is younger
});

/** The item attribute holding the session's version (conditional writes); not configurable. */
const VERSION_ATTRIBUTE = 'version';
const CREATED_AT_ATTRIBUTE = 'createdAt'; // users: when the session was created, epoch seconds
const USERS_DEFAULTS = Object.freeze({ attribute: 'userId', index: 'userId-index', settleMs: 1000 });
const INDEX_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;
const CONCURRENCY_MODES = Object.freeze(['merge', 'strict', 'overwrite']);

// The largest value of every numeric option (and of set()'s maxAge). Each reaches C as an int or a
// long, or ends up in an epoch: beyond these it would overflow (undefined behaviour in C).
const LIMITS = Object.freeze({
  readCapacityUnits: 1e12, // DynamoDB's own bound ("Given value ... is out of bounds" above it)
  writeCapacityUnits: 1e12,
  sessionMaxAge: 100 * 365 * 86400000, // 100 years: Date.now() + it stays a safe epoch
  maxAttempts: 100,
  connectTimeout: 2 ** 31 - 1, // ms, a C int / 32-bit long
  requestTimeout: 2 ** 31 - 1,
  operationTimeout: 2 ** 31 - 1,
  maxConnections: 65536,
  touchAfter: 365 * 86400, // seconds: a year
});

// dynamoConfig keys we honour (aws-sdk v2 names included), so that anything else is named in a warning.
const KNOWN_DYNAMO_KEYS = new Set([
  'accessKeyId', 'secretAccessKey', 'sessionToken', 'region', 'endpoint', 'credentials', 'profile',
  'maxAttempts', 'maxRetries', 'connectTimeout', 'requestTimeout', 'operationTimeout', 'httpOptions',
  'sslEnabled', 'caFile', 'useFipsEndpoint', 'useDualstackEndpoint', 'apiVersion', 'maxConnections',
]);
const KNOWN_TOP_KEYS = new Set(['table', 'dynamoConfig', 'consistentRead', 'sessionMaxAge', 'concurrency', 'touchAfter', 'users', 'compress', 'encrypt']);
const KNOWN_TABLE_KEYS = new Set([
  'name', 'hashKey', 'ttlKey', 'useTtlExpired', 'readCapacityUnits', 'writeCapacityUnits', 'autoCreate', 'billingMode',
]);

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
}

// ---- values that end up in HTTP request headers or C strings
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;
const NOT_PRINTABLE_ASCII = /[^\u0020-\u007e]/;
// A high surrogate not followed by a low one, or a low one not preceded by a high one (code units:
// no 'u' flag). Node 18 has no String.prototype.isWellFormed.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `s` holds a lone UTF-16 surrogate (not valid Unicode: UTF-8 turns it into U+FFFD). */
function hasLoneSurrogate(s) {
  return typeof s.isWellFormed === 'function' ? !s.isWellFormed() : LONE_SURROGATE.test(s);
}

/** The regular-expression check alone (what hasLoneSurrogate does where isWellFormed is missing). */
function hasLoneSurrogateByRegex(s) {
  return LONE_SURROGATE.test(s);
}

const CREDENTIAL_FIELDS = ['accessKeyId', 'secretAccessKey', 'sessionToken'];

/**
 * The one check of credential values before they can be signed with and sent (the access key id
 * and the session token go into request headers; a CR/LF there would split the request): no
 * control character (U+0000-U+001F, U+007F) in any of them, and only printable ASCII in the access
 * key id. `names` says how the source calls each field (for the message; the value is never
 * shown); `fail(message)` makes the error (a TypeError by default: static sources throw it from
 * the constructor; sources that load later reject with it and the store makes it a CredentialsError).
 */
function checkCredentialValues(c, names, fail = (message) => new TypeError(message)) {
  for (const field of CREDENTIAL_FIELDS) {
    const v = c[field];
    if (typeof v !== 'string') continue;
    let why = null;
    if (CONTROL_CHAR.test(v)) why = 'contains a control character';
    else if (field === 'accessKeyId' && NOT_PRINTABLE_ASCII.test(v)) why = 'contains a character outside printable ASCII';
    if (why) throw fail(`${names[field]} ${why}`);
  }
  return c;
}

const REGION = /^[a-z0-9-]{1,64}$/;

/** A region goes into the endpoint's host name and the signature's scope: a-z, 0-9, '-', at most 64. */
function checkRegion(region, from) {
  if (!REGION.test(region)) {
    const shown = JSON.stringify(region.length > 80 ? `${region.slice(0, 80)}...` : region);
    throw new TypeError(`${from} must be an AWS region name (1 to 64 characters of a-z, 0-9 and '-'), got ${shown}`);
  }
  return region;
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

// A positive integer up to `max`; numeric strings are accepted as the JavaScript package did (Number(x)).
function optPositiveInt(value, name, dflt, { allowZero = false, max } = {}) {
  if (value === undefined) return dflt;
  let n = value;
  if (typeof value === 'string' && value.trim() !== '') n = Number(value);
  if (typeof n !== 'number' || !Number.isFinite(n) || !Number.isInteger(n)) {
    throw new TypeError(`option ${name} must be a whole number, got ${typeName(value)}`);
  }
  if (n < (allowZero ? 0 : 1)) throw new RangeError(`option ${name} must be ${allowZero ? '0 or more' : '1 or more'}, got ${n}`);
  if (n > max) throw new RangeError(`option ${name} must be at most ${max}, got ${n}`);
  return n;
}

// A number of milliseconds, more than 0 and at most `max` (rounded up to a whole ms).
/** A number of seconds, 0 or more (fractions allowed), at most max. */
function optSeconds(value, name, dflt, max) {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`option ${name} must be a number of seconds, got ${typeName(value)}`);
  if (value < 0 || value > max) throw new RangeError(`option ${name} must be between 0 and ${max} seconds, got ${value}`);
  return value;
}

function optMs(value, name, dflt, max) {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`option ${name} must be a number of milliseconds, got ${typeName(value)}`);
  }
  if (value <= 0) throw new RangeError(`option ${name} must be more than 0 ms, got ${value}`);
  if (value > max) throw new RangeError(`option ${name} must be at most ${max} ms, got ${value}`);
  return Math.ceil(value);
}

/**
 * An attribute name the native core can use: 1 to 255 bytes of UTF-8, no NUL (C strings end there)
 * and no lone surrogate (not UTF-8). Throws a RangeError naming `from`.
 */
function checkAttributeName(s, from) {
  if (s.includes('\u0000')) throw new RangeError(`${from} must not contain a NUL character (U+0000)`);
  if (hasLoneSurrogate(s)) throw new RangeError(`${from} contains a lone UTF-16 surrogate and is not valid Unicode`);
  const bytes = Buffer.byteLength(s);
  if (bytes < 1 || bytes > 255) throw new RangeError(`${from} must be 1 to 255 bytes long, got ${bytes}`);
  return s;
}

function attributeName(value, name, dflt) {
  return checkAttributeName(optString(value, name, dflt), `option ${name}`);
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


// ---- proxies: resolved here from the environment, with libcurl's precedence, and handed to the
// native core (which then reads no environment variable itself)
const PROXY_SCHEMES = new Set(['http', 'https', 'socks', 'socks4', 'socks4a', 'socks5', 'socks5h']);

/** The first of `names` that is set to a non-empty string in env: [name, value], or []. */
function firstSet(env, names) {
  for (const name of names) {
    const v = env[name];
    if (typeof v === 'string' && v !== '') return [name, v];
  }
  return [];
}

/**
 * A proxy in one of the forms libcurl accepts: [scheme://][user:password@]host[:port], scheme
 * http (the default), https, socks, socks4, socks4a, socks5 or socks5h. The message names the
 * variable, never the value (it may hold a password).
 */
function checkProxy(value, from) {
  const fail = (why) => new TypeError(`${from} ${why}; a proxy is [scheme://][user:password@]host[:port] with scheme http, https, socks4, socks4a, socks5 or socks5h`);
  if (CONTROL_CHAR.test(value)) throw fail('contains a control character');
  if (/\s/.test(value)) throw fail('contains white space');
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (m && !PROXY_SCHEMES.has(m[1].toLowerCase())) throw fail(`has the scheme ${JSON.stringify(m[1].slice(0, 20))}, which libcurl does not take for a proxy`);
  let url;
  try {
    url = new URL(`http://${m ? value.slice(m[0].length) : value}`); // the host part as libcurl reads it
  } catch {
    throw fail('is not a URL');
  }
  if (!url.hostname) throw fail('has no host name');
  return value;
}

/**
 * { proxy, noProxy } for an endpoint (https or not), from env, as libcurl would pick them:
 * https_proxy then HTTPS_PROXY for https endpoints, http_proxy (never HTTP_PROXY) for http ones,
 * then all_proxy, ALL_PROXY; and no_proxy then NO_PROXY. Unset or empty: undefined.
 */
function resolveProxy(env, https) {
  const [proxyFrom, proxy] = firstSet(env, https ? ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] : ['http_proxy', 'all_proxy', 'ALL_PROXY']);
  const [noProxyFrom, noProxy] = firstSet(env, ['no_proxy', 'NO_PROXY']);
  if (proxy !== undefined) checkProxy(proxy, proxyFrom);
  if (noProxy !== undefined && CONTROL_CHAR.test(noProxy)) {
    throw new TypeError(`${noProxyFrom} contains a control character; it is a comma-separated list of host names, domains and IP addresses, or *`);
  }
  return { proxy, noProxy };
}

/**
 * Validates options and returns the resolved settings. `env` is process.env (injectable for tests).
 * `warn(message)` receives the names of options that are accepted but have no effect.
 */
const COMPRESS_DEFAULTS = Object.freeze({ threshold: 1024, level: 1 }); // level: bench/compress/RESULTS.md
const COMPRESS_LEVELS = [1, 19]; // zstd's levels (src/blob.c)
const KEY_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Option compress: null, or { threshold, level }. */
function resolveCompress(value) {
  if (value === undefined || value === null || value === false) return null;
  if (value === true) return { ...COMPRESS_DEFAULTS };
  if (!isPlainObject(value)) throw new TypeError(`option compress must be true or an object { threshold?, level? }, got ${typeName(value)}`);
  for (const k of Object.keys(value)) if (k !== 'threshold' && k !== 'level') throw new TypeError(`option compress.${k} is not a known option`);
  const threshold = optPositiveInt(value.threshold, 'compress.threshold', COMPRESS_DEFAULTS.threshold, { allowZero: true, max: 400 * 1024 });
  const level = optPositiveInt(value.level, 'compress.level', COMPRESS_DEFAULTS.level, { max: COMPRESS_LEVELS[1] });
  return { threshold, level };
}

/**
 * Option encrypt: null, or { ids: [key id], keys: [Buffer of 32 bytes] (copies, in ids' order),
 * current: index in ids }. Never puts a key's bytes in a message.
 */
function resolveEncrypt(value) {
  if (value === undefined || value === null || value === false) return null;
  if (!isPlainObject(value)) throw new TypeError(`option encrypt must be an object { keys: { [id]: key }, current }, got ${typeName(value)}`);
  for (const k of Object.keys(value)) if (k !== 'keys' && k !== 'current') throw new TypeError(`option encrypt.${k} is not a known option`);
  if (!isPlainObject(value.keys) && !(value.keys instanceof Map)) throw new TypeError(`option encrypt.keys must be an object { [id]: key }, got ${typeName(value.keys)}`);
  const entries = value.keys instanceof Map ? [...value.keys] : Object.entries(value.keys);
  if (entries.length === 0) throw new TypeError('option encrypt.keys must hold at least one key');
  if (entries.length > 255) throw new RangeError('option encrypt.keys holds more than 255 keys');
  const ids = [];
  const keys = [];
  for (const [id, key] of entries) {
    if (typeof id !== 'string' || !KEY_ID.test(id)) {
      throw new TypeError('option encrypt.keys: a key id must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"');
    }
    let bytes;
    if (typeof key === 'string') {
      const trimmed = key.trim();
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) throw new TypeError(`option encrypt.keys[${JSON.stringify(id)}]: a key given as a string must be base64 of 32 bytes`);
      bytes = Buffer.from(trimmed, 'base64');
    } else if (key instanceof Uint8Array) {
      bytes = Buffer.from(key); // a copy: the store wipes its own on close, never the caller's
    } else {
      throw new TypeError(`option encrypt.keys[${JSON.stringify(id)}] must be a 32-byte Buffer or base64 text, got ${typeName(key)}`);
    }
    if (bytes.length !== 32) {
      bytes.fill(0);
      for (const k of keys) k.fill(0);
      throw new RangeError(`option encrypt.keys[${JSON.stringify(id)}] must be 32 bytes (AES-256), got ${bytes.length}`);
    }
    ids.push(id);
    keys.push(bytes);
  }
  const current = ids.indexOf(value.current);
  if (typeof value.current !== 'string' || current < 0) {
    for (const k of keys) k.fill(0);
    throw new TypeError('option encrypt.current must be the id of one of encrypt.keys');
  }
  return { ids, keys, current };
}

// Where Linux distributions keep the system's CA bundle (libcurl's and Go's lists), first match wins.
const SYSTEM_CA_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Amazon Linux, Lambda, Fedora, RHEL, CentOS
  '/etc/ssl/ca-bundle.pem', // openSUSE, SLES
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // RHEL 7+ (the file the one above links to)
  '/etc/ssl/cert.pem', // Alpine, others
];
let systemCa; // (looked up once per process)
function systemCaBundle() {
  if (systemCa === undefined) {
    systemCa = SYSTEM_CA_BUNDLES.find((f) => { try { fs.accessSync(f, fs.constants.R_OK); return true; } catch { return false; } }) || null;
  }
  return systemCa || undefined; // none: libcurl's own default
}

/** Option users: null when not given; else { of, attribute, index, pageSize, settleMs }. */
function resolveUsers(value, taken) {
  if (value === undefined || value === null || value === false) return null;
  if (!isPlainObject(value)) throw new TypeError(`option users must be an object { of, attribute?, index? }, got ${typeName(value)}`);
  if (typeof value.of !== 'function') throw new TypeError(`option users.of must be a function (session) => user id, got ${typeName(value.of)}`);
  const attribute = attributeName(value.attribute, 'users.attribute', USERS_DEFAULTS.attribute);
  if ([...taken, CREATED_AT_ATTRIBUTE].includes(attribute)) {
    throw new RangeError(`option users.attribute must not be ${JSON.stringify(attribute)}: the store uses that attribute itself`);
  }
  const index = optString(value.index, 'users.index', USERS_DEFAULTS.index);
  if (!INDEX_NAME.test(index)) throw new RangeError(`option users.index must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.', got ${JSON.stringify(index)}`);
  const pageSize = value.pageSize === undefined ? undefined : optPositiveInt(value.pageSize, 'users.pageSize', undefined, { max: 1000 });
  const settleMs = optMs(value.settleMs, 'users.settleMs', USERS_DEFAULTS.settleMs, 60_000);
  for (const k of Object.keys(value)) {
    if (!['of', 'attribute', 'index', 'pageSize', 'settleMs'].includes(k)) throw new TypeError(`option users.${k} is not a known option`);
  }
  return Object.freeze({ of: value.of, attribute, index, pageSize, settleMs });
}

/**
 * users.of(session) → the user id to store (a string), or null (none: the attribute is removed).
 * Throws a TypeError naming users.of for anything else.
 */
function userIdOf(users, sess) {
  let id;
  try {
    id = users.of(sess);
  } catch (cause) {
    throw new TypeError(`option users.of threw: ${cause && cause.message}`, { cause });
  }
  if (id === undefined || id === null) return null;
  if (typeof id === 'number') {
    if (!Number.isFinite(id)) throw new TypeError(`option users.of must return a string, a finite number or nothing, got ${id}`);
    return String(id);
  }
  if (typeof id !== 'string') throw new TypeError(`option users.of must return a string, a finite number or nothing, got ${typeName(id)}`);
  if (id === '') return null;
  if (id.length > USER_ID_MAX_BYTES || Buffer.byteLength(id) > USER_ID_MAX_BYTES || hasLoneSurrogate(id)) {
    throw new RangeError(`option users.of returned a user id that is not valid Unicode or longer than ${USER_ID_MAX_BYTES} bytes`);
  }
  return id;
}
const USER_ID_MAX_BYTES = 1024; // src/ddb_json.h DDBS_MAX_USER_BYTES

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
    readCapacityUnits: optPositiveInt(table.readCapacityUnits, 'table.readCapacityUnits', DEFAULTS.readCapacityUnits, { max: LIMITS.readCapacityUnits }),
    writeCapacityUnits: optPositiveInt(table.writeCapacityUnits, 'table.writeCapacityUnits', DEFAULTS.writeCapacityUnits, { max: LIMITS.writeCapacityUnits }),
    autoCreate: optBoolean(table.autoCreate, 'table.autoCreate', DEFAULTS.autoCreate),
    billingMode,
    consistentRead: optBoolean(options.consistentRead, 'consistentRead', DEFAULTS.consistentRead),
    sessionMaxAge: optMs(options.sessionMaxAge, 'sessionMaxAge', DEFAULTS.sessionMaxAge, LIMITS.sessionMaxAge),
    concurrency: optString(options.concurrency, 'concurrency', DEFAULTS.concurrency),
    touchAfter: optSeconds(options.touchAfter, 'touchAfter', DEFAULTS.touchAfter, LIMITS.touchAfter),
    versionKey: VERSION_ATTRIBUTE,
  };
  if (!CONCURRENCY_MODES.includes(settings.concurrency)) {
    throw new RangeError(`option concurrency must be one of ${CONCURRENCY_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(settings.concurrency)}`);
  }
  const names = [settings.hashKey, settings.ttlKey, 'session', VERSION_ATTRIBUTE];
  if (new Set(names).size !== names.length) {
    throw new RangeError(`options table.hashKey, table.ttlKey and the "session" and "${VERSION_ATTRIBUTE}" attributes must all have different names`);
  }
  settings.users = resolveUsers(options.users, names);
  settings.compress = resolveCompress(options.compress);
  settings.createdAtKey = settings.users ? CREATED_AT_ATTRIBUTE : undefined;

  // ---- region and endpoint
  let profile; // the profile's settings in ~/.aws/config (and credentials), read only when needed
  const profileOption = optString(dc.profile, 'dynamoConfig.profile', undefined);
  const fromProfile = (key) => (profile ??= profileConfig(profileOption, env))[key];
  // Where each value came from is kept for the messages. An empty string counts as not set.
  const regionOption = optString(dc.region, 'dynamoConfig.region', undefined);
  let [regionFrom, region] = regionOption ? ['option dynamoConfig.region', regionOption] : firstSet(env, ['AWS_REGION', 'AWS_DEFAULT_REGION']);
  if (region === undefined && fromProfile('region')) {
    region = fromProfile('region');
    regionFrom = `region in profile ${JSON.stringify(profileName(profileOption, env))} of the AWS config file`;
  }
  if (region === undefined) region = '';
  else checkRegion(region, regionFrom);
  const useFipsEndpoint = optBoolean(dc.useFipsEndpoint, 'dynamoConfig.useFipsEndpoint', env.AWS_USE_FIPS_ENDPOINT === 'true');
  const useDualstackEndpoint = optBoolean(dc.useDualstackEndpoint, 'dynamoConfig.useDualstackEndpoint', env.AWS_USE_DUALSTACK_ENDPOINT === 'true');
  const sslEnabled = optBoolean(dc.sslEnabled, 'dynamoConfig.sslEnabled', true);
  const endpointOption = optString(dc.endpoint, 'dynamoConfig.endpoint', undefined);
  let [endpointFrom, endpoint] = endpointOption ? ['option dynamoConfig.endpoint', endpointOption] : firstSet(env, ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL']);
  const isLocal = region.startsWith('local');
  if (endpoint === undefined) {
    endpointFrom = 'the endpoint';
    if (isLocal) endpoint = 'http://localhost:8000';
    else if (region) endpoint = regionEndpoint(region, { fips: useFipsEndpoint, dualstack: useDualstackEndpoint });
    else {
      throw new TypeError('no AWS region: set option dynamoConfig.region, or AWS_REGION / AWS_DEFAULT_REGION, or region in the profile in ~/.aws/config, or option dynamoConfig.endpoint');
    }
    if (!sslEnabled) endpoint = endpoint.replace(/^https:/, 'http:');
  }
  // The URL parser would silently drop a tab or a line break: refuse them instead.
  if (CONTROL_CHAR.test(endpoint)) throw new TypeError(`${endpointFrom} contains a control character`);
  if (!/^[a-z]+:\/\//i.test(endpoint)) endpoint = `${sslEnabled ? 'https' : 'http'}://${endpoint}`;
  let url;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`${endpointFrom} is not a URL: ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${endpointFrom} must be an http or https URL, got ${JSON.stringify(endpoint)}`);
  }
  if (url.username || url.password) throw new TypeError(`${endpointFrom} must not contain credentials`);
  // SigV4 needs a region even for a custom endpoint: take it from the host name when it is an AWS one.
  let signingRegion = region;
  if (!signingRegion) {
    const m = /^dynamodb(?:-fips)?\.([^.]+)\.(?:amazonaws\.com(?:\.cn)?|api\.aws|api\.amazonwebservices\.com\.cn)\.?$/.exec(url.hostname);
    signingRegion = m ? checkRegion(m[1], `the region in the host name of ${endpointFrom}`) : 'us-east-1';
  }

  // ---- timeouts and retries (our names, then aws-sdk v2's)
  const httpOptions = optObject(dc.httpOptions, 'dynamoConfig.httpOptions');
  for (const k of Object.keys(httpOptions)) {
    if (k !== 'timeout' && k !== 'connectTimeout') warn(`dynamoConfig.httpOptions.${k} is not supported by koa-session-dynamodb-store and has no effect`);
  }
  let maxAttempts = DEFAULTS.maxAttempts;
  if (dc.maxAttempts !== undefined) maxAttempts = optPositiveInt(dc.maxAttempts, 'dynamoConfig.maxAttempts', undefined, { max: LIMITS.maxAttempts });
  else if (dc.maxRetries !== undefined) maxAttempts = optPositiveInt(dc.maxRetries, 'dynamoConfig.maxRetries', 0, { allowZero: true, max: LIMITS.maxAttempts - 1 }) + 1;
  const connectTimeout = optMs(dc.connectTimeout ?? httpOptions.connectTimeout, dc.connectTimeout !== undefined ? 'dynamoConfig.connectTimeout' : 'dynamoConfig.httpOptions.connectTimeout', DEFAULTS.connectTimeout, LIMITS.connectTimeout);
  const requestTimeout = optMs(dc.requestTimeout ?? httpOptions.timeout, dc.requestTimeout !== undefined ? 'dynamoConfig.requestTimeout' : 'dynamoConfig.httpOptions.timeout', DEFAULTS.requestTimeout, LIMITS.requestTimeout);
  const operationTimeout = optMs(dc.operationTimeout, 'dynamoConfig.operationTimeout', Math.max(DEFAULTS.operationTimeout, requestTimeout), LIMITS.operationTimeout);
  const maxConnections = optPositiveInt(dc.maxConnections, 'dynamoConfig.maxConnections', DEFAULTS.maxConnections, { max: LIMITS.maxConnections });
  let caFile = optString(dc.caFile, 'dynamoConfig.caFile', env.AWS_CA_BUNDLE || (url.protocol === 'https:' && fromProfile('ca_bundle')) || undefined);
  // None given: the system's bundle, wherever this Linux keeps it (the prebuilt binary's libcurl
  // only knows Debian's path; Amazon Linux, Lambda, Fedora and RHEL keep it elsewhere).
  if (caFile === undefined && url.protocol === 'https:') caFile = systemCaBundle();
  else if (caFile !== undefined) {
    try {
      fs.accessSync(caFile, fs.constants.R_OK);
    } catch (err) {
      const from = dc.caFile !== undefined ? 'option dynamoConfig.caFile' : env.AWS_CA_BUNDLE ? 'AWS_CA_BUNDLE' : 'ca_bundle in the AWS config profile';
      throw new TypeError(`${from}: cannot read the CA file ${JSON.stringify(caFile)} (${err.code || err.message})`);
    }
  }
  const { proxy, noProxy } = resolveProxy(env, url.protocol === 'https:');

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
    proxy,
    noProxy,
  });
  return settings;
}

module.exports = {
  resolveOptions, resolveProxy, resolveEncrypt, DEFAULTS, LIMITS, userIdOf, USERS_DEFAULTS, CREATED_AT_ATTRIBUTE, isPlainObject, optString, typeName,
  checkCredentialValues, checkRegion, checkAttributeName, hasLoneSurrogate, hasLoneSurrogateByRegex,
};
