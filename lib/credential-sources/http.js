'use strict';
// One small HTTP(S) request with node:http, for the credential endpoints (container and EC2
// instance metadata). Not for DynamoDB: that traffic goes through the native core. No proxy, no
// keep-alive (a refresh every few hours does not need a pooled socket that would hold the event
// loop), a bounded answer and a timeout for connecting and for each wait on the socket.

const http = require('node:http');
const https = require('node:https');
const { checkCredentialValues } = require('../config');

const MAX_ANSWER_BYTES = 64 * 1024;

function fail(message, code) {
  const err = new Error(message);
  err.code = code;
  return err;
}

/**
 * request(url, { method, headers, timeoutMs }) → Promise<{ status, headers, body }>. Rejects on a
 * network error, on `timeoutMs` without progress (connecting, or waiting for the answer), and
 * when the whole exchange takes more than three times that. Never rejects for an HTTP status.
 */
function request(url, { method = 'GET', headers = {}, timeoutMs = 1000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = url instanceof URL ? url : new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(value);
    };
    const req = mod.request({
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: u.port || undefined,
      path: `${u.pathname}${u.search}`,
      method,
      headers,
      agent: false,
      timeout: timeoutMs,
    }, (res) => {
      const chunks = [];
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
        if (bytes > MAX_ANSWER_BYTES) {
          req.destroy(fail(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`, 'ERESPONSETOOLARGE'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(null, { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => finish(err));
      res.on('close', () => finish(fail('the connection closed before the answer was complete', 'ECONNRESET')));
    });
    const deadline = setTimeout(() => req.destroy(fail(`no complete answer within ${timeoutMs * 3} ms`, 'ETIMEDOUT')), timeoutMs * 3);
    req.on('timeout', () => req.destroy(fail(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT')));
    req.on('error', (err) => finish(err));
    req.end();
  });
}

/** A short reason for a failed request, without anything from the answer's body. */
function networkReason(err) {
  if (!err) return 'unknown error';
  return err.message || String(err.code || err);
}

/** JSON.parse that gives undefined instead of an error (whose message would quote the text). */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** True for failures worth one more attempt: the network, a timeout, a 5xx. */
function transient(err) {
  return !err || err.status === undefined || err.status >= 500;
}

/**
 * The credentials in an AWS JSON answer ({ AccessKeyId, SecretAccessKey, Token or SessionToken,
 * Expiration }) as the store's { accessKeyId, secretAccessKey, sessionToken, expiration }.
 * Errors name the missing or bad field, never a value; values that cannot go into a request
 * (control characters) are refused with checkCredentialValues, as for every other source.
 */
function credentialsFromJson(j, where) {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${where} is not a JSON object`);
  const str = (v) => typeof v === 'string' && v !== '';
  if (!str(j.AccessKeyId)) throw new Error(`${where} has no AccessKeyId`);
  if (!str(j.SecretAccessKey)) throw new Error(`${where} has no SecretAccessKey`);
  const tokenField = j.Token !== undefined ? 'Token' : 'SessionToken';
  const token = j[tokenField];
  if (token !== undefined && token !== null && typeof token !== 'string') throw new Error(`${where}: the session token is not a string`);
  checkCredentialValues({ accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: token }, {
    accessKeyId: `the AccessKeyId in ${where}`,
    secretAccessKey: `the SecretAccessKey in ${where}`,
    sessionToken: `the ${tokenField} in ${where}`,
  }, (message) => new Error(message));
  let expiration;
  if (j.Expiration !== undefined && j.Expiration !== null && j.Expiration !== '') {
    expiration = typeof j.Expiration === 'number' ? j.Expiration : Date.parse(j.Expiration);
    if (typeof j.Expiration === 'number' && j.Expiration < 1e11) expiration = j.Expiration * 1000; // epoch seconds
    if (!Number.isFinite(expiration)) throw new Error(`${where}: Expiration is not a date`);
  }
  return { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: token || undefined, expiration };
}

/** Runs once() up to `attempts` times while it fails with a transient error; throws the last error. */
async function withRetries(once, attempts) {
  let last;
  for (let i = 0; i < attempts; i++) {
    try {
      return await once();
    } catch (err) {
      last = err;
      if (!transient(err) || err.code === 'ERESPONSETOOLARGE') break;
    }
  }
  throw last;
}

module.exports = { credentialsFromJson, request, networkReason, transient, withRetries, parseJson, MAX_ANSWER_BYTES };
