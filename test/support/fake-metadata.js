'use strict';

/**
 * Fake AWS credential endpoints for the tests, on 127.0.0.1 (random ports):
 *
 * ## startFakeImds(options?) -> Promise<FakeImds>   EC2 instance metadata, IMDSv2 only
 *
 *   PUT /latest/api/token  needs X-aws-ec2-metadata-token-ttl-seconds (1..21600), else 400;
 *                          answers a random token (valid for that many seconds) and echoes the TTL.
 *   GET /latest/meta-data/iam/security-credentials/        the role name (404 when role is null)
 *   GET /latest/meta-data/iam/security-credentials/<role>  the credentials JSON
 *     Both GETs need X-aws-ec2-metadata-token with a valid token: missing or wrong -> 401 (so an
 *     IMDSv1 client never gets anything).
 *
 *   options: role ('test-role'), credentials (object or () => object in IMDS's JSON shape:
 *            { AccessKeyId, SecretAccessKey, Token, Expiration }), delayMs (hold credential
 *            answers that long, 0)
 *   FakeImds: endpoint 'http://127.0.0.1:PORT', stats { tokens, listings, fetches, unauthorized,
 *            requests }, log (array of { method, path, token }), mode ('ok' | 'status' (500) |
 *            'reset' (socket destroyed) | 'hang' (never answers) | 'garbage' (200, JSON without
 *            AccessKeyId but with a SecretAccessKey 'GARBAGE-SECRET-...')), setCredentials(x),
 *            setRole(name|null), revokeTokens(), close()
 *
 * ## startFakeContainer(options?) -> Promise<FakeContainer>   ECS/EKS container credentials
 *
 *   GET any path: the Authorization header must equal `token` (when token is not null), else 401
 *   { code: 'AccessDenied', message }. Answers { AccessKeyId, SecretAccessKey, Token, Expiration }.
 *   options: token (null: no check), credentials (object or function), delayMs
 *   FakeContainer: url 'http://127.0.0.1:PORT/v1/credentials', stats { fetches, unauthorized },
 *            authorizations (every Authorization header seen), paths, mode ('ok' | 'status' | 'reset'),
 *            setToken(t), setCredentials(x), close()
 *
 * ## mintCredentials(server, { expiresInMs, serverExpiresInMs }) -> IMDS-shaped credentials
 *
 *   Registers a new identity with the signature-verifying test server (support/server.js) with a
 *   session token: the server refuses it (ExpiredTokenException) serverExpiresInMs from now
 *   (default: never), while the JSON's Expiration says expiresInMs (default 6 h).
 */

const http = require('node:http');
const crypto = require('node:crypto');
const { once } = require('node:events');

const CREDS_PREFIX = '/latest/meta-data/iam/security-credentials/';

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
}

function value(v) {
  return typeof v === 'function' ? v() : v;
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function text(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function startFakeImds(options = {}) {
  const tokens = new Map(); // token -> valid until (ms)
  const state = {
    role: options.role === undefined ? 'test-role' : options.role,
    credentials: options.credentials,
    delayMs: options.delayMs || 0,
  };
  const stats = { tokens: 0, listings: 0, fetches: 0, unauthorized: 0, requests: 0 };
  const log = [];
  const api = {
    stats, log, mode: 'ok',
    setCredentials(c) { state.credentials = c; },
    setRole(r) { state.role = r; },
    setDelay(ms) { state.delayMs = ms; },
    revokeTokens() { tokens.clear(); },
  };
  const server = http.createServer((req, res) => {
    stats.requests++;
    const path = req.url.split('?')[0];
    const token = req.headers['x-aws-ec2-metadata-token'];
    log.push({ method: req.method, path, token });
    if (log.length > 1000) log.shift();
    req.resume();
    if (api.mode === 'reset') { req.socket.destroy(); return; }
    if (api.mode === 'hang') return;
    if (api.mode === 'status') { text(res, 500, 'internal error'); return; }
    if (req.method === 'PUT' && path === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) { text(res, 400, 'bad ttl'); return; }
      const t = crypto.randomBytes(24).toString('base64');
      tokens.set(t, Date.now() + ttl * 1000);
      stats.tokens++;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
      res.end(t);
      return;
    }
    if (req.method !== 'GET') { text(res, 405, 'method not allowed'); return; }
    if (!token || !(tokens.get(token) > Date.now())) { stats.unauthorized++; text(res, 401, 'unauthorized'); return; }
    if (path === CREDS_PREFIX) {
      stats.listings++;
      if (state.role === null) { text(res, 404, 'not found'); return; }
      text(res, 200, state.role);
      return;
    }
    if (state.role !== null && path === CREDS_PREFIX + encodeURIComponent(state.role)) {
      stats.fetches++;
      const answer = () => {
        if (api.mode === 'garbage') {
          json(res, 200, { Code: 'Success', SecretAccessKey: `GARBAGE-SECRET-${stats.fetches}`, Token: 'GARBAGE-TOKEN' });
          return;
        }
        json(res, 200, { Code: 'Success', LastUpdated: new Date().toISOString(), Type: 'AWS-HMAC', ...value(state.credentials) });
      };
      if (state.delayMs) setTimeout(answer, state.delayMs);
      else answer();
      return;
    }
    text(res, 404, 'not found');
  });
  const close = await listen(server);
  api.endpoint = `http://127.0.0.1:${server.address().port}`;
  api.port = server.address().port;
  api.close = close;
  return api;
}

async function startFakeContainer(options = {}) {
  const state = { token: options.token === undefined ? null : options.token, credentials: options.credentials, delayMs: options.delayMs || 0 };
  const stats = { fetches: 0, unauthorized: 0 };
  const api = {
    stats, authorizations: [], paths: [], mode: 'ok',
    setToken(t) { state.token = t; },
    setCredentials(c) { state.credentials = c; },
  };
  const server = http.createServer((req, res) => {
    req.resume();
    api.authorizations.push(req.headers.authorization);
    api.paths.push(req.url);
    if (api.mode === 'reset') { req.socket.destroy(); return; }
    if (api.mode === 'status') { json(res, 500, { code: 'InternalError', message: 'boom' }); return; }
    if (state.token !== null && req.headers.authorization !== state.token) {
      stats.unauthorized++;
      json(res, 401, { code: 'AccessDenied', message: 'Unable to authorize the request' });
      return;
    }
    stats.fetches++;
    const answer = () => json(res, 200, value(state.credentials));
    if (state.delayMs) setTimeout(answer, state.delayMs);
    else answer();
  });
  const close = await listen(server);
  api.url = `http://127.0.0.1:${server.address().port}/v1/credentials`;
  api.origin = `http://127.0.0.1:${server.address().port}`;
  api.close = close;
  return api;
}

function mintCredentials(server, { expiresInMs = 6 * 3600 * 1000, serverExpiresInMs } = {}) {
  const sessionToken = `TOKEN-${crypto.randomBytes(12).toString('hex')}`;
  const c = server.addCredentials({
    sessionToken,
    expiresAt: serverExpiresInMs === undefined ? undefined : Date.now() + serverExpiresInMs,
  });
  return {
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: sessionToken,
    Expiration: new Date(Date.now() + expiresInMs).toISOString(),
  };
}

module.exports = { startFakeImds, startFakeContainer, mintCredentials };
