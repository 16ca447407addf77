'use strict';
// Where the store's AWS credentials come from, and keeping them fresh.
//
// A source is an async function returning { accessKeyId, secretAccessKey, sessionToken?, expiration? }
// (expiration: ms since the epoch; absent for long-term keys). credentialSource() picks the source
// in the AWS SDK's order (see README, "Credentials"); CredentialCache calls it once at start and
// again five minutes before the expiration, once however many requests are waiting, with a short
// backoff after a failure. Secrets are never put into an error message, a warning or util.inspect.

const { typeName, checkCredentialValues } = require('./config');
const { DynamoDBStoreError } = require('./errors');
const { loadSharedFiles, profileSettings } = require('./credential-sources/shared-files');
const { processSource } = require('./credential-sources/process');
const { containerSource, containerConfigured } = require('./credential-sources/container');
const { imdsSource, imdsDisabled } = require('./credential-sources/imds');

const REFRESH_MARGIN_MS = 5 * 60 * 1000; // refresh this long before the expiration
const EXPIRY_GUARD_MS = 15 * 1000; // never sign with credentials this close to their expiration
const MIN_REFRESH_MS = 1000; // short-lived credentials: at most one refresh a second
const BACKOFF_BASE_MS = 1000; // after a failed refresh: 1 s, 2 s, 4 s ... 10 s without a new attempt
const BACKOFF_MAX_MS = 10 * 1000;
const RENEW_INTERVAL_MS = 5 * 1000; // at most one refresh every 5 s because the service refused the credentials

/** The error for anything about credentials: a DynamoDBStoreError with code 'CredentialsError'. */
function credentialsError(message, props) {
  return new DynamoDBStoreError(message, { code: 'CredentialsError', retryable: true, ...props });
}

function kindOf(v) {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** How a source calls the three fields in messages: `${prefix}accessKeyId`, ... */
function fieldNames(prefix) {
  return { accessKeyId: `${prefix}accessKeyId`, secretAccessKey: `${prefix}secretAccessKey`, sessionToken: `${prefix}sessionToken` };
}

/**
 * Checks what a source gave: an object with non-empty string keys, an optional string token and
 * expiration, and values that can go into a request (checkCredentialValues: no control character).
 * `where` names the source for the shape errors, `names` each field for the value errors. Throws a
 * TypeError that never shows a value.
 */
function checkCredentials(c, where, names = fieldNames(`${where}: `)) {
  // Never typeName(c): it would print a string's value, which could be a secret.
  if (c === null || typeof c !== 'object') throw new TypeError(`${where} must give an object with accessKeyId and secretAccessKey, got ${kindOf(c)}`);
  if (typeof c.accessKeyId !== 'string' || c.accessKeyId === '') throw new TypeError(`${where}: accessKeyId must be a non-empty string`);
  if (typeof c.secretAccessKey !== 'string' || c.secretAccessKey === '') throw new TypeError(`${where}: secretAccessKey must be a non-empty string`);
  if (c.sessionToken !== undefined && c.sessionToken !== null && typeof c.sessionToken !== 'string') throw new TypeError(`${where}: sessionToken must be a string`);
  checkCredentialValues(c, names);
  let expiration;
  if (c.expiration !== undefined && c.expiration !== null) {
    expiration = c.expiration instanceof Date ? c.expiration.getTime() : typeof c.expiration === 'string' ? Date.parse(c.expiration) : c.expiration;
    if (typeof expiration !== 'number' || Number.isNaN(expiration)) throw new TypeError(`${where}: expiration must be a Date, an ISO string or a number of ms`);
  }
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken || undefined, expiration };
}

function staticSource(c, description) {
  return { source: async () => c, description, isStatic: true };
}

/**
 * Picks the credential source from dynamoConfig and the environment, in the AWS SDK's order:
 *   1. dynamoConfig.accessKeyId / secretAccessKey / sessionToken
 *   2. dynamoConfig.credentials: an object, an (async) function (an AWS SDK v3 provider), or an
 *      aws-sdk v2 Credentials object (its getPromise())
 *   3. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (skipped when a profile is
 *      chosen: dynamoConfig.profile or AWS_PROFILE)
 *   4. the profile in the shared files: static keys, then credential_process
 *   5. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI)
 *   6. for a region starting with 'local': dummy keys; otherwise EC2 instance metadata (IMDSv2),
 *      unless AWS_EC2_METADATA_DISABLED.
 * The first source that is configured is used, and its failures are errors (no fall-through).
 *
 * `env` is the environment (process.env); `home` the home directory (default: from env like the
 * SDKs). Returns { source, description, isStatic }; isStatic means the source never changes its
 * answer (no refresh, no retry on an expired token). Throws (TypeError, or a DynamoDBStoreError
 * with code 'CredentialsError') when the configuration is wrong: a bad option, a profile that is
 * named but missing, an unsupported kind of profile, an endpoint variable that is not allowed.
 */
function credentialSource(dc, env = process.env, { isLocal = false, home, processTimeoutMs, imdsTimeoutMs, containerTimeoutMs } = {}) {
  const has = (k) => dc[k] !== undefined;
  if (has('accessKeyId') || has('secretAccessKey')) {
    const c = checkCredentials({ accessKeyId: dc.accessKeyId, secretAccessKey: dc.secretAccessKey, sessionToken: dc.sessionToken }, 'dynamoConfig', fieldNames('option dynamoConfig.'));
    return staticSource(c, 'dynamoConfig');
  }
  if (has('credentials')) {
    const p = dc.credentials;
    // What a provider gives is checked at every load: a bad value fails that load (a CredentialsError).
    const given = { accessKeyId: 'the accessKeyId it gave', secretAccessKey: 'the secretAccessKey it gave', sessionToken: 'the sessionToken it gave' };
    if (typeof p === 'function') {
      return { source: async () => checkCredentials(await p(), 'dynamoConfig.credentials()', given), description: 'dynamoConfig.credentials()', isStatic: false };
    }
    if (p && typeof p === 'object' && typeof p.getPromise === 'function') { // an aws-sdk v2 Credentials object
      return {
        source: async () => {
          await p.getPromise();
          return checkCredentials({ accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey, sessionToken: p.sessionToken, expiration: p.expireTime }, 'dynamoConfig.credentials', given);
        },
        description: 'dynamoConfig.credentials (getPromise())',
        isStatic: false,
      };
    }
    return staticSource(checkCredentials(p, 'dynamoConfig.credentials', fieldNames('option dynamoConfig.credentials.')), 'dynamoConfig.credentials');
  }
  if (dc.profile !== undefined && typeof dc.profile !== 'string') throw new TypeError(`option dynamoConfig.profile must be a string, got ${typeName(dc.profile)}`);

  const tried = ['dynamoConfig.accessKeyId/secretAccessKey', 'dynamoConfig.credentials'];
  const chosenBy = dc.profile ? 'dynamoConfig.profile' : env.AWS_PROFILE ? 'AWS_PROFILE' : null;
  const profile = dc.profile || env.AWS_PROFILE || 'default';

  // ---- the environment
  if (chosenBy) {
    tried.push(`the environment (skipped because ${chosenBy} is set)`);
  } else if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const c = checkCredentials({ accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }, 'the AWS_* environment',
      { accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY', sessionToken: 'AWS_SESSION_TOKEN' });
    return staticSource(c, 'environment (AWS_ACCESS_KEY_ID)');
  } else {
    tried.push(`the environment (${env.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'} is not set)`);
  }

  // ---- the shared files
  const files = loadSharedFiles(env, home);
  const where = `${files.paths.credentials} or ${files.paths.config}`;
  const p = profileSettings(files, profile, 'credentials');
  const named = `profile ${JSON.stringify(profile)}`;
  const unsupported = (what) => credentialsError(
    `${named} ${what}, which koa-session-dynamodb-store does not resolve itself; pass an AWS SDK provider instead, ` +
    `e.g. dynamoConfig.credentials: fromNodeProviderChain(${chosenBy === 'dynamoConfig.profile' ? `{ profile: ${JSON.stringify(profile)} }` : ''}) from @aws-sdk/credential-providers`,
    { retryable: false });
  if (p) {
    const file = files.credentials.has(profile) && (p.aws_access_key_id || p.aws_secret_access_key) ? files.paths.credentials : files.paths.config;
    if (p.role_arn) throw unsupported('assumes a role (role_arn)');
    if (p.aws_access_key_id && p.aws_secret_access_key) {
      const c = checkCredentials({ accessKeyId: p.aws_access_key_id, secretAccessKey: p.aws_secret_access_key, sessionToken: p.aws_session_token }, named, {
        accessKeyId: `aws_access_key_id of ${named} (${file})`,
        secretAccessKey: `aws_secret_access_key of ${named} (${file})`,
        sessionToken: `aws_session_token of ${named} (${file})`,
      });
      return staticSource(c, `${named} (${file})`);
    }
    if (p.web_identity_token_file) throw unsupported('uses web identity (web_identity_token_file)');
    if (p.credential_process) {
      const proc = processSource(p.credential_process, profile, env, { timeoutMs: processTimeoutMs });
      return { source: proc.fetch, description: proc.description, isStatic: false };
    }
    if (p.aws_access_key_id || p.aws_secret_access_key) {
      throw credentialsError(`${named} has ${p.aws_access_key_id ? 'aws_access_key_id but no aws_secret_access_key' : 'aws_secret_access_key but no aws_access_key_id'} (${file})`, { retryable: false });
    }
    if (p.sso_session || p.sso_start_url || p.sso_account_id) throw unsupported('uses IAM Identity Center (sso_*)');
    tried.push(`${named} (it has no credentials)`);
  } else if (chosenBy) {
    throw credentialsError(`${named} (from ${chosenBy}) is not in ${where}${files.problems.length ? ` (${files.problems.join('; ')})` : ''}`, { retryable: false });
  } else {
    tried.push(`${named} in ${where} (not there${files.problems.length ? `: ${files.problems.join('; ')}` : ''})`);
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    throw credentialsError('AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set (web identity, e.g. EKS IRSA), which koa-session-dynamodb-store ' +
      'does not resolve itself; pass dynamoConfig.credentials: fromTokenFile() or fromNodeProviderChain() from @aws-sdk/credential-providers', { retryable: false });
  }

  // ---- container credentials
  if (containerConfigured(env)) {
    let cs;
    try {
      cs = containerSource(env, { timeoutMs: containerTimeoutMs });
    } catch (err) {
      throw credentialsError(err.message, { retryable: false });
    }
    return { source: cs.fetch, description: cs.description, isStatic: false };
  }
  tried.push('container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI are not set)');

  // ---- the last resort: dummy keys for DynamoDB Local, else EC2 instance metadata
  if (isLocal) return staticSource({ accessKeyId: 'local', secretAccessKey: 'local' }, 'local dummy keys');
  if (imdsDisabled(env)) {
    tried.push('EC2 instance metadata (AWS_EC2_METADATA_DISABLED is set)');
    const message = `no AWS credentials found; tried ${tried.join(', ')}`;
    return { source: async () => { throw credentialsError(message, { retryable: false }); }, description: 'none', isStatic: false };
  }
  let imds;
  try {
    imds = imdsSource(env, { timeoutMs: imdsTimeoutMs });
  } catch (err) {
    throw credentialsError(err.message, { retryable: false });
  }
  let worked = false;
  const description = `EC2 instance metadata (${imds.endpoint})`;
  return {
    source: async () => {
      try {
        const c = await imds.fetch();
        worked = true;
        return c;
      } catch (err) {
        if (worked) throw err; // it worked before: the cache says "cannot get AWS credentials from EC2 instance metadata: ..."
        throw credentialsError(`no AWS credentials found; tried ${tried.join(', ')}, and EC2 instance metadata at ${imds.endpoint}: ${err.message}`);
      }
    },
    description,
    isStatic: false,
  };
}

/**
 * Holds the current credentials and refreshes them before they expire, single-flight: however
 * many callers wait, the source is called once. After a failure, further calls reject at once
 * with the same message for a short, growing backoff (1 s to 10 s) instead of calling the source
 * again. onChange(credentials) receives every new set (the native client signs with them).
 */
class CredentialCache {
  #source;
  #onChange;
  #now;
  #description;
  #warn;
  #current = null;
  #refreshAt = 0;
  #generation = 0;
  #inflight = null;
  #failures = 0;
  #retryAt = 0;
  #lastError = null;
  #renewedAt = -Infinity;

  constructor(source, onChange, { now = Date.now, description = 'the credential source', warn = null } = {}) {
    this.#source = source;
    this.#onChange = onChange;
    this.#now = now;
    this.#description = description;
    this.#warn = warn;
  }

  /** True while the current credentials need no refresh (more than five minutes left). */
  fresh() {
    return this.#current !== null && this.#now() < this.#refreshAt;
  }

  /** True while the current credentials may still sign a request (not within 15 s of expiring). */
  usable() {
    const c = this.#current;
    return c !== null && (c.expiration === undefined || c.expiration - EXPIRY_GUARD_MS > this.#now());
  }

  /** Counts the credential sets handed to onChange (to tell whether a refresh happened meanwhile). */
  get generation() {
    return this.#generation;
  }

  /** Fetches new credentials (once, however many callers wait) and hands them to onChange. */
  refresh() {
    if (this.#inflight) return this.#inflight;
    if (this.#lastError && this.#now() < this.#retryAt) {
      return Promise.reject(credentialsError(this.#lastError.message, { source: this.#description }));
    }
    const p = this.#load();
    this.#inflight = p;
    const clear = () => { if (this.#inflight === p) this.#inflight = null; };
    p.then(clear, clear);
    return p;
  }

  /**
   * Resolves once credentials that may sign a request are in place: refreshes, and when that
   * fails keeps the current ones while they are still valid (a refresh failing five minutes
   * ahead is not yet an outage). Rejects with the CredentialsError otherwise.
   */
  ensure() {
    return this.refresh().catch((err) => {
      if (this.usable()) return this.#current;
      throw err;
    });
  }

  /**
   * After the service refused the credentials of `generation` (an expired or unknown token):
   * resolves true when a retry may use other credentials (they were replaced meanwhile, or a
   * refresh just replaced them), false when not (a refusal-driven refresh happened less than
   * RENEW_INTERVAL_MS ago: the source keeps giving refused credentials, and is not hammered).
   */
  renew(generation) {
    if (this.#generation !== generation) return Promise.resolve(true);
    if (this.#inflight) return this.#inflight.then(() => true);
    const now = this.#now();
    if (now - this.#renewedAt < RENEW_INTERVAL_MS) return Promise.resolve(false);
    this.#renewedAt = now;
    return this.refresh().then(() => true);
  }

  /** Hands the current credentials to onChange again (a new native client); loads them when there are none. */
  reapply() {
    if (this.#current === null) return this.refresh();
    this.#onChange(this.#current);
    return Promise.resolve(this.#current);
  }

  async #load() {
    let c;
    try {
      c = await this.#source();
      if (c.expiration !== undefined && c.expiration - EXPIRY_GUARD_MS <= this.#now()) {
        throw new Error(`the credentials it gave ${c.expiration <= this.#now() ? 'expired' : 'expire'} at ${new Date(c.expiration).toISOString()}`);
      }
    } catch (cause) {
      const complete = cause instanceof DynamoDBStoreError && cause.code === 'CredentialsError';
      const reason = cause && cause.message ? cause.message : String(cause);
      const err = complete ? cause : credentialsError(`cannot get AWS credentials from ${this.#description}: ${reason}`);
      err.source = this.#description;
      this.#failures++;
      this.#retryAt = this.#now() + Math.min(BACKOFF_BASE_MS * 2 ** (this.#failures - 1), BACKOFF_MAX_MS);
      this.#lastError = err;
      if (this.#warn && this.#failures === 1 && this.usable()) { // once per run of failures
        this.#warn(`koa-session-dynamodb-store: ${err.message}; the current credentials stay in use until ${new Date(this.#current.expiration).toISOString()}`);
      }
      throw err;
    }
    const now = this.#now();
    this.#failures = 0;
    this.#lastError = null;
    this.#current = c;
    if (c.expiration === undefined) {
      this.#refreshAt = Infinity;
    } else {
      // Five minutes ahead; for credentials that live shorter, halfway to the guard; never sooner
      // than a second from now (a source giving short-lived credentials is not called per request).
      let at = c.expiration - REFRESH_MARGIN_MS;
      if (at <= now) at = now + (c.expiration - EXPIRY_GUARD_MS - now) / 2;
      this.#refreshAt = Math.max(at, now + MIN_REFRESH_MS);
    }
    this.#generation++;
    this.#onChange(c);
    return c;
  }

  /** For util.inspect: never the secret or the token. */
  describe() {
    const c = this.#current;
    const view = { source: this.#description };
    if (!c) view.loaded = false;
    else {
      view.accessKeyId = c.accessKeyId;
      view.secretAccessKey = '[redacted]';
      if (c.sessionToken) view.sessionToken = '[redacted]';
      if (c.expiration !== undefined) view.expiration = new Date(c.expiration).toISOString();
    }
    if (this.#lastError) view.lastError = this.#lastError.message;
    return view;
  }
}

module.exports = { credentialSource, CredentialCache, checkCredentials, credentialsError, REFRESH_MARGIN_MS, EXPIRY_GUARD_MS };
