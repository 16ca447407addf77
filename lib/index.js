'use strict';
// The JavaScript face of the store: koa-session's external-store interface (get/set/destroy),
// option checks and JSON serialization; table management is in table.js. Everything else
// (DynamoDB JSON, SigV4, HTTP, retries) happens in the native core, on its own thread.

const util = require('node:util');
const binding = require('./binding');
const { DynamoDBStoreError, LOCAL_ERROR_CODES } = require('./errors');
const { resolveOptions, resolveEncrypt, typeName, hasLoneSurrogate, userIdOf, LIMITS } = require('./config');
const { credentialSource, CredentialCache } = require('./credentials');
const { ensureTable } = require('./table');
const { planSave } = require('./writes');
const { Stats, readAnswer } = require('./stats');
// lib/users.js (users option): loaded when first used
let usersModule;
const users = () => (usersModule ??= require('./users'));
const pkg = require('../package.json');

binding.setup({ errorClass: DynamoDBStoreError });

const MAX_KEY_BYTES = 2048; // DynamoDB's limit for a partition key
const NO_ATTRS = Object.freeze({ user: undefined, createdAt: undefined });
const NOTHING = () => undefined;
const COPY = (a) => ({ ...a });
const PAYLOAD = (a) => a.payload;
const MERGE_RETRIES = 3; // a whole-session merge written again after a parallel write (#writeWhole)
const warned = new Set();

function warnOnce(message) {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, { code: 'DYNAMODB_STORE' });
}

function checkKey(key, method) {
  if (typeof key !== 'string') return new TypeError(`${method}(key): key must be a string, got ${typeName(key)}`);
  if (key.length === 0) return new RangeError(`${method}(key): key must not be empty`);
  if (key.length * 3 > MAX_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    const bytes = Buffer.byteLength(key);
    if (bytes > MAX_KEY_BYTES) return new RangeError(`${method}(key): key is ${bytes} bytes; DynamoDB's limit for a key is ${MAX_KEY_BYTES} bytes`);
  }
  // Two keys that differ only in their lone surrogates would become the same UTF-8 (U+FFFD): the
  // same item. isWellFormed where Node has it (20+), a regular expression before.
  if (hasLoneSurrogate(key)) return new RangeError(`${method}(key): key contains a lone surrogate and is not valid Unicode`);
  return null;
}

/** koa-session's ctx from a store call's options, when it is one (a WeakMap key). */
function contextOf(opts) {
  const ctx = opts !== null && typeof opts === 'object' ? opts.ctx : undefined;
  return ctx !== null && (typeof ctx === 'object' || typeof ctx === 'function') ? ctx : undefined;
}

function closedError() {
  return new DynamoDBStoreError('the store is closed', { code: 'StoreClosed', retryable: false });
}

class DynamoDBStore {
  #settings;
  #native;
  #credentials;
  #ready = null; // a promise while credentials load or the table is being created; null when ready
  #initError = null;
  #closed = false;
  #ttlKey;
  // What each koa request (its ctx) read: { key, version, text, blob }. Nothing is added to ctx itself.
  #reads = new WeakMap();
  #stats;
  #encrypt; // null, or { ids, keys: [Buffer], current }: wiped by close()

  /**
   * @param {object} [options] see README: table, dynamoConfig, consistentRead, sessionMaxAge
   * @param {(err?: Error) => void} [callback] called when autoCreate finished (the JavaScript
   *   package's second argument); without it, an autoCreate failure makes the store's operations reject.
   */
  constructor(options = {}, callback) {
    if (callback !== undefined && typeof callback !== 'function') {
      throw new TypeError(`callback must be a function, got ${typeName(callback)}`);
    }
    const s = resolveOptions(options, process.env, warnOnce);
    this.#settings = s;
    this.#stats = new Stats(s.tableName);
    this.#encrypt = resolveEncrypt(options && options.encrypt); // the keys: here and in C only
    this.#ttlKey = s.ttlKey;
    const dc = options && options.dynamoConfig ? options.dynamoConfig : {};
    const { source, isStatic, description } = credentialSource(dc, process.env, { isLocal: s.isLocal });
    this.#native = this.#createNative();
    this.#credentials = new CredentialCache(source, (c) => this.#native.setCredentials(c.accessKeyId, c.secretAccessKey, c.sessionToken), { description, warn: warnOnce });
    this.#credentialsStatic = isStatic;

    let ready = this.#credentials.refresh();
    if (s.autoCreate) ready = ready.then(() => this.#createTable());
    this.#ready = ready.then(
      () => { this.#ready = null; if (callback) callback(); },
      (err) => {
        // Credentials that could not be loaded yet are not final: the next operation tries again.
        if (s.autoCreate || err.code !== 'CredentialsError') this.#initError = err;
        this.#ready = null;
        if (callback) callback(err);
      },
    );
  }

  #credentialsStatic = true;

  #createNative() {
    const s = this.#settings;
    return new binding.NativeStore({
      url: s.endpoint,
      host: s.host,
      region: s.region,
      table: s.tableName,
      hashKey: s.hashKey,
      versionKey: s.versionKey,
      ttlKey: this.#ttlKey,
      userKey: s.users ? s.users.attribute : undefined,
      createdKey: s.createdAtKey,
      reportCapacity: true,
      compress: s.compress || undefined, // { threshold, level }
      encrypt: this.#encrypt || undefined, // copied into the core (and wiped there on close)
      consistentRead: s.consistentRead,
      maxAttempts: s.maxAttempts,
      connectTimeout: s.connectTimeout,
      requestTimeout: s.requestTimeout,
      operationTimeout: s.operationTimeout,
      maxConnections: s.maxConnections,
      caFile: s.caFile,
      proxy: s.proxy, // resolved from the environment by resolveOptions (undefined: none)
      noProxy: s.noProxy,
      userAgent: `koa-session-dynamodb-store/${pkg.version}`,
    });
  }

  /** Runs fn once the store is ready (credentials loaded, table created when autoCreate). */
  #whenReady(fn) {
    if (this.#closed) return Promise.reject(closedError());
    // Accepted before close(): it runs, and close() waits for it, even when it first waits for
    // the credentials or the table.
    const op = this.#start(fn);
    this.#ops.add(op);
    const forget = () => this.#ops.delete(op);
    op.then(forget, forget);
    return op;
  }

  #start(fn) {
    if (this.#ready) return this.#ready.then(() => this.#start(fn));
    if (this.#initError) return Promise.reject(this.#initError);
    if (!this.#credentialsStatic) return this.#withCredentials(fn);
    return fn();
  }

  #ops = new Set(); // operations accepted and not yet settled

  /**
   * For a refreshable source: refreshes the credentials first when they are due, and when the
   * service refuses them (expired or unknown token) refreshes once and retries once.
   */
  #withCredentials(fn) {
    const creds = this.#credentials;
    const run = () => {
      const generation = creds.generation;
      return fn().catch((err) => {
        if (!err || (err.code !== 'ExpiredTokenException' && err.code !== 'UnrecognizedClientException')) throw err;
        return creds.renew(generation).then((retry) => { if (!retry) throw err; return fn(); });
      });
    };
    return creds.fresh() ? run() : creds.ensure().then(run);
  }

  /**
   * koa-session: get(key, maxAge, { rolling, ctx }) → the session, or undefined when there is none
   * or it has expired.
   */
  get(key, maxAge, opts) {
    const bad = checkKey(key, 'get');
    if (bad) return Promise.reject(bad);
    const ctx = contextOf(opts);
    const t0 = performance.now();
    // (the promise close() waits for is the native one: a promise of the parsed session kept in
    // #ops made every 100 KB get cost a third more in garbage collection)
    return this.#whenReady(() => this.#native.get(key)).then((text) => {
      const a = this.#answered('GetItem', t0, text);
      if (!a.found) {
        if (a.unreadable) this.#stats.unreadable++;
        if (ctx) this.#reads.delete(ctx);
        return undefined;
      }
      const sess = JSON.parse(a.payload);
      if (ctx) this.#reads.set(ctx, { key, version: a.version, text: a.payload, blob: a.blob });
      return sess;
    }, (err) => this.#failed('GetItem', t0, err));
  }

  /** A native answer read and counted (see #op); the object is reused by the next answer. */
  #answered(operation, t0, text) {
    const a = readAnswer(text);
    this.#stats.record(operation, performance.now() - t0, a);
    return a;
  }

  #failed(operation, t0, err) {
    this.#stats.record(operation, performance.now() - t0, err || {}, (err && err.code) || 'Error');
    throw err;
  }

  /**
   * One native operation, counted (stats(), the diagnostics channel, NODE_DEBUG): resolves the
   * answer's fields (lib/stats.js readAnswer), rejects with the store's error.
   */
  #op(operation, fn, map = COPY) {
    const t0 = performance.now();
    // (one object for every answer: map reads it now, or copies it)
    return fn().then((text) => map(this.#answered(operation, t0, text)), (err) => this.#failed(operation, t0, err));
  }

  /**
   * koa-session: set(key, sess, maxAge, { rolling, changed, ctx }). maxAge in ms, or 'session'
   * (then the item lives sessionMaxAge, one day by default). With the ctx of a request that read
   * this key, only what changed is written, and a session destroyed meanwhile is not brought back
   * (see the README, "Parallel requests").
   */
  set(key, sess, maxAge, opts) {
    const bad = checkKey(key, 'set');
    if (bad) return Promise.reject(bad);
    let lifetime = maxAge;
    if (maxAge === 'session' || maxAge === undefined || maxAge === null) lifetime = this.#settings.sessionMaxAge;
    else if (typeof maxAge !== 'number') {
      return Promise.reject(new TypeError(`set(key, sess, maxAge): maxAge must be a number of ms or 'session', got ${typeName(maxAge)}`));
    } else if (!Number.isFinite(maxAge) || Math.abs(maxAge) > LIMITS.sessionMaxAge) {
      // the expiry must stay a safe epoch (the native core takes it as a 64-bit integer)
      return Promise.reject(new RangeError(`set(key, sess, maxAge): maxAge must be a finite number of ms between -${LIMITS.sessionMaxAge} and ${LIMITS.sessionMaxAge} (100 years), got ${maxAge}`));
    }
    let json;
    try {
      json = JSON.stringify(sess);
    } catch (cause) {
      return Promise.reject(new TypeError(`set(key, sess): the session cannot be serialized to JSON: ${cause.message}`, { cause }));
    }
    if (typeof json !== 'string') {
      return Promise.reject(new TypeError(`set(key, sess): the session must be a JSON-serializable value, got ${typeName(sess)}`));
    }
    // Rounded up: a lifetime under a second must not give an item that is expired at once.
    const now = Date.now();
    const expires = Math.ceil((now + lifetime) / 1000);
    const s = this.#settings;
    const ctx = contextOf(opts);
    const seen = ctx && this.#reads.get(ctx);
    const read = seen && seen.key === key ? seen : null;
    const plan = planSave({ mode: s.concurrency, read, sess, json, now, touchAfterMs: s.touchAfter * 1000 });
    if (plan.kind === 'skip') {
      this.#stats.touchesSkipped++;
      return this.#closed ? Promise.reject(closedError()) : Promise.resolve();
    }
    // a session stored as a blob (compressed or encrypted) is written whole: see #writeWhole
    const blob = this.#storedAsBlob(json); // (what the write stores; what was read may be a blob too)
    if (plan.kind === 'update' && (blob || (read && read.blob))) plan.whole = true;
    // users: the item's user attribute follows the session (null: removed); createdAt is written once
    let attrs = NO_ATTRS;
    if (s.users) {
      try {
        attrs = { user: userIdOf(s.users, sess), createdAt: Math.floor(now / 1000) };
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#whenReady(() => this.#write(key, plan, json, expires, attrs)).then((outcome) => {
      if (!ctx) return;
      if (outcome === 'gone') this.#reads.delete(ctx);
      else this.#reads.set(ctx, { key, version: outcome, text: json, blob });
    });
  }

  /**
   * One planned write (lib/writes.js). Resolves the item's version after it, or 'gone' when the
   * session was destroyed meanwhile (nothing written: a destroyed session is never brought back).
   */
  async #write(key, plan, json, expires, { user, createdAt }) {
    const n = this.#native;
    const read = plan.readVersion;
    const put = (version, requireExists) => this.#op('UpdateItem', () => n.put(key, json, expires, version, requireExists, plan.expectVersion, user, createdAt), NOTHING);
    if (plan.whole) return this.#writeWhole(key, plan, json, expires, { user, createdAt });
    try {
      if (plan.kind === 'put') {
        await put(plan.newVersion, plan.requireExists);
        return plan.newVersion;
      }
      try {
        await this.#op('UpdateItem', () => n.update(key, plan.set, plan.remove, expires, plan.versioned, plan.requireExists, plan.expectVersion, user, createdAt), NOTHING);
      } catch (err) {
        // more fields than one update expression can carry, or an item whose session is not a map
        // (a row written by hand): the whole session, same conditions
        if (err.code !== 'UpdateTooLarge' && !(err.code === 'ValidationException' && /document path/i.test(err.message))) throw err;
        const v = plan.nextVersion;
        await put(v, true);
        return v;
      }
      return plan.versioned ? plan.nextVersion : read;
    } catch (err) {
      if (err.code === 'ConditionalCheckFailedException') {
        // merge, overwrite and touches only ask that the item still exists
        if (plan.expectVersion === -2) return 'gone';
        // strict: destroyed, or written by someone else since this request read it?
        if (!(await this.#op('GetItem', () => n.get(key))).found) return 'gone';
        this.#stats.conflicts++;
        throw new DynamoDBStoreError(`set(key): the session was changed by another request since this one read it (concurrency 'strict'); the newer session is kept`, {
          code: 'SessionConflict', operation: err.operation, retryable: false, attempts: err.attempts,
        });
      }
      throw this.#writeError(err);
    }
  }

  /**
   * Will this session be stored as a blob, which only a whole write can change? Encryption is on,
   * or compression is on and the JSON passes its threshold (as the core decides: UTF-8 bytes).
   */
  #storedAsBlob(json) {
    if (this.#encrypt) return true;
    const c = this.#settings.compress;
    if (!c || json.length * 3 <= c.threshold) return false;
    return json.length > c.threshold || Buffer.byteLength(json) > c.threshold;
  }

  /**
   * A change or a touch of a session stored whole (a blob). A touch writes it again without a new
   * version, on condition that it still has the version read. A change is written on condition that the version
   * is still the one read; in 'merge' mode, when another request wrote meanwhile, this request's own
   * changes (the fields it set and removed) are applied to the newer session and written again (up
   * to MERGE_RETRIES times), so parallel requests do not lose each other's changes here either.
   */
  async #writeWhole(key, plan, json, expires, { user, createdAt }) {
    const n = this.#native;
    if (plan.touch) {
      // on condition that nobody wrote since the read: the whole blob must not undo a parallel
      // change. When somebody did, that write gave the item a fresh expiry too: nothing to do.
      try {
        await this.#op('UpdateItem', () => n.put(key, json, expires, 0, true, plan.readVersion, user, createdAt), NOTHING);
        return plan.readVersion;
      } catch (err) {
        if (err.code === 'ConditionalCheckFailedException') return 'gone';
        throw this.#writeError(err);
      }
    }
    let expect = plan.readVersion;
    let text = json;
    for (let attempt = 0; ; attempt++) {
      const version = expect >= 0 ? expect + 1 : 1;
      try {
        await this.#op('UpdateItem', () => n.put(key, text, expires, version, true, expect, user, createdAt), NOTHING);
        return version;
      } catch (err) {
        if (err.code !== 'ConditionalCheckFailedException') throw this.#writeError(err);
        const fresh = await this.#op('GetItem', () => n.get(key));
        if (!fresh.found) return 'gone';
        this.#stats.conflicts++;
        if (this.#settings.concurrency === 'strict' || attempt >= MERGE_RETRIES) {
          throw new DynamoDBStoreError(`set(key): the session was changed by another request since this one read it (concurrency '${this.#settings.concurrency}'); the newer session is kept`, {
            code: 'SessionConflict', operation: err.operation, retryable: false, attempts: err.attempts,
          });
        }
        // this request's changes on top of the newer session
        const merged = JSON.parse(fresh.payload);
        if (merged === null || typeof merged !== 'object' || Array.isArray(merged)) throw this.#writeError(err);
        if (plan.set) Object.assign(merged, JSON.parse(plan.set));
        if (plan.remove) for (const f of JSON.parse(plan.remove)) delete merged[f];
        text = JSON.stringify(merged);
        expect = fresh.version;
      }
    }
  }

  /** A write's error as the store reports it (an item over DynamoDB's size limit: SessionTooLarge). */
  #writeError(err) {
    if (err.code === 'ValidationException' && /item size/i.test(err.message)) {
      return new DynamoDBStoreError(`set(key): the session would take the item over DynamoDB's 400 KB limit (${err.message})`, {
        code: 'SessionTooLarge', operation: err.operation, retryable: false, attempts: err.attempts,
      });
    }
    return err;
  }

  /** koa-session: destroy(key, { ctx }). Unconditional. */
  destroy(key, opts) {
    const bad = checkKey(key, 'destroy');
    if (bad) return Promise.reject(bad);
    const ctx = contextOf(opts);
    if (ctx) this.#reads.delete(ctx);
    const t0 = performance.now();
    return this.#whenReady(() => this.#native.delete(key)).then((text) => { this.#answered('DeleteItem', t0, text); },
      (err) => this.#failed('DeleteItem', t0, err));
  }

  /**
   * What the store did and what it cost since it was created: per DynamoDB operation its count,
   * errors by code, retries, throttled attempts and latency (p50, p99, ms); the capacity units
   * DynamoDB reported; conflicts (concurrency 'strict'), touches skipped (touchAfter), sessions
   * dropped as unreadable. See the README, "What the store does and costs".
   */
  stats() {
    return this.#stats.snapshot();
  }

  /** users: the live sessions of a user, newest first: [{ key, expires: Date, createdAt: Date | null }]. */
  sessionsOf(userId) {
    return this.#usersOp('sessionsOf', (ctx) => users().sessionsOf(ctx, userId));
  }

  /**
   * users: destroys every session of a user (but `except`: a key or keys to keep, e.g. the current
   * one); resolves how many were destroyed. A request of one of them still in flight cannot bring
   * it back (its save is conditional on the item existing).
   */
  destroySessionsOf(userId, options = {}) {
    return this.#usersOp('destroySessionsOf', (ctx) => users().destroySessionsOf(ctx, userId, options));
  }

  /** The table as DynamoDB describes it (status, key schema, TTL, billing, item count, indexes). */
  describeTable() {
    return this.#whenReady(() => users().describeTable(this.#usersContext()));
  }

  /** An item's metadata (expiry, creation, user, version, size), or null: for operators (the CLI). */
  inspect(key) {
    const bad = checkKey(key, 'inspect');
    if (bad) return Promise.reject(bad);
    return this.#whenReady(() => users().inspectItem(this.#usersContext(), key));
  }

  #usersOp(method, fn) {
    if (!this.#settings.users) {
      return Promise.reject(new TypeError(`${method}() needs the users option: new DynamoDBStore({ users: { of: (session) => session.userId } })`));
    }
    return this.#whenReady(() => fn(this.#usersContext()));
  }

  #usersContext() {
    return { call: (operation, body) => this.#call(operation, body), settings: { ...this.#settings, ttlKey: this.#ttlKey }, warn: warnOnce };
  }

  /**
   * Creates the table when it does not exist (string hash key), waits until it is ACTIVE and
   * enables TTL on ttlKey (when useTtlExpired). On an existing table: TTL that is off gets enabled,
   * an enabled TTL on another attribute wins (with a warning), and provisioned capacity is updated
   * when it differs (never on an on-demand table). Safe when several processes run it at once.
   * @param {(err?: Error) => void} [callback] optional, for the JavaScript package's callback style
   */
  createTableIfDontExists(callback) {
    const p = this.#whenReady(() => this.#createTable()); // after start-up; closed and failed stores reject
    if (typeof callback === 'function') {
      p.then(() => callback(), (err) => callback(err));
      return undefined;
    }
    return p;
  }

  /** One DynamoDB operation through the native core's generic call, with the store's credentials. */
  #call(operation, body) {
    const call = () => this.#op(operation, () => this.#native.call(operation, body), PAYLOAD);
    return this.#credentialsStatic ? call() : this.#withCredentials(call);
  }

  async #createTable() {
    const { ttlKey } = await ensureTable({
      settings: this.#settings,
      ttlKey: this.#ttlKey,
      call: (operation, body) => this.#call(operation, body),
      warn: warnOnce,
    });
    if (ttlKey !== this.#ttlKey) await this.#switchTtlKey(ttlKey);
  }

  // The TTL attribute is part of the native client's configuration: replace the client.
  async #switchTtlKey(name) {
    const old = this.#native;
    this.#ttlKey = name;
    this.#native = this.#createNative();
    await this.#credentials.reapply();
    await old.close();
  }

  /** The attribute the expiry epoch seconds are written to (it may follow the table's TTL setting). */
  get ttlKey() {
    return this.#ttlKey;
  }

  /** Waits for requests in flight, then stops the store's thread. Idempotent; later calls reject. */
  async close() {
    this.#closed = true;
    if (this.#ready) await this.#ready.catch(() => {});
    while (this.#ops.size) await Promise.allSettled([...this.#ops]);
    await this.#native.close();
    if (this.#encrypt) for (const k of this.#encrypt.keys) k.fill(0);
  }

  [util.inspect.custom](depth, opts, inspect = util.inspect) {
    const s = this.#settings;
    const view = {
      table: s.tableName, hashKey: s.hashKey, ttlKey: this.#ttlKey, endpoint: s.endpoint, region: s.region,
      consistentRead: s.consistentRead, credentials: this.#credentials.describe(), closed: this.#closed,
    };
    return `DynamoDBStore ${inspect(view, opts)}`;
  }

  toJSON() {
    return { table: this.#settings.tableName, endpoint: this.#settings.endpoint, region: this.#settings.region };
  }

  /** Library versions, for the OpenSSL check: { curl, curlSsl, curlThreadsafe }. */
  static versions() {
    return binding.versions();
  }
}

DynamoDBStore.DynamoDBStore = DynamoDBStore;
DynamoDBStore.DynamoDBStoreError = DynamoDBStoreError;
DynamoDBStore.LOCAL_ERROR_CODES = LOCAL_ERROR_CODES;
DynamoDBStore.default = DynamoDBStore;
module.exports = DynamoDBStore;
