'use strict';

/**
 * Tiny HTTP client with a cookie jar, for koa / koa-session tests.
 *
 *   const { createClient } = require('./support/cookie-client');
 *   const c = createClient('http://127.0.0.1:' + port);
 *   const r = await c.get('/');           // -> { status, headers, text, json(), setCookies }
 *   await c.post('/login', { user: 'a' }); // object -> JSON, string / Buffer sent as is
 *   c.cookies();                          // { 'koa.sess': '...', 'koa.sess.sig': '...' } (unexpired only)
 *   c.clear();                            // forget all cookies
 *   c.close();                            // destroy this client's private agent (if it has one)
 *
 * createClient(baseUrl, { agent?, privateAgent?, now?: () => ms, headers?: {...} })
 *   - agent: an http.Agent to use; by default a module-wide keep-alive agent shared by all clients
 *            (maxSockets Infinity; idle keep-alive sockets are unref'd by Node, so they never keep the
 *            process alive, and they are closed when the koa server closes), so 200+ concurrent
 *            clients are fine.
 *   - privateAgent: true -> the client gets its own keep-alive agent, destroyed by c.close().
 *   - now:   clock for cookie expiry (default Date.now); lets a test "age" cookies.
 *   - headers: default headers added to every request.
 *
 * c.request(method, path, { body?, headers?, timeoutMs = 10000 }) -> response
 * c.get(path, opts?), c.post(path, body?, opts?), c.put(...), c.del(path, opts?)
 * c.cookieDetails() -> [{ name, value, expires (ms epoch | undefined), path, httpOnly, secure, sameSite }]
 * c.setCookie(name, value, { expires?, path? }) inject / tamper a cookie; c.deleteCookie(name)
 *
 * Jar rules (single origin, so Domain is ignored): Set-Cookie replaces by (name, path); Max-Age takes
 * precedence over Expires; Max-Age <= 0 or an Expires in the past deletes the cookie (this is how
 * koa-session clears 'koa.sess' and 'koa.sess.sig'); expired cookies are not sent; a cookie is sent when
 * its Path is a prefix of the request path. Cookies are sent in a single 'Cookie' header.
 */

const http = require('node:http');

const sharedAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 512 });

function parseSetCookie(str, nowMs) {
  const parts = str.split(';');
  const first = parts.shift();
  const eq = first.indexOf('=');
  if (eq <= 0) return null;
  const c = {
    name: first.slice(0, eq).trim(),
    value: first.slice(eq + 1).trim(),
    path: '/',
    expires: undefined,
    httpOnly: false,
    secure: false,
    sameSite: undefined,
  };
  let maxAge;
  for (const p of parts) {
    const i = p.indexOf('=');
    const k = (i === -1 ? p : p.slice(0, i)).trim().toLowerCase();
    const v = i === -1 ? '' : p.slice(i + 1).trim();
    if (k === 'expires') {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) c.expires = t;
    } else if (k === 'max-age') {
      if (/^-?\d+$/.test(v)) maxAge = parseInt(v, 10);
    } else if (k === 'path') {
      if (v.startsWith('/')) c.path = v;
    } else if (k === 'httponly') c.httpOnly = true;
    else if (k === 'secure') c.secure = true;
    else if (k === 'samesite') c.sameSite = v;
  }
  if (maxAge !== undefined) c.expires = maxAge <= 0 ? 0 : nowMs + maxAge * 1000;
  return c;
}

function pathMatches(cookiePath, reqPath) {
  if (cookiePath === '/' || reqPath === cookiePath) return true;
  if (!reqPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
}

/**
 * @param {string} baseUrl e.g. 'http://127.0.0.1:3000'
 * @param {{ agent?: http.Agent, now?: () => number, headers?: object }} [options]
 */
function createClient(baseUrl, options = {}) {
  const base = new URL(baseUrl);
  const ownAgent = !options.agent && options.privateAgent
    ? new http.Agent({ keepAlive: true, maxSockets: Infinity })
    : null;
  const agent = options.agent || ownAgent || sharedAgent;
  const now = options.now || Date.now;
  const defaultHeaders = options.headers || {};
  /** key `${path}\n${name}` -> cookie */
  const jar = new Map();

  function live() {
    const t = now();
    const out = [];
    for (const [k, c] of jar) {
      if (c.expires !== undefined && c.expires <= t) { jar.delete(k); continue; }
      out.push(c);
    }
    return out;
  }

  function store(setCookies) {
    const t = now();
    for (const sc of setCookies) {
      const c = parseSetCookie(sc, t);
      if (!c) continue;
      const key = `${c.path}\n${c.name}`;
      if (c.expires !== undefined && c.expires <= t) jar.delete(key);
      else jar.set(key, c);
    }
  }

  function cookieHeader(reqPath) {
    const p = reqPath.split('?')[0] || '/';
    const list = live().filter((c) => pathMatches(c.path, p));
    // longer paths first, like browsers
    list.sort((a, b) => b.path.length - a.path.length);
    return list.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  function request(method, path, opts = {}) {
    let body = opts.body;
    const headers = { ...defaultHeaders, ...(opts.headers || {}) };
    const lower = Object.keys(headers).map((h) => h.toLowerCase());
    if (body !== undefined && body !== null && !Buffer.isBuffer(body) && typeof body !== 'string') {
      body = JSON.stringify(body);
      if (!lower.includes('content-type')) headers['Content-Type'] = 'application/json';
    } else if (typeof body === 'string' && !lower.includes('content-type')) {
      headers['Content-Type'] = 'text/plain; charset=utf-8';
    }
    if (body != null) headers['Content-Length'] = String(Buffer.byteLength(body));
    const cookie = cookieHeader(path);
    if (cookie && !lower.includes('cookie')) headers.Cookie = cookie;
    const timeoutMs = opts.timeoutMs || 10000;

    return new Promise((resolve, reject) => {
      const req = http.request({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        method,
        path,
        headers,
        agent,
      });
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => { clearTimeout(timer); reject(err); });
      req.on('response', (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', (err) => { clearTimeout(timer); reject(err); });
        res.on('end', () => {
          clearTimeout(timer);
          const setCookies = res.headers['set-cookie'] || [];
          store(setCookies);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode,
            headers: res.headers,
            text,
            setCookies,
            json() { return JSON.parse(text); },
          });
        });
      });
      req.end(body == null ? undefined : body);
    });
  }

  return {
    request,
    get: (path, opts) => request('GET', path, opts),
    post: (path, body, opts = {}) => request('POST', path, { ...opts, body }),
    put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
    del: (path, opts) => request('DELETE', path, opts),
    /** name -> value of every unexpired cookie (last path wins on duplicate names) */
    cookies() {
      const out = {};
      for (const c of live()) out[c.name] = c.value;
      return out;
    },
    cookieDetails() {
      return live().map((c) => ({ ...c }));
    },
    setCookie(name, value, o = {}) {
      const path = o.path || '/';
      jar.set(`${path}\n${name}`, {
        name, value: String(value), path, expires: o.expires, httpOnly: false, secure: false, sameSite: undefined,
      });
    },
    deleteCookie(name) {
      for (const [k, c] of jar) if (c.name === name) jar.delete(k);
    },
    clear() {
      jar.clear();
    },
    close() {
      if (ownAgent) ownAgent.destroy(); // the shared agent and caller-supplied agents are left alone
    },
  };
}

module.exports = { createClient, parseSetCookie, sharedAgent };
