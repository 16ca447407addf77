'use strict';

/**
 * Test DynamoDB server: dynalite (in memory) behind a SigV4-verifying HTTP proxy.
 *
 * dynalite does not check request signatures at all, so every POST that reaches
 * the proxy is verified here first, independently of the project's own signer
 * (the expected signature is recomputed with @smithy/signature-v4 + @aws-crypto/sha256-js).
 * Only verified requests are forwarded to dynalite.
 *
 * Usage:
 *
 *   const { startTestServer } = require('./support/server');
 *   const server = await startTestServer();
 *   // point the code under test at server.endpoint / server.region / server.credentials
 *   await server.createTable('sessions');                       // hashKey 'sessionId' (S), waits for ACTIVE
 *   ... exercise the store ...
 *   assert.equal(server.stats.rejected, 0, server.stats.rejections.join('\n'));
 *   assert.ok(server.stats.verified > 0);
 *   const item = await server.getItem('sessions', 'sessionId', 'abc'); // raw AttributeValue map or undefined
 *   await server.close();
 *
 * ## startTestServer(options?) -> Promise<TestServer>
 *
 * options (all optional):
 *   - region            {string}  signing region accepted by the server (default 'us-east-1')
 *   - credentials       {{accessKeyId, secretAccessKey, sessionToken?, expiresAt?}} primary identity
 *                                 (default: random 'AKIDTEST' + hex / random secret)
 *   - createTableMs     {number}  time tables stay CREATING (default 0)
 *   - deleteTableMs     {number}  time tables stay DELETING (default 0)
 *   - updateTableMs     {number}  time tables stay UPDATING (default 0)
 *   - maxItemSizeKb     {number}  passed to dynalite (default 400)
 *   - ttlTransitionMs   {number}  if > 0, UpdateTimeToLive goes through ENABLING / DISABLING for
 *                                 this long before ENABLED / DISABLED (default 0: immediate)
 *   - indexCreateMs     {number}  time a global secondary index added by UpdateTable stays CREATING
 *                                 (Backfilling) after its backfill, with the table UPDATING (default 0)
 *   - gsiUpdates        {'emulate'|'dynalite'} how UpdateTable's GlobalSecondaryIndexUpdates Create is
 *                                 answered: 'emulate' (default) creates and backfills the index (see the
 *                                 dynalite notes); 'dynalite' forwards it as is: plain dynalite answers
 *                                 200 and creates nothing (an emulator without GSI updates). To see a
 *                                 refusal (LimitExceededException, ...), inject a 'respond' fault.
 *   - clockSkewMs       {number}  allowed |now - X-Amz-Date| (default 15 min, like AWS)
 *   - now               {() => number} clock used for X-Amz-Date and token-expiry checks (default Date.now);
 *                                 when given, every answer's Date header shows this clock (a server
 *                                 whose clock differs from the client's)
 *   - requiredSignedHeaders {string[]} headers that must be in SignedHeaders (default
 *                                 ['content-type', 'host', 'x-amz-date', 'x-amz-target']; x-amz-security-token
 *                                 is always required when sent). Real DynamoDB only insists on host: aws-sdk v2
 *                                 (used by koa-session-dynamodb-store v1) does NOT sign content-type, so pass
 *                                 ['host', 'x-amz-date', 'x-amz-target'] for tests that talk through aws-sdk v2.
 *   - keepAliveTimeoutMs {number} idle keep-alive timeout of the proxy (default 0 = never closes idle
 *                                 client connections; set e.g. 100 to test a client's stale-socket handling)
 *
 * ## TestServer
 *
 *   - endpoint          'http://127.0.0.1:<proxyPort>'  (use this one; it verifies signatures)
 *   - dynaliteEndpoint  'http://127.0.0.1:<dynalitePort>' (raw dynalite, NO verification, no TTL emulation)
 *   - region            string
 *   - credentials       { accessKeyId, secretAccessKey }  the primary identity
 *   - stats             live object, mutated in place (never replaced):
 *        { requests,      // client POSTs received (excludes harness-internal helper requests)
 *          verified,      // client POSTs whose signature verified
 *          rejected,      // requests rejected by auth checks (INCLUDING internal ones)
 *          rejections,    // [string] one reason per rejection, e.g. 'InvalidSignatureException: ...' (capped at 1000)
 *          byTarget,      // { GetItem: n, ... } client POSTs per X-Amz-Target operation (verified or not)
 *          forwarded,     // requests actually forwarded to dynalite (client + internal helpers; not the
 *                         // DescribeTable lookups the TTL emulation makes)
 *          emulated,      // { UpdateTimeToLive: n, DescribeTimeToLive: n, UpdateTable: n, Query: n, Scan: n }
 *                         // answered by the proxy (UpdateTable: GSI creations; Query/Scan: refused reads
 *                         // of an index still being created)
 *          faults,        // number of fault firings
 *          faultsByKind,  // { throttle: n, ... }
 *          internal,      // verified requests made by the harness helpers (send/getItem/...)
 *          passthrough,   // non-POST requests (e.g. GET / health check) passed to dynalite unverified
 *          connections }  // TCP connections accepted (the harness's own included)
 *   - resetStats()      zero all counters (in place)
 *
 *   - addCredentials({ accessKeyId?, secretAccessKey?, sessionToken?, expiresAt? }) -> creds
 *        accept another identity (missing key/secret are generated). With sessionToken the request
 *        must carry a matching, signed X-Amz-Security-Token. expiresAt (ms epoch): after it ->
 *        400 ExpiredTokenException. Calling again with the same accessKeyId replaces the entry.
 *   - removeCredentials(accessKeyId)
 *
 *   - injectFault(fault) -> handle   queue a fault for the next matching verified client request(s).
 *        fault = { kind, target?: 'GetItem' (default: any op), count?: 1 (Infinity ok),
 *                  filter?: ({ target, body }) => boolean, ...kind options }
 *        kinds:
 *          'throttle'       400 ProvisionedThroughputExceededException (not forwarded)
 *          'throttling'     400 ThrottlingException (not forwarded)
 *          'status'         { status: 500|502|503|504 } InternalFailure JSON (503: ServiceUnavailableException)
 *          'reset-before'   socket destroyed (RST) before forwarding: dynalite never sees the request
 *          'reset-after'    forwarded and applied by dynalite, then client socket destroyed (RST) without an answer
 *                           (node:http clients see ECONNRESET; if the client already half-closed, a FIN is
 *                           sent instead of the RST)
 *          'delay'          { ms, before?: false } forward, hold the answer ms, then answer normally.
 *                           ms: Infinity -> never answers (close() still ends it).
 *                           before: true -> hold BEFORE forwarding (so an abandoned request never applies)
 *          'malformed'      200, body 'not json {' (correct crc)
 *          'truncated'      forwarded; real status/headers incl. real Content-Length, then only half of the
 *                           body ({ bytes } to choose how many) and the socket is closed (FIN)
 *          'bad-crc'        forwarded; real answer with a wrong x-amz-crc32
 *          'content-type'   200 text/html '<html>...' ({ status } to override)
 *          'oversized'      200, valid JSON body of { bytes } bytes (default 20 MB) with correct length/crc
 *          'garbage-status' error body {"__type":"...#ValidationException","message":"x"} sent with
 *                           HTTP status { status } (default 200, i.e. an error body under a success status;
 *                           pass status: 400 for a genuine error answer)
 *          'respond'        { status=200, headers={}, body='', chunked=false } arbitrary canned answer
 *                           (chunked: Transfer-Encoding chunked, the body in three chunks written apart)
 *        Synthetic answers (throttle, throttling, status, malformed, content-type, oversized,
 *        garbage-status, respond) do NOT reach dynalite unless { forward: true } is given (then the
 *        request is applied first and its real answer discarded).
 *        handle: the stored fault object; handle.fired counts firings, handle.remaining what is left.
 *   - clearFaults()     drop all queued faults
 *   - faults            the live queue (array of handles), read-only please
 *
 *   - send(target, bodyObject, { credentials?, internal = true, headers?, timeoutMs = 10000,
 *                                region?, signingDate? })
 *        -> Promise<{ status, headers, body }>  a correctly signed raw request through the proxy
 *        (signed with @smithy/signature-v4, not the project's code). body is parsed JSON when it
 *        parses, else the raw text. Never throws for HTTP errors (check status).
 *        internal (default): counted only in stats.internal, never consumes faults.
 *        internal: false: counted like any client request and subject to faults.
 *   - getItem(table, hashKeyName, keyValue) -> Promise<Item | undefined>   consistent read;
 *        keyValue string -> {S}, number -> {N}, Buffer -> {B}, or an AttributeValue object.
 *        getItem(table, keyMap) also works (keyMap = full raw Key).
 *   - putItem(table, item) -> Promise<void>     item is a raw AttributeValue map
 *   - deleteItem(table, hashKeyName, keyValue) -> Promise<void>
 *   - scan(table) -> Promise<Item[]>            all items (consistent, paged)
 *   - createTable(name, { hashKey = 'sessionId', hashKeyType = 'S', billingMode = 'PROVISIONED'|'PAY_PER_REQUEST',
 *                         rcu = 5, wcu = 5, wait = true }) -> Promise<TableDescription> (ACTIVE when wait)
 *   - describeTable(name) -> Promise<Table | undefined>   undefined when the table does not exist
 *   - deleteTable(name) -> Promise<void>
 *   - describeTimeToLive(name) -> Promise<TimeToLiveDescription>
 *   - waitForTableStatus(name, status = 'ACTIVE', timeoutMs = 10000) -> Promise<Table>
 *        status 'DELETED' waits until the table is gone.
 *        Helpers throw HarnessRequestError { status, code, body } on non-2xx answers.
 *
 *   - close() -> Promise<void>  closes proxy (all sockets), pending delays, agents and dynalite. Idempotent.
 *
 * Auth checks, in order (all 400, DynamoDB JSON error shape, Content-Type application/x-amz-json-1.0,
 * x-amzn-RequestId, x-amz-crc32):
 *   no Authorization -> MissingAuthenticationTokenException; malformed header / missing X-Amz-Date ->
 *   IncompleteSignatureException; X-Amz-Date off by > 15 min -> InvalidSignatureException 'Signature expired...';
 *   scope region/service/terminator/date mismatch -> InvalidSignatureException; SignedHeaders missing one of
 *   content-type, host, x-amz-date, x-amz-target (+ x-amz-security-token when sent) -> InvalidSignatureException;
 *   unknown access key / wrong or missing session token -> UnrecognizedClientException; expired identity ->
 *   ExpiredTokenException; x-amz-content-sha256 not matching the body, or signature mismatch ->
 *   InvalidSignatureException (the message includes the expected canonical request and string-to-sign).
 *   Signing with a signed 'Date' header instead of X-Amz-Date is not supported (rejected).
 *
 * dynalite notes (v4): it has no UpdateTimeToLive, and its DescribeTimeToLive always says DISABLED; both are
 * answered by the proxy from per-table state (dropped when DeleteTable succeeds). CreateTable answers
 * TableStatus 'CREATING' even with createTableMs 0 (ACTIVE a tick later): wait for ACTIVE. PAY_PER_REQUEST
 * tables describe as BillingModeSummary { BillingMode: 'PAY_PER_REQUEST', LastUpdateToPayPerRequestDateTime }
 * with ProvisionedThroughput { ReadCapacityUnits: 0, WriteCapacityUnits: 0, NumberOfDecreasesToday: 0 };
 * provisioned tables have NO BillingModeSummary. UpdateTable with ProvisionedThroughput on an on-demand
 * table -> 400 ValidationException.
 *
 * Global secondary indexes: dynalite creates them with CreateTable (CREATING, then ACTIVE with the table)
 * and maintains them on every write (synchronously: the harness's indexes are never stale, unlike
 * DynamoDB's, which are eventually consistent); Query on an index with Limit pages correctly
 * (LastEvaluatedKey holds the table key and the index key). But its UpdateTable validates a
 * GlobalSecondaryIndexUpdates Create, answers 200 and creates nothing. The proxy emulates that Create
 * (gsiUpdates 'emulate', the default) on dynalite's own store, captured when the server starts: it
 * checks the request as DynamoDB does (table ACTIVE, one index creation at a time, key attributes in
 * AttributeDefinitions with their types, ProvisionedThroughput required on a provisioned table and
 * refused on an on-demand one, no existing index of that name), adds the index (IndexStatus CREATING,
 * Backfilling true, table UPDATING), backfills it from the table's items, then after indexCreateMs marks
 * it ACTIVE. Query / Scan on an index still CREATING -> 400 ValidationException 'Cannot read from
 * backfilling global secondary index: <name>', as DynamoDB answers. Only a Create alone is emulated
 * (with other changes in the same UpdateTable -> 400 ValidationException naming the test server); the
 * backfill is not isolated from writes to the same items made while it runs (add indexes to quiet
 * tables). Delete and Update of an index are dynalite's (Delete: accepted, nothing happens).
 *
 * Other exports: HarnessRequestError (class), crc32(bufOrString, prev?) -> unsigned CRC32 as DynamoDB uses
 * for x-amz-crc32.
 *
 * CLI: `node test/support/server.js` prints one JSON line {endpoint, region, accessKeyId, secretAccessKey,
 * dynaliteEndpoint} and runs until SIGINT/SIGTERM.
 */

const http = require('node:http');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { once } = require('node:events');
const { SignatureV4, getCanonicalHeaders } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');

const CORAL = 'com.amazon.coral.service#';
const CORAL_VALIDATE = 'com.amazon.coral.validate#';
const CORAL_AVAIL = 'com.amazon.coral.availability#';
const DDB = 'com.amazonaws.dynamodb.v20120810#';
const JSON_CT = 'application/x-amz-json-1.0';
const MAX_REQUEST_BYTES = 16 * 1024 * 1024 + 1024;
const MAX_REJECTIONS = 1000;
const REQUIRED_SIGNED = ['content-type', 'host', 'x-amz-date', 'x-amz-target'];
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
]);
const FAULT_KINDS = new Set([
  'throttle', 'throttling', 'status', 'reset-before', 'reset-after', 'delay', 'malformed', 'truncated',
  'bad-crc', 'content-type', 'oversized', 'garbage-status', 'respond',
]);
const SIG_MISMATCH = 'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const BAD_TOKEN = 'The security token included in the request is invalid.';

// ---------------------------------------------------------------------------------------------
// small utilities

let crcTable;
/** CRC32 (IEEE) as an unsigned integer; `prev` continues a running CRC. */
function crc32(buf, prev = 0) {
  if (typeof buf === 'string') buf = Buffer.from(buf);
  if (typeof zlib.crc32 === 'function') return zlib.crc32(buf, prev);
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let crc = (prev ^ -1) | 0;
  for (let i = 0; i < buf.length; i++) crc = crcTable[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

function randomHex(bytes) {
  return crypto.randomBytes(bytes).toString('hex');
}

function sha256Hex(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(d.getTime()) ? null : d;
}

function formatAmzDate(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** lowercased header name -> values joined with ',' (AWS canonical rule), from rawHeaders. */
function collectHeaders(rawHeaders) {
  const out = Object.create(null);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    out[name] = name in out ? out[name] + ',' + value : value;
  }
  return out;
}

class HarnessRequestError extends Error {
  constructor(target, status, body) {
    const type = body && typeof body === 'object' && body.__type ? String(body.__type) : '';
    const code = type ? type.slice(type.lastIndexOf('#') + 1) : `HTTP${status}`;
    const msg = body && typeof body === 'object' ? body.message || body.Message || '' : String(body || '');
    super(`${target} failed: ${status} ${code}${msg ? ': ' + msg : ''}`);
    this.name = 'HarnessRequestError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

function toAttributeValue(v) {
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number' || typeof v === 'bigint') return { N: String(v) };
  if (Buffer.isBuffer(v)) return { B: v.toString('base64') };
  if (v && typeof v === 'object') return v;
  throw new TypeError('key value must be a string, number, Buffer or AttributeValue object');
}

// ---------------------------------------------------------------------------------------------

/**
 * Start dynalite + the verifying proxy. See the module comment for the full API.
 * @param {object} [options]
 * @returns {Promise<object>} the TestServer
 */
async function startTestServer(options = {}) {
  const region = options.region || 'us-east-1';
  const now = typeof options.now === 'function' ? options.now : Date.now;
  const ownClock = typeof options.now === 'function'; // answers carry Date: now(), not dynalite's
  const clockSkewMs = options.clockSkewMs != null ? options.clockSkewMs : 15 * 60 * 1000;
  const ttlTransitionMs = options.ttlTransitionMs || 0;
  const requiredSigned = (options.requiredSignedHeaders || REQUIRED_SIGNED).map((h) => String(h).toLowerCase());

  const identities = new Map(); // accessKeyId -> { accessKeyId, secretAccessKey, sessionToken?, expiresAt? }
  const ttlState = new Map(); // table -> { status, attributeName, until }
  const indexCreateMs = options.indexCreateMs || 0;
  const gsiUpdates = options.gsiUpdates || 'emulate';
  if (gsiUpdates !== 'emulate' && gsiUpdates !== 'dynalite') throw new TypeError("startTestServer: gsiUpdates must be 'emulate' or 'dynalite'");
  const creatingIndexes = new Map(); // `${table}\0${index}` -> true while an emulated index is CREATING
  const indexTimers = new Set();
  const faults = [];
  const pendingTimers = new Set();
  const inflightUpstream = new Set();
  const internalToken = randomHex(16);
  const stats = {};
  let closed = false;
  let closing = null;

  function resetStats() {
    Object.assign(stats, {
      requests: 0,
      verified: 0,
      rejected: 0,
      rejections: [],
      byTarget: {},
      forwarded: 0,
      emulated: {},
      faults: 0,
      faultsByKind: {},
      internal: 0,
      passthrough: 0,
      connections: 0,
    });
  }
  resetStats();

  function addCredentials(creds = {}) {
    const entry = {
      accessKeyId: creds.accessKeyId || 'AKIDTEST' + randomHex(6).toUpperCase(),
      secretAccessKey: creds.secretAccessKey || randomHex(20),
    };
    if (creds.sessionToken != null) entry.sessionToken = String(creds.sessionToken);
    if (creds.expiresAt != null) entry.expiresAt = +creds.expiresAt;
    identities.set(entry.accessKeyId, entry);
    return { ...entry };
  }
  function removeCredentials(accessKeyId) {
    return identities.delete(accessKeyId);
  }
  const primary = addCredentials(options.credentials || {});
  const credentials = { accessKeyId: primary.accessKeyId, secretAccessKey: primary.secretAccessKey };
  if (primary.sessionToken) credentials.sessionToken = primary.sessionToken;

  // --- dynalite -------------------------------------------------------------------------------
  // Its store (tables, items, indexes) is captured as dynalite creates it, for the GSI emulation.
  const dynaliteDb = require('dynalite/db');
  const realCreate = dynaliteDb.create;
  let dynaliteStore = null;
  dynaliteDb.create = function captureStore(...args) {
    dynaliteStore = realCreate.apply(this, args);
    return dynaliteStore;
  };
  let dynalite;
  try {
    dynalite = require('dynalite')({
      createTableMs: options.createTableMs || 0,
      deleteTableMs: options.deleteTableMs || 0,
      updateTableMs: options.updateTableMs || 0,
      maxItemSizeKb: options.maxItemSizeKb || 400,
    });
  } finally {
    dynaliteDb.create = realCreate;
  }
  if (!dynaliteStore) throw new Error('test server: could not capture dynalite\'s store (dynalite changed?)');
  // Never close idle keep-alive connections from our agent (avoids the reuse-while-closing race);
  // close() destroys the agent and dynalite.close() then ends everything.
  dynalite.keepAliveTimeout = 0;
  dynalite.listen(0, '127.0.0.1');
  await once(dynalite, 'listening');
  const dynalitePort = dynalite.address().port;
  const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 512 });
  const sendAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });

  /**
   * Forward a complete request to dynalite. Resolves with the upstream response (not yet consumed).
   * A request that fails on a reused keep-alive socket before any response is retried once on a
   * fresh connection (the classic idle-socket race; dynalite never saw that request).
   */
  function upstreamRequest(method, path, headers, body, retried = false, count = true) {
    return new Promise((resolve, reject) => {
      if (!retried && count) stats.forwarded++;
      const req = http.request({
        host: '127.0.0.1', port: dynalitePort, method, path, headers, agent: upstreamAgent,
      });
      inflightUpstream.add(req);
      let gotResponse = false;
      const done = () => inflightUpstream.delete(req);
      req.on('response', (res) => {
        gotResponse = true;
        res.on('end', done);
        res.on('close', done);
        resolve(res);
      });
      req.on('error', (err) => {
        done();
        if (!gotResponse && !retried && req.reusedSocket && !closed &&
            (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          resolve(upstreamRequest(method, path, headers, body, true, count));
        } else {
          reject(err);
        }
      });
      req.end(body);
    });
  }

  async function upstreamBuffered(method, path, headers, body, count = true) {
    const res = await upstreamRequest(method, path, headers, body, false, count);
    const chunks = [];
    for await (const c of res) chunks.push(c);
    return { status: res.statusCode, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) };
  }

  function forwardHeaders(req, bodyLength) {
    const out = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const lname = req.rawHeaders[i].toLowerCase();
      if (HOP_BY_HOP.has(lname) || lname === 'content-length' || lname === 'x-harness-internal') continue;
      out.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    out.push('Content-Length', String(bodyLength));
    return out;
  }

  /** Internal proxy -> dynalite call (dynalite only checks that an AWS4 Authorization header exists). */
  async function dynaliteCall(target, payload) {
    const body = Buffer.from(JSON.stringify(payload));
    const d = formatAmzDate(Date.now());
    const headers = {
      'Content-Type': JSON_CT,
      'X-Amz-Target': 'DynamoDB_20120810.' + target,
      'X-Amz-Date': d,
      Authorization: `AWS4-HMAC-SHA256 Credential=internal/${d.slice(0, 8)}/${region}/dynamodb/aws4_request, ` +
        'SignedHeaders=host;x-amz-date, Signature=0',
      'Content-Length': String(body.length),
    };
    const r = await upstreamBuffered('POST', '/', headers, body, false);
    let json;
    try { json = JSON.parse(r.body.toString('utf8')); } catch { json = undefined; }
    return { status: r.status, body: json, raw: r.body };
  }

  // --- responses ------------------------------------------------------------------------------
  function canWrite(res) {
    return !res.headersSent && !res.destroyed && !res.writableEnded;
  }

  function sendRaw(res, status, headers, body) {
    if (!canWrite(res)) return;
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body == null ? '' : String(body));
    const h = { ...headers };
    h['Content-Length'] = String(buf.length);
    res.writeHead(status, h);
    res.end(buf);
  }

  // Transfer-Encoding: chunked, the body in three chunks written apart (no Content-Length).
  async function sendChunked(res, status, headers, body) {
    if (!canWrite(res)) return;
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
    res.writeHead(status, { ...headers, 'Transfer-Encoding': 'chunked' });
    const third = Math.ceil(buf.length / 3);
    for (let i = 0; i < buf.length; i += third) {
      res.write(buf.subarray(i, i + third));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    res.end();
  }

  function amzHeaders(buf, extra) {
    return {
      'Content-Type': JSON_CT,
      'x-amzn-RequestId': crypto.randomUUID(),
      'x-amz-crc32': String(crc32(buf)),
      ...extra,
    };
  }

  function sendJson(res, status, obj) {
    const buf = Buffer.from(JSON.stringify(obj));
    sendRaw(res, status, amzHeaders(buf), buf);
  }

  function sendError(res, status, type, message) {
    const obj = { __type: type };
    if (message != null) obj.message = message;
    sendJson(res, status, obj);
  }

  function sendBuffered(res, r, mutateHeaders) {
    if (!canWrite(res)) return;
    const headers = [];
    for (let i = 0; i < r.rawHeaders.length; i += 2) {
      const lname = r.rawHeaders[i].toLowerCase();
      if (HOP_BY_HOP.has(lname) || lname === 'content-length' || (ownClock && lname === 'date')) continue;
      headers.push(r.rawHeaders[i], mutateHeaders ? mutateHeaders(lname, r.rawHeaders[i + 1]) : r.rawHeaders[i + 1]);
    }
    headers.push('Content-Length', String(r.body.length));
    res.writeHead(r.status, headers);
    res.end(r.body);
  }

  /**
   * Abort the client connection: TCP RST by default, or a plain FIN (graceful) after flushing.
   * RST only on a socket that is fully open: libuv refuses uv_tcp_close_reset() once a shutdown
   * was issued (e.g. Node's http server calls socket.end() when the client half-closes), and
   * Node 20 then never closes the handle, so the process spins forever at exit. In that case (the
   * peer is going away anyway) a plain destroy() is used.
   */
  function destroySocket(res, graceful = false) {
    const sock = res.socket;
    if (!sock || sock.destroyed) return;
    if (graceful) { sock.end(); setTimeout(() => sock.destroy(), 1000).unref(); return; }
    const fullyOpen = sock.readyState === 'open' && !sock.writableEnded && !sock.readableEnded &&
      !sock.connecting && sock._handle;
    if (fullyOpen && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
    else sock.destroy();
  }

  function sleep(ms, res) {
    return new Promise((resolve) => {
      if (ms === Infinity) {
        const entry = { timer: null, resolve: () => {}, res };
        pendingTimers.add(entry);
        if (res) res.on('close', () => pendingTimers.delete(entry));
        return; // never resolves; close() destroys the socket
      }
      const entry = { res, resolve };
      entry.timer = setTimeout(() => { pendingTimers.delete(entry); resolve(); }, Math.max(0, ms));
      pendingTimers.add(entry);
      if (res) {
        res.on('close', () => {
          if (pendingTimers.delete(entry)) { clearTimeout(entry.timer); resolve(); }
        });
      }
    });
  }

  // --- signature verification -----------------------------------------------------------------
  function reject(status, type, message, reason) {
    return { ok: false, status, type, message, reason: reason || message };
  }

  async function verify(req, body, headers) {
    const auth = headers.authorization;
    if (!auth) {
      return reject(400, CORAL + 'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
    }
    const m = /^\s*(\S+)\s+(.*)$/s.exec(auth);
    if (!m || m[1] !== 'AWS4-HMAC-SHA256') {
      return reject(400, CORAL + 'IncompleteSignatureException',
        `Unsupported AWS 'algorithm': '${m ? m[1] : auth}' (only AWS4-HMAC-SHA256 for now). `);
    }
    const params = {};
    for (const part of m[2].split(',')) {
      const p = part.trim();
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
    }
    let msg = '';
    for (const p of ['Credential', 'Signature', 'SignedHeaders']) {
      if (!params[p]) msg += `Authorization header requires '${p}' parameter. `;
    }
    const amzDate = headers['x-amz-date'];
    if (!amzDate) msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
    if (msg) return reject(400, CORAL + 'IncompleteSignatureException', msg + 'Authorization=' + auth);

    const signingDate = parseAmzDate(amzDate);
    if (!signingDate) {
      return reject(400, CORAL + 'IncompleteSignatureException',
        `Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
    }
    const nowMs = now();
    if (signingDate.getTime() < nowMs - clockSkewMs) {
      return reject(400, CORAL + 'InvalidSignatureException',
        `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(nowMs - clockSkewMs)} ` +
        `(${formatAmzDate(nowMs)} - ${Math.round(clockSkewMs / 60000)} min.)`);
    }
    if (signingDate.getTime() > nowMs + clockSkewMs) {
      return reject(400, CORAL + 'InvalidSignatureException',
        `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(nowMs + clockSkewMs)} ` +
        `(${formatAmzDate(nowMs)} + ${Math.round(clockSkewMs / 60000)} min.)`);
    }

    const cred = params.Credential.split('/');
    if (cred.length !== 5) {
      return reject(400, CORAL + 'IncompleteSignatureException',
        'Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, ' +
        `got '${params.Credential}'`);
    }
    const [accessKeyId, credDate, credRegion, credService, terminator] = cred;
    msg = '';
    if (credRegion !== region) msg += `Credential should be scoped to a valid region, not '${credRegion}'. `;
    if (credService !== 'dynamodb') msg += "Credential should be scoped to correct service: 'dynamodb'. ";
    if (terminator !== 'aws4_request') {
      msg += `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `;
    }
    if (credDate !== amzDate.slice(0, 8)) {
      msg += 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
        `'${credDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`;
    }
    if (msg) return reject(400, CORAL + 'InvalidSignatureException', msg.trim());

    const signedList = params.SignedHeaders.split(';');
    const signedSet = new Set(signedList.map((h) => h.toLowerCase()));
    const hasToken = headers['x-amz-security-token'] != null;
    for (const h of hasToken ? [...requiredSigned, 'x-amz-security-token'] : requiredSigned) {
      if (!signedSet.has(h)) {
        const pretty = h.replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());
        return reject(400, CORAL + 'InvalidSignatureException',
          `'${pretty}' must be a 'SignedHeader' in the AWS Authorization.`);
      }
    }
    for (const h of ['date', 'authorization']) {
      if (signedSet.has(h)) {
        return reject(400, CORAL + 'InvalidSignatureException', SIG_MISMATCH,
          `SignedHeaders contains '${h}', which this harness does not support`);
      }
    }
    for (const h of signedSet) {
      if (headers[h] == null) {
        return reject(400, CORAL + 'InvalidSignatureException', SIG_MISMATCH,
          `signed header '${h}' is not present in the request`);
      }
    }

    const identity = identities.get(accessKeyId);
    if (!identity) {
      return reject(400, CORAL + 'UnrecognizedClientException', BAD_TOKEN, `${BAD_TOKEN} (unknown access key ${accessKeyId})`);
    }
    const token = hasToken ? headers['x-amz-security-token'] : undefined;
    if ((identity.sessionToken || token !== undefined) && identity.sessionToken !== token) {
      return reject(400, CORAL + 'UnrecognizedClientException', BAD_TOKEN,
        `${BAD_TOKEN} (session token ${token === undefined ? 'missing' : 'does not match'} for ${accessKeyId})`);
    }
    if (identity.expiresAt != null && identity.expiresAt <= nowMs) {
      return reject(400, CORAL + 'ExpiredTokenException', 'The security token included in the request is expired',
        `The security token included in the request is expired (${accessKeyId})`);
    }

    const bodyHash = sha256Hex(body);
    const sentHash = headers['x-amz-content-sha256'];
    if (sentHash != null && sentHash !== bodyHash && sentHash !== 'UNSIGNED-PAYLOAD') {
      return reject(400, CORAL + 'InvalidSignatureException', SIG_MISMATCH,
        `x-amz-content-sha256 ${sentHash} does not match the body hash ${bodyHash}`);
    }

    // Rebuild the request with exactly the signed headers and let @smithy/signature-v4 sign it.
    const reqHeaders = {};
    for (const h of signedSet) {
      if (h === 'x-amz-date' || h === 'x-amz-security-token') continue; // the signer sets these itself
      reqHeaders[h] = h === 'x-amz-content-sha256' ? bodyHash : headers[h];
    }
    const qIdx = req.url.indexOf('?');
    const rawPath = qIdx === -1 ? req.url : req.url.slice(0, qIdx);
    let path;
    try { path = decodeURIComponent(rawPath); } catch { path = rawPath; }
    const query = {};
    if (qIdx !== -1) {
      for (const [k, v] of new URLSearchParams(req.url.slice(qIdx + 1))) {
        if (k in query) query[k] = [].concat(query[k], v);
        else query[k] = v;
      }
    }
    const hostHeader = headers.host || '';
    const request = new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: hostHeader.replace(/:\d+$/, ''),
      path,
      query,
      headers: reqHeaders,
      body,
    });
    const signer = new SignatureV4({
      credentials: {
        accessKeyId,
        secretAccessKey: identity.secretAccessKey,
        ...(token !== undefined ? { sessionToken: token } : {}),
      },
      region,
      service: 'dynamodb',
      sha256: Sha256,
      applyChecksum: false,
      uriEscapePath: true,
    });
    const signed = await signer.sign(request, { signingDate, signableHeaders: signedSet });
    const am = /SignedHeaders=([^,]*), Signature=([0-9a-f]+)/.exec(signed.headers.authorization);
    const expectedList = am ? am[1] : '';
    const expectedSig = am ? am[2] : '';
    const given = params.Signature;
    const sigOk = expectedList === params.SignedHeaders && given.length === expectedSig.length &&
      crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expectedSig));
    if (!sigOk) {
      // Reproduce the canonical request / string-to-sign with the same library for the message.
      let detail = '';
      try {
        const canonicalHeaders = getCanonicalHeaders(signed, undefined, signedSet);
        const canonical = signer.createCanonicalRequest(signed, canonicalHeaders, bodyHash);
        const scope = `${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request`;
        const sts = await signer.createStringToSign(amzDate, scope, canonical, 'AWS4-HMAC-SHA256');
        detail = `\n\nThe Canonical String for this request should have been\n'${canonical}'\n\n` +
          `The String-to-Sign should have been\n'${sts}'\n`;
      } catch { /* best effort */ }
      const why = expectedList !== params.SignedHeaders
        ? `SignedHeaders '${params.SignedHeaders}' is not the canonical list '${expectedList}'`
        : `signature mismatch for ${accessKeyId}`;
      return reject(400, CORAL + 'InvalidSignatureException', SIG_MISMATCH + detail, `${SIG_MISMATCH} (${why})`);
    }
    return { ok: true, identity };
  }

  // --- TTL emulation --------------------------------------------------------------------------
  function currentTtl(table) {
    const st = ttlState.get(table);
    if (!st) return { status: 'DISABLED' };
    if (st.until && now() >= st.until) {
      st.status = st.status === 'ENABLING' ? 'ENABLED' : st.status === 'DISABLING' ? 'DISABLED' : st.status;
      st.until = 0;
    }
    return st;
  }

  function validationError(fieldErrors) {
    return {
      status: 400,
      body: {
        __type: CORAL_VALIDATE + 'ValidationException',
        message: `${fieldErrors.length} validation error${fieldErrors.length > 1 ? 's' : ''} detected: ` +
          fieldErrors.join('; '),
      },
    };
  }

  /** Returns { status, body(object) } for UpdateTimeToLive / DescribeTimeToLive. */
  async function emulateTtl(target, data) {
    if (!data || typeof data !== 'object') {
      return { status: 400, body: { __type: CORAL + 'SerializationException' } };
    }
    const errs = [];
    const name = data.TableName;
    if (name == null) errs.push("Value null at 'tableName' failed to satisfy constraint: Member must not be null");
    else if (typeof name !== 'string' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
      errs.push(`Value '${name}' at 'tableName' failed to satisfy constraint: ` +
        'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255');
    }
    const spec = data.TimeToLiveSpecification;
    if (target === 'UpdateTimeToLive') {
      if (spec == null || typeof spec !== 'object') {
        errs.push("Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null");
      } else {
        if (spec.AttributeName == null) {
          errs.push("Value null at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: " +
            'Member must not be null');
        } else if (typeof spec.AttributeName !== 'string' || spec.AttributeName.length < 1 ||
            spec.AttributeName.length > 255) {
          errs.push(`Value '${spec.AttributeName}' at 'timeToLiveSpecification.attributeName' failed to satisfy ` +
            'constraint: Member must have length between 1 and 255');
        }
        if (typeof spec.Enabled !== 'boolean') {
          errs.push("Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: " +
            'Member must not be null');
        }
      }
    }
    if (errs.length) return validationError(errs);

    const desc = await dynaliteCall('DescribeTable', { TableName: name });
    if (desc.status !== 200) return { status: desc.status, body: desc.body };

    const st = currentTtl(name);
    if (target === 'DescribeTimeToLive') {
      const out = { TimeToLiveStatus: st.status };
      if (st.status !== 'DISABLED') out.AttributeName = st.attributeName;
      return { status: 200, body: { TimeToLiveDescription: out } };
    }
    const vErr = (message) => ({ status: 400, body: { __type: DDB + 'ValidationException', message } });
    if (st.status === 'ENABLING' || st.status === 'DISABLING') {
      return vErr('Time to live has been modified multiple times within a fixed interval');
    }
    if (spec.Enabled) {
      if (st.status === 'ENABLED') return vErr('TimeToLive is already enabled');
      ttlState.set(name, {
        status: ttlTransitionMs > 0 ? 'ENABLING' : 'ENABLED',
        attributeName: spec.AttributeName,
        until: ttlTransitionMs > 0 ? now() + ttlTransitionMs : 0,
      });
    } else {
      if (st.status === 'DISABLED') return vErr('TimeToLive is already disabled');
      if (st.attributeName !== spec.AttributeName) {
        return vErr(`TimeToLive is active on a different AttributeName: current AttributeName is ${st.attributeName}`);
      }
      if (ttlTransitionMs > 0) {
        ttlState.set(name, { status: 'DISABLING', attributeName: st.attributeName, until: now() + ttlTransitionMs });
      } else {
        ttlState.delete(name);
      }
    }
    return {
      status: 200,
      body: { TimeToLiveSpecification: { AttributeName: spec.AttributeName, Enabled: spec.Enabled } },
    };
  }

  // --- GSI creation emulation (UpdateTable GlobalSecondaryIndexUpdates Create) -------------------
  function isIndexCreate(target, data) {
    return gsiUpdates === 'emulate' && target === 'UpdateTable' && data && typeof data === 'object' &&
      Array.isArray(data.GlobalSecondaryIndexUpdates) && data.GlobalSecondaryIndexUpdates.some((u) => u && u.Create);
  }

  function readsCreatingIndex(target, data) {
    return (target === 'Query' || target === 'Scan') && data && typeof data === 'object' &&
      typeof data.IndexName === 'string' && creatingIndexes.has(`${data.TableName}\0${data.IndexName}`);
  }

  /** fn(table) runs under dynalite's lock of the table; resolves what fn returns. */
  function withTableLocked(name, fn) {
    return new Promise((resolve, rejectP) => {
      dynaliteStore.tableDb.lock(name, (release) => {
        const done = release((err, value) => (err ? rejectP(err) : resolve(value)));
        dynaliteStore.getTable(name, false, (err, table) => {
          if (err) return done(err);
          Promise.resolve().then(() => fn(table)).then((value) => done(null, value), done);
        });
      });
    });
  }

  function putTable(table) {
    return new Promise((resolve, rejectP) => dynaliteStore.tableDb.put(table.TableName, table, (err) => (err ? rejectP(err) : resolve())));
  }

  /** Adds the index's entries for every item already in the table. */
  async function backfillIndex(table, index) {
    const types = {};
    for (const d of table.AttributeDefinitions) types[d.AttributeName] = d.AttributeType;
    const keys = index.KeySchema.map((k) => k.AttributeName);
    const indexDb = dynaliteStore.getIndexDb('global', table.TableName, index.IndexName);
    const puts = [];
    for await (const item of dynaliteStore.getItemDb(table.TableName).createValueStream()) {
      if (!keys.every((k) => item[k] && item[k][types[k]] != null)) continue; // sparse, or another type
      for (const p of dynaliteDb.getIndexActions([index], null, item, table).puts) puts.push(p);
    }
    for (const p of puts) {
      await new Promise((resolve, rejectP) => indexDb.put(p.key, p.item, (err) => (err ? rejectP(err) : resolve())));
    }
  }

  async function emulateIndexCreate(data) {
    const vErr = (message) => ({ status: 400, body: { __type: DDB + 'ValidationException', message: 'One or more parameter values were invalid: ' + message } });
    const name = data.TableName;
    if (typeof name !== 'string' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
      return validationError([`Value '${name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255`]);
    }
    const updates = data.GlobalSecondaryIndexUpdates;
    if (updates.filter((u) => u && u.Create).length > 1) {
      return { status: 400, body: { __type: DDB + 'LimitExceededException', message: 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table' } };
    }
    if (updates.length > 1 || data.ProvisionedThroughput || data.BillingMode || data.StreamSpecification || data.SSESpecification) {
      return vErr('test server: an UpdateTable with a global secondary index Create and other changes is not emulated');
    }
    const c = updates[0].Create;
    if (typeof c.IndexName !== 'string' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(c.IndexName)) return vErr(`invalid IndexName ${JSON.stringify(c.IndexName)}`);
    const ks = c.KeySchema;
    if (!Array.isArray(ks) || ks.length < 1 || ks.length > 2 || ks[0].KeyType !== 'HASH' || (ks[1] && ks[1].KeyType !== 'RANGE') ||
        !ks.every((k) => k && typeof k.AttributeName === 'string' && k.AttributeName)) {
      return vErr('Invalid KeySchema for index ' + c.IndexName);
    }
    const p = c.Projection;
    if (!p || !['ALL', 'INCLUDE', 'KEYS_ONLY'].includes(p.ProjectionType)) return vErr('Unknown ProjectionType: ' + (p && p.ProjectionType));
    if (p.NonKeyAttributes && p.ProjectionType !== 'INCLUDE') return vErr(`ProjectionType is ${p.ProjectionType}, but NonKeyAttributes is specified`);
    if (p.ProjectionType === 'INCLUDE' && !(Array.isArray(p.NonKeyAttributes) && p.NonKeyAttributes.length)) return vErr('NonKeyAttributes must not be empty when ProjectionType is INCLUDE');
    try {
      return await withTableLocked(name, async (table) => {
        if (table.TableStatus !== 'ACTIVE') {
          return { status: 400, body: { __type: DDB + 'ResourceInUseException', message: `Attempt to change a resource which is still in use: Table is being ${table.TableStatus === 'DELETING' ? 'deleted' : 'updated'}: ${name}` } };
        }
        const gsis = table.GlobalSecondaryIndexes || [];
        if (gsis.some((i) => i.IndexStatus === 'CREATING' || i.IndexStatus === 'DELETING')) {
          return { status: 400, body: { __type: DDB + 'LimitExceededException', message: 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table' } };
        }
        if (gsis.concat(table.LocalSecondaryIndexes || []).some((i) => i.IndexName === c.IndexName)) {
          return vErr(`Index with name ${c.IndexName} already exists`);
        }
        const defs = table.AttributeDefinitions.map((d) => ({ ...d }));
        for (const d of data.AttributeDefinitions || []) {
          const had = defs.find((x) => x.AttributeName === d.AttributeName);
          if (had && had.AttributeType !== d.AttributeType) return vErr(`Attribute ${d.AttributeName} is defined as ${had.AttributeType}, not ${d.AttributeType}`);
          if (!['S', 'N', 'B'].includes(d.AttributeType)) return vErr(`invalid AttributeType ${d.AttributeType}`);
          if (!had) defs.push({ AttributeName: d.AttributeName, AttributeType: d.AttributeType });
        }
        const missing = ks.filter((k) => !defs.some((d) => d.AttributeName === k.AttributeName)).map((k) => k.AttributeName);
        if (missing.length) {
          return vErr(`Some index key attributes are not defined in AttributeDefinitions. Keys: [${missing.join(', ')}], AttributeDefinitions: [${defs.map((d) => d.AttributeName).join(', ')}]`);
        }
        const onDemand = (table.BillingModeSummary || {}).BillingMode === 'PAY_PER_REQUEST';
        const pt = c.ProvisionedThroughput;
        if (onDemand && pt) return vErr(`ProvisionedThroughput should not be specified for index: ${c.IndexName} when BillingMode is PAY_PER_REQUEST`);
        if (!onDemand && !(pt && pt.ReadCapacityUnits >= 1 && pt.WriteCapacityUnits >= 1)) return vErr('ProvisionedThroughput must be specified for index: ' + c.IndexName);
        const index = {
          IndexName: c.IndexName,
          KeySchema: ks.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
          Projection: p.ProjectionType === 'INCLUDE' ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...p.NonKeyAttributes] } : { ProjectionType: p.ProjectionType },
          IndexStatus: 'CREATING',
          Backfilling: true,
          ProvisionedThroughput: { ReadCapacityUnits: pt ? pt.ReadCapacityUnits : 0, WriteCapacityUnits: pt ? pt.WriteCapacityUnits : 0, NumberOfDecreasesToday: 0 },
          IndexSizeBytes: 0,
          ItemCount: 0,
          IndexArn: `${table.TableArn}/index/${c.IndexName}`,
        };
        table.AttributeDefinitions = defs;
        table.GlobalSecondaryIndexes = gsis.concat(index);
        table.TableStatus = 'UPDATING';
        creatingIndexes.set(`${name}\0${c.IndexName}`, true);
        await putTable(table);
        await backfillIndex(table, index);
        const answer = JSON.parse(JSON.stringify(table));
        const timer = setTimeout(() => {
          indexTimers.delete(timer);
          if (closed) return;
          withTableLocked(name, async (t) => {
            const i = (t.GlobalSecondaryIndexes || []).find((x) => x.IndexName === c.IndexName);
            if (!i) return;
            i.IndexStatus = 'ACTIVE';
            delete i.Backfilling;
            if (t.TableStatus === 'UPDATING') t.TableStatus = 'ACTIVE';
            await putTable(t);
          }).catch(() => {}).finally(() => creatingIndexes.delete(`${name}\0${c.IndexName}`));
        }, indexCreateMs);
        indexTimers.add(timer);
        return { status: 200, body: { TableDescription: answer } };
      });
    } catch (err) {
      if (err && err.statusCode && err.body) return { status: err.statusCode, body: err.body }; // ResourceNotFoundException
      throw err;
    }
  }

  function emulates(ctx) {
    return ctx.target === 'UpdateTimeToLive' || ctx.target === 'DescribeTimeToLive' ||
      isIndexCreate(ctx.target, ctx.json) || readsCreatingIndex(ctx.target, ctx.json);
  }

  /** { status, body(object) } for a request the proxy answers itself. */
  async function emulate(ctx) {
    stats.emulated[ctx.target] = (stats.emulated[ctx.target] || 0) + 1;
    if (ctx.target === 'UpdateTimeToLive' || ctx.target === 'DescribeTimeToLive') return emulateTtl(ctx.target, ctx.json);
    if (ctx.target === 'UpdateTable') return emulateIndexCreate(ctx.json);
    return { status: 400, body: { __type: CORAL_VALIDATE + 'ValidationException', message: `Cannot read from backfilling global secondary index: ${ctx.json.IndexName}` } };
  }

  function jsonResult(r) {
    const buf = Buffer.from(r.body === undefined ? '' : JSON.stringify(r.body));
    const h = amzHeaders(buf);
    const raw = [];
    for (const k of Object.keys(h)) raw.push(k, h[k]);
    return { status: r.status, rawHeaders: raw, body: buf };
  }

  function noteDeleteTable(target, status, body) {
    if (target === 'DeleteTable' && status === 200 && body && body.TableName) {
      ttlState.delete(body.TableName);
      for (const k of creatingIndexes.keys()) if (k.startsWith(`${body.TableName}\0`)) creatingIndexes.delete(k);
    }
  }

  /** The normal answer, buffered: { status, rawHeaders, body(Buffer) }. */
  async function produce(ctx) {
    if (emulates(ctx)) return jsonResult(await emulate(ctx));
    const r = await upstreamBuffered(ctx.req.method, ctx.req.url, forwardHeaders(ctx.req, ctx.body.length), ctx.body);
    noteDeleteTable(ctx.target, r.status, ctx.json);
    return r;
  }

  /** Normal path: emulate TTL and GSI creation, or stream dynalite's answer back. */
  async function answer(ctx, res) {
    if (emulates(ctx)) return sendBuffered(res, await produce(ctx));
    const up = await upstreamRequest(ctx.req.method, ctx.req.url, forwardHeaders(ctx.req, ctx.body.length), ctx.body);
    if (ctx.target) noteDeleteTable(ctx.target, up.statusCode, ctx.json);
    if (!canWrite(res)) { up.resume(); return; }
    const headers = [];
    for (let i = 0; i < up.rawHeaders.length; i += 2) {
      const lname = up.rawHeaders[i].toLowerCase();
      if (!HOP_BY_HOP.has(lname) && !(ownClock && lname === 'date')) headers.push(up.rawHeaders[i], up.rawHeaders[i + 1]);
    }
    res.writeHead(up.statusCode, headers);
    up.pipe(res);
    res.on('close', () => { if (!up.complete) { up.unpipe(res); up.resume(); } });
    await new Promise((resolve) => { up.on('end', resolve); up.on('close', resolve); });
  }

  // --- faults ---------------------------------------------------------------------------------
  function injectFault(fault) {
    if (!fault || typeof fault !== 'object') throw new TypeError('injectFault(fault): fault must be an object');
    if (!FAULT_KINDS.has(fault.kind)) {
      throw new TypeError(`injectFault: unknown kind ${JSON.stringify(fault.kind)}; one of ${[...FAULT_KINDS].join(', ')}`);
    }
    if (fault.kind === 'status' && ![500, 502, 503, 504].includes(fault.status ?? 500)) {
      throw new TypeError('injectFault: status must be 500, 502, 503 or 504');
    }
    if (fault.kind === 'delay' && !(typeof fault.ms === 'number' && fault.ms >= 0)) {
      throw new TypeError('injectFault: delay needs ms >= 0 (Infinity allowed)');
    }
    const count = fault.count == null ? 1 : fault.count;
    if (!(count >= 1)) throw new TypeError('injectFault: count must be >= 1');
    const handle = Object.assign({}, fault, { count, remaining: count, fired: 0 });
    faults.push(handle);
    return handle;
  }

  function clearFaults() {
    faults.length = 0;
  }

  function takeFault(target, json) {
    for (let i = 0; i < faults.length; i++) {
      const f = faults[i];
      if (f.target && f.target !== target) continue;
      if (typeof f.filter === 'function' && !f.filter({ target, body: json })) continue;
      f.remaining--;
      f.fired++;
      if (f.remaining <= 0) faults.splice(i, 1);
      stats.faults++;
      stats.faultsByKind[f.kind] = (stats.faultsByKind[f.kind] || 0) + 1;
      return f;
    }
    return null;
  }

  async function applyFault(f, ctx, res) {
    const synthetic = ['throttle', 'throttling', 'status', 'malformed', 'content-type', 'oversized',
      'garbage-status', 'respond'];
    if (synthetic.includes(f.kind) && f.forward) await produce(ctx);
    switch (f.kind) {
      case 'throttle':
        return sendError(res, 400, DDB + 'ProvisionedThroughputExceededException',
          'The level of configured provisioned throughput for the table was exceeded. ' +
          'Consider increasing your provisioning level with the UpdateTable API.');
      case 'throttling':
        return sendError(res, 400, CORAL_AVAIL + 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.');
      case 'status': {
        const status = f.status || 500;
        if (status === 503) return sendError(res, 503, CORAL + 'ServiceUnavailableException', 'Service Unavailable');
        return sendError(res, status, CORAL + 'InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.');
      }
      case 'reset-before':
        return destroySocket(res);
      case 'reset-after':
        await produce(ctx);
        return destroySocket(res);
      case 'delay': {
        if (f.before) {
          await sleep(f.ms, res);
          if (closed || res.destroyed) return;
          return answer(ctx, res);
        }
        const r = await produce(ctx);
        await sleep(f.ms, res);
        if (closed) return;
        return sendBuffered(res, r);
      }
      case 'malformed': {
        const buf = Buffer.from('not json {');
        return sendRaw(res, 200, amzHeaders(buf), buf);
      }
      case 'truncated': {
        const r = await produce(ctx);
        if (!canWrite(res)) return;
        const n = f.bytes != null ? Math.min(f.bytes, r.body.length - 1) : Math.floor(r.body.length / 2);
        const headers = [];
        for (let i = 0; i < r.rawHeaders.length; i += 2) {
          const lname = r.rawHeaders[i].toLowerCase();
          if (!HOP_BY_HOP.has(lname) && lname !== 'content-length' && !(ownClock && lname === 'date')) headers.push(r.rawHeaders[i], r.rawHeaders[i + 1]);
        }
        headers.push('Content-Length', String(r.body.length));
        res.writeHead(r.status, headers);
        res.flushHeaders();
        // FIN after the partial body, so the client really receives the short body and then EOF
        res.write(r.body.subarray(0, Math.max(0, n)), () => destroySocket(res, true));
        return;
      }
      case 'bad-crc': {
        const r = await produce(ctx);
        const real = crc32(r.body);
        return sendBuffered(res, r, (lname, v) => (lname === 'x-amz-crc32' ? String((real ^ 0x5a5a5a5a) >>> 0) : v));
      }
      case 'content-type': {
        const html = '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>';
        return sendRaw(res, f.status || 200, { 'Content-Type': 'text/html', 'x-amzn-RequestId': crypto.randomUUID() }, html);
      }
      case 'oversized':
        return sendOversized(res, f.bytes != null ? f.bytes : 20 * 1024 * 1024);
      case 'garbage-status': {
        const buf = Buffer.from(JSON.stringify({ __type: DDB + 'ValidationException', message: 'x' }));
        return sendRaw(res, f.status || 200, amzHeaders(buf), buf);
      }
      case 'respond': {
        const body = f.body == null ? '' : typeof f.body === 'string' || Buffer.isBuffer(f.body) ? f.body : JSON.stringify(f.body);
        if (f.chunked) return sendChunked(res, f.status || 200, f.headers || {}, body);
        return sendRaw(res, f.status || 200, f.headers || {}, body);
      }
      default:
        throw new Error('unreachable fault kind ' + f.kind);
    }
  }

  async function sendOversized(res, bytes) {
    if (!canWrite(res)) return;
    const prefix = Buffer.from('{"Item":{"sessionId":{"S":"oversized"},"padding":{"S":"');
    const suffix = Buffer.from('"}}}');
    const padLen = Math.max(0, bytes - prefix.length - suffix.length);
    const CHUNK = 64 * 1024;
    const pad = Buffer.alloc(Math.min(CHUNK, padLen), 'x');
    let crc = crc32(prefix);
    for (let left = padLen; left > 0; left -= pad.length) crc = crc32(left >= pad.length ? pad : pad.subarray(0, left), crc);
    crc = crc32(suffix, crc);
    res.writeHead(200, {
      'Content-Type': JSON_CT,
      'Content-Length': String(prefix.length + padLen + suffix.length),
      'x-amzn-RequestId': crypto.randomUUID(),
      'x-amz-crc32': String(crc),
    });
    res.write(prefix);
    for (let left = padLen; left > 0;) {
      if (res.destroyed || closed) return;
      const chunk = left >= pad.length ? pad : pad.subarray(0, left);
      left -= chunk.length;
      if (!res.write(chunk)) {
        await new Promise((resolve) => {
          const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (!res.destroyed) res.end(suffix);
  }

  // --- proxy ----------------------------------------------------------------------------------
  async function handle(req, res) {
    const chunks = [];
    let size = 0;
    let tooBig = false;
    try {
      for await (const c of req) {
        size += c.length;
        if (size > MAX_REQUEST_BYTES) { tooBig = true; break; }
        chunks.push(c);
      }
    } catch {
      return; // client went away
    }
    if (tooBig) {
      res.shouldKeepAlive = false;
      return sendRaw(res, 413, { Connection: 'close' }, '');
    }
    const body = Buffer.concat(chunks);
    const headers = collectHeaders(req.rawHeaders);
    const internal = headers['x-harness-internal'] === internalToken;

    if (req.method !== 'POST') {
      stats.passthrough++;
      return answer({ req, body, target: null, json: undefined }, res);
    }

    const targetHeader = headers['x-amz-target'] || '';
    const target = targetHeader.includes('.') ? targetHeader.slice(targetHeader.indexOf('.') + 1) : targetHeader || null;
    if (!internal) {
      stats.requests++;
      if (target) stats.byTarget[target] = (stats.byTarget[target] || 0) + 1;
    }

    const v = await verify(req, body, headers);
    if (!v.ok) {
      stats.rejected++;
      if (stats.rejections.length < MAX_REJECTIONS) {
        const who = /Credential=([^/,\s]*)/.exec(headers.authorization || '');
        stats.rejections.push(`${v.type.slice(v.type.indexOf('#') + 1)}: ${v.reason} ` +
          `[target=${target || '-'} accessKeyId=${who ? who[1] : '-'}${internal ? ' internal' : ''}]`);
      }
      return sendError(res, v.status, v.type, v.message);
    }
    if (internal) stats.internal++;
    else stats.verified++;

    let json;
    try { json = body.length ? JSON.parse(body.toString('utf8')) : undefined; } catch { json = undefined; }
    const ctx = { req, body, target, json };
    const fault = internal ? null : takeFault(target, json);
    if (fault) return applyFault(fault, ctx, res);
    return answer(ctx, res);
  }

  const proxy = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60000 }, (req, res) => {
    if (typeof options.now === 'function') res.setHeader('Date', new Date(now()).toUTCString());
    handle(req, res).catch((err) => {
      if (closed) { res.destroy(); return; }
      if (canWrite(res)) sendError(res, 500, CORAL + 'InternalFailure', 'test proxy error: ' + (err && err.message));
      else res.destroy();
    });
  });
  // 0 = idle client connections are never closed by the server (no keep-alive race in tests);
  // options.keepAliveTimeoutMs > 0 simulates a server that closes idle connections.
  proxy.keepAliveTimeout = options.keepAliveTimeoutMs || 0;
  proxy.on('connection', () => { stats.connections++; });
  proxy.maxRequestsPerSocket = 0;
  proxy.maxHeadersCount = 0;
  proxy.on('clientError', (err, socket) => {
    if (socket.writable && !socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  proxy.listen({ port: 0, host: '127.0.0.1', backlog: 2048 });
  await once(proxy, 'listening');
  const proxyPort = proxy.address().port;
  const endpoint = `http://127.0.0.1:${proxyPort}`;

  // --- helpers --------------------------------------------------------------------------------
  async function send(target, bodyObject = {}, opts = {}) {
    if (closed) throw new Error('test server is closed');
    const creds = opts.credentials || credentials;
    const payload = typeof bodyObject === 'string' ? bodyObject : JSON.stringify(bodyObject);
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
      },
      region: opts.region || region,
      service: 'dynamodb',
      sha256: Sha256,
    });
    const request = new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: proxyPort,
      path: '/',
      headers: {
        'content-type': JSON_CT,
        'x-amz-target': 'DynamoDB_20120810.' + target,
        host: `127.0.0.1:${proxyPort}`,
      },
      body: payload,
    });
    // the harness's own requests are signed with the server's clock (options.now)
    const signed = await signer.sign(request, { signingDate: opts.signingDate || new Date(now()) });
    const headers = { ...signed.headers, 'content-length': String(Buffer.byteLength(payload)), ...(opts.headers || {}) };
    if (opts.internal !== false) headers['x-harness-internal'] = internalToken;
    const timeoutMs = opts.timeoutMs || 10000;
    return new Promise((resolve, rejectP) => {
      const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: '/', headers, agent: sendAgent });
      const timer = setTimeout(() => req.destroy(new Error(`send(${target}) timed out after ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => { clearTimeout(timer); rejectP(err); });
      req.on('response', (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', (err) => { clearTimeout(timer); rejectP(err); });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try { parsed = JSON.parse(text); } catch { /* raw text */ }
          resolve({ status: res.statusCode, headers: res.headers, body: parsed });
        });
      });
      req.end(payload);
    });
  }

  async function call(target, body) {
    const r = await send(target, body);
    if (r.status < 200 || r.status > 299) throw new HarnessRequestError(target, r.status, r.body);
    return r.body;
  }

  function keyOf(hashKey, key) {
    if (hashKey && typeof hashKey === 'object') return hashKey;
    return { [hashKey]: toAttributeValue(key) };
  }

  async function getItem(table, hashKey, key) {
    const out = await call('GetItem', { TableName: table, Key: keyOf(hashKey, key), ConsistentRead: true });
    return out.Item;
  }

  async function putItem(table, item) {
    await call('PutItem', { TableName: table, Item: item });
  }

  async function deleteItem(table, hashKey, key) {
    await call('DeleteItem', { TableName: table, Key: keyOf(hashKey, key) });
  }

  async function scan(table) {
    const items = [];
    let start;
    for (let page = 0; page < 10000; page++) {
      const out = await call('Scan', { TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) });
      items.push(...(out.Items || []));
      start = out.LastEvaluatedKey;
      if (!start) return items;
    }
    throw new Error('scan: too many pages');
  }

  async function describeTable(name) {
    const r = await send('DescribeTable', { TableName: name });
    if (r.status === 200) return r.body.Table;
    if (r.status === 400 && r.body && /ResourceNotFoundException$/.test(r.body.__type || '')) return undefined;
    throw new HarnessRequestError('DescribeTable', r.status, r.body);
  }

  async function waitForTableStatus(name, status = 'ACTIVE', timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = await describeTable(name);
      if (status === 'DELETED' ? !t : t && t.TableStatus === status) return t;
      if (Date.now() > deadline) {
        throw new Error(`table ${name} did not reach ${status} within ${timeoutMs} ms (is ${t ? t.TableStatus : 'absent'})`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async function createTable(name, opts = {}) {
    const hashKey = opts.hashKey || 'sessionId';
    const params = {
      TableName: name,
      AttributeDefinitions: [{ AttributeName: hashKey, AttributeType: opts.hashKeyType || 'S' }],
      KeySchema: [{ AttributeName: hashKey, KeyType: 'HASH' }],
    };
    if (opts.billingMode === 'PAY_PER_REQUEST') params.BillingMode = 'PAY_PER_REQUEST';
    else {
      if (opts.billingMode) params.BillingMode = opts.billingMode;
      params.ProvisionedThroughput = { ReadCapacityUnits: opts.rcu || 5, WriteCapacityUnits: opts.wcu || 5 };
    }
    const out = await call('CreateTable', params);
    if (opts.wait === false) return out.TableDescription;
    return waitForTableStatus(name, 'ACTIVE', (options.createTableMs || 0) + 10000);
  }

  async function deleteTable(name) {
    await call('DeleteTable', { TableName: name });
  }

  async function describeTimeToLive(name) {
    return (await call('DescribeTimeToLive', { TableName: name })).TimeToLiveDescription;
  }

  // --- close ----------------------------------------------------------------------------------
  function close() {
    if (closing) return closing;
    closed = true;
    closing = (async () => {
      faults.length = 0;
      for (const timer of indexTimers) clearTimeout(timer);
      indexTimers.clear();
      const proxyClosed = new Promise((resolve) => proxy.close(() => resolve()));
      for (const entry of pendingTimers) {
        if (entry.timer) clearTimeout(entry.timer);
        if (entry.res) destroySocket(entry.res);
        entry.resolve();
      }
      pendingTimers.clear();
      proxy.closeAllConnections();
      await proxyClosed;
      // let requests already inside dynalite finish (bounded), then drop the connections
      const deadline = Date.now() + 2000;
      while (inflightUpstream.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      for (const r of inflightUpstream) r.destroy();
      upstreamAgent.destroy();
      sendAgent.destroy();
      await new Promise((resolve) => dynalite.close(() => resolve()));
    })();
    return closing;
  }

  return {
    endpoint,
    dynaliteEndpoint: `http://127.0.0.1:${dynalitePort}`,
    region,
    credentials,
    stats,
    resetStats,
    addCredentials,
    removeCredentials,
    faults,
    injectFault,
    clearFaults,
    send,
    getItem,
    putItem,
    deleteItem,
    scan,
    createTable,
    describeTable,
    deleteTable,
    describeTimeToLive,
    waitForTableStatus,
    close,
  };
}

module.exports = { startTestServer, HarnessRequestError, crc32 };

if (require.main === module) {
  startTestServer().then((server) => {
    process.stdout.write(JSON.stringify({
      endpoint: server.endpoint,
      region: server.region,
      accessKeyId: server.credentials.accessKeyId,
      secretAccessKey: server.credentials.secretAccessKey,
      dynaliteEndpoint: server.dynaliteEndpoint,
    }) + '\n');
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      const t = setTimeout(() => process.exit(1), 5000);
      t.unref();
      server.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}
