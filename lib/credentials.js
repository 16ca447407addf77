'use strict';
// Where the store's AWS credentials come from, and keeping them fresh.
//
// A source is an async function returning { accessKeyId, secretAccessKey, sessionToken?, expiration? }
// (expiration: a Date, or ms since the epoch; absent for long-term keys). CredentialCache calls it
// once at start, and again five minutes before the expiration, once however many requests are
// waiting. Secrets are never put into an error message.

const { typeName } = require('./config');

const REFRESH_MARGIN_MS = 5 * 60 * 1000;

function checkCredentials(c, where) {
  if (c === null || typeof c !== 'object') throw new TypeError(`${where} must give an object with accessKeyId and secretAccessKey, got ${typeName(c)}`);
  if (typeof c.accessKeyId !== 'string' || c.accessKeyId === '') throw new TypeError(`${where}: accessKeyId must be a non-empty string`);
  if (typeof c.secretAccessKey !== 'string' || c.secretAccessKey === '') throw new TypeError(`${where}: secretAccessKey must be a non-empty string`);
  if (c.sessionToken !== undefined && c.sessionToken !== null && typeof c.sessionToken !== 'string') throw new TypeError(`${where}: sessionToken must be a string`);
  let expiration;
  if (c.expiration !== undefined && c.expiration !== null) {
    expiration = c.expiration instanceof Date ? c.expiration.getTime() : typeof c.expiration === 'string' ? Date.parse(c.expiration) : c.expiration;
    if (typeof expiration !== 'number' || Number.isNaN(expiration)) throw new TypeError(`${where}: expiration must be a Date, an ISO string or a number of ms`);
  }
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken || undefined, expiration };
}

/**
 * Builds the credential source from dynamoConfig and the environment, in the AWS SDK's order:
 * explicit keys, a user-supplied `credentials` object or function, the environment, then (for a
 * local region) dummy keys. Returns { source: async () => creds, description }.
 */
function credentialSource(dc, env, { isLocal } = {}) {
  const has = (k) => dc[k] !== undefined;
  if (has('accessKeyId') || has('secretAccessKey')) {
    const c = checkCredentials({ accessKeyId: dc.accessKeyId, secretAccessKey: dc.secretAccessKey, sessionToken: dc.sessionToken }, 'dynamoConfig');
    return { source: async () => c, description: 'dynamoConfig', isStatic: true };
  }
  if (has('credentials')) {
    const p = dc.credentials;
    if (typeof p === 'function') {
      return { source: async () => checkCredentials(await p(), 'dynamoConfig.credentials()'), description: 'dynamoConfig.credentials()', isStatic: false };
    }
    const c = checkCredentials(p, 'dynamoConfig.credentials');
    return { source: async () => c, description: 'dynamoConfig.credentials', isStatic: true };
  }
  if (!env.AWS_PROFILE && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const c = checkCredentials({ accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }, 'the AWS_* environment');
    return { source: async () => c, description: 'environment', isStatic: true };
  }
  if (isLocal) {
    const c = { accessKeyId: 'local', secretAccessKey: 'local' };
    return { source: async () => c, description: 'local dummy keys', isStatic: true };
  }
  return {
    source: async () => {
      const err = new TypeError('no AWS credentials: set dynamoConfig.accessKeyId and dynamoConfig.secretAccessKey, dynamoConfig.credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
      err.code = 'CredentialsError';
      throw err;
    },
    description: 'none',
    isStatic: true,
  };
}

/** Holds the current credentials and refreshes them before they expire, single-flight. */
class CredentialCache {
  #source;
  #current = null;
  #inflight = null;
  #onChange;
  #now;

  constructor(source, onChange, { now = Date.now } = {}) {
    this.#source = source;
    this.#onChange = onChange;
    this.#now = now;
  }

  /** True when the current credentials may be used for a request signed now. */
  fresh() {
    const c = this.#current;
    return c !== null && (c.expiration === undefined || c.expiration - REFRESH_MARGIN_MS > this.#now());
  }

  /** Fetches new credentials (once, however many callers wait) and hands them to onChange. */
  refresh() {
    if (this.#inflight) return this.#inflight;
    this.#inflight = (async () => {
      try {
        const c = await this.#source();
        if (c.expiration !== undefined && c.expiration <= this.#now()) {
          const err = new Error('the credential source returned credentials that have already expired');
          err.code = 'CredentialsError';
          throw err;
        }
        this.#current = c;
        this.#onChange(c);
        return c;
      } catch (cause) {
        if (cause && cause.code === 'CredentialsError') throw cause;
        const err = new Error(`cannot get AWS credentials: ${cause && cause.message ? cause.message : String(cause)}`);
        err.code = 'CredentialsError';
        err.cause = cause;
        throw err;
      } finally {
        this.#inflight = null;
      }
    })();
    return this.#inflight;
  }

  /** For util.inspect: never the secret. */
  describe() {
    const c = this.#current;
    if (!c) return { loaded: false };
    return { accessKeyId: c.accessKeyId, secretAccessKey: '[redacted]', sessionToken: c.sessionToken ? '[redacted]' : undefined, expiration: c.expiration ? new Date(c.expiration).toISOString() : undefined };
  }
}

module.exports = { credentialSource, CredentialCache, checkCredentials, REFRESH_MARGIN_MS };
