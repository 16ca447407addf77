'use strict';
// EC2 instance metadata, IMDSv2 only: PUT /latest/api/token for a session token, then the role
// name and the role's credentials with that token. Short timeouts (1 s) and one more attempt,
// like the AWS SDKs. The session token is kept (and renewed on a 401 or when it runs out).

const { request, withRetries, parseJson, credentialsFromJson } = require('./http');

const DEFAULT_ENDPOINT = 'http://169.254.169.254';
const IPV6_ENDPOINT = 'http://[fd00:ec2::254]';
const TOKEN_TTL_S = 21600;
const CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/';

/** AWS_EC2_METADATA_DISABLED: any value but 'false' turns the source off (the SDKs' rule). */
function imdsDisabled(env) {
  const v = env.AWS_EC2_METADATA_DISABLED;
  return typeof v === 'string' && v !== '' && v.toLowerCase() !== 'false';
}

/** The service's base URL: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the IPv4 (or IPv6) address. */
function imdsEndpoint(env) {
  const given = env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  const text = given || ((env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE || '').toLowerCase() === 'ipv6' ? IPV6_ENDPOINT : DEFAULT_ENDPOINT);
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http or https URL, got ${JSON.stringify(text)}`);
  }
  return url.origin;
}

function statusError(what, res) {
  const err = new Error(`${what}: HTTP ${res.status}`);
  err.status = res.status;
  return err;
}

/**
 * Returns { fetch, endpoint }: fetch() resolves to checked credentials or rejects with an Error
 * whose message says what failed (nothing from the answers but status codes and the role name).
 */
function imdsSource(env, { timeoutMs = 1000, attempts = 2, now = Date.now } = {}) {
  const base = imdsEndpoint(env);
  let token = null;
  let tokenUntil = 0;

  async function newToken() {
    token = null;
    const res = await request(`${base}/latest/api/token`, {
      method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S) }, timeoutMs,
    });
    if (res.status !== 200 || res.body.trim() === '') throw statusError('the IMDSv2 session token request (PUT /latest/api/token) failed', res);
    const ttl = Number(res.headers['x-aws-ec2-metadata-token-ttl-seconds']) || TOKEN_TTL_S;
    token = res.body.trim();
    tokenUntil = now() + Math.max(1, ttl - 60) * 1000;
  }

  async function get(path) {
    if (token === null || now() >= tokenUntil) await newToken();
    let res = await request(base + path, { headers: { 'x-aws-ec2-metadata-token': token }, timeoutMs });
    if (res.status === 401) { // the token ran out or the service restarted: one new token
      await newToken();
      res = await request(base + path, { headers: { 'x-aws-ec2-metadata-token': token }, timeoutMs });
    }
    return res;
  }

  async function once() {
    const list = await get(CREDENTIALS_PATH);
    if (list.status === 404) {
      const err = new Error('the instance has no IAM role (no instance profile is attached)');
      err.status = 404;
      throw err;
    }
    if (list.status !== 200) throw statusError(`GET ${CREDENTIALS_PATH} failed`, list);
    const role = list.body.split('\n').map((s) => s.trim()).find(Boolean);
    if (!role) throw Object.assign(new Error('the instance has no IAM role (the role list is empty)'), { status: 404 });
    const res = await get(CREDENTIALS_PATH + encodeURIComponent(role));
    if (res.status !== 200) throw statusError(`GET the credentials of role ${role} failed`, res);
    const j = parseJson(res.body);
    if (j && typeof j === 'object' && j.Code !== undefined && j.Code !== 'Success') {
      throw new Error(`the credentials of role ${role} are not available (Code ${JSON.stringify(String(j.Code).slice(0, 80))})`);
    }
    return credentialsFromJson(j, `the answer for role ${role}`);
  }

  const fetch = () => withRetries(once, attempts);

  return { fetch, endpoint: base };
}

module.exports = { imdsSource, imdsDisabled, imdsEndpoint };
