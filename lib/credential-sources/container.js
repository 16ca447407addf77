'use strict';
// Container credentials (ECS task roles, EKS Pod Identity, Greengrass...):
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2) or
// AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at every
// fetch: the agent rotates it) or AWS_CONTAINER_AUTHORIZATION_TOKEN in the Authorization header.

const fsp = require('node:fs/promises');
const net = require('node:net');
const { request, withRetries, parseJson, credentialsFromJson } = require('./http');

const ECS_HOST = '169.254.170.2';
// Plain http is only allowed to these hosts (as in the AWS SDKs); https to any host.
const ALLOWED_HTTP_HOSTS = new Set(['169.254.170.2', '169.254.170.23', 'fd00:ec2::23', 'localhost', '::1']);

function isLoopback(host) {
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return /^(?:0*:)*:?0*1$/.test(host) || /^::ffff:127\./i.test(host);
  return false;
}

function containerConfigured(env) {
  return Boolean(env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
}

/** The URL to ask, from the environment; throws a TypeError naming the variable when it is not allowed. */
function containerUrl(env) {
  const rel = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  if (rel) {
    try {
      return new URL(`http://${ECS_HOST}${rel.startsWith('/') ? '' : '/'}${rel}`);
    } catch {
      throw new TypeError(`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path: ${JSON.stringify(rel)}`);
    }
  }
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  let url;
  try {
    url = new URL(full);
  } catch {
    throw new TypeError(`AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL: ${JSON.stringify(full)}`);
  }
  if (url.username || url.password) throw new TypeError('AWS_CONTAINER_CREDENTIALS_FULL_URI must not contain a user name or password');
  if (url.protocol === 'https:') return url;
  if (url.protocol !== 'http:') throw new TypeError(`AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http or https URL, got ${JSON.stringify(full)}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (!ALLOWED_HTTP_HOSTS.has(host) && !isLoopback(host)) {
    throw new TypeError(`AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is only allowed to a loopback address, ` +
      `169.254.170.2, 169.254.170.23 or fd00:ec2::23, not ${JSON.stringify(url.hostname)} (use https)`);
  }
  return url;
}

async function authorization(env) {
  const file = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
  let token;
  if (file) {
    try {
      token = (await fsp.readFile(file, 'utf8')).trim();
    } catch (err) {
      throw new Error(`cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ${file} (${err.code || err.message})`);
    }
  } else {
    token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  }
  if (!token) return undefined;
  if (/[\r\n]/.test(token)) throw new Error('the container authorization token contains a line break');
  return token;
}

/** Returns { fetch, url }. The environment is read now, the token file at every fetch. */
function containerSource(env, { timeoutMs = 2000, attempts = 2 } = {}) {
  const url = containerUrl(env);
  const tokenEnv = {
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
  };

  async function once() {
    const token = await authorization(tokenEnv);
    const res = await request(url, { headers: token ? { authorization: token, accept: 'application/json' } : { accept: 'application/json' }, timeoutMs });
    if (res.status !== 200) {
      const j = parseJson(res.body);
      const detail = j && typeof j === 'object' && typeof j.code === 'string' ? ` ${j.code.slice(0, 80)}` : '';
      const err = new Error(`HTTP ${res.status}${detail}${res.status === 401 || res.status === 403 ? ' (is the authorization token right?)' : ''}`);
      err.status = res.status;
      throw err;
    }
    return credentialsFromJson(parseJson(res.body), 'the answer');
  }

  const fetch = () => withRetries(once, attempts);

  // For messages: the origin and the variable, not the path (ECS's relative URI is a capability).
  const from = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ? 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' : 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
  return { fetch, url: url.origin, description: `container credentials (${url.origin}, ${from})` };
}

module.exports = { containerSource, containerConfigured, containerUrl };
