'use strict';
// A small HTTP/1.1 server on node:net for the fake DynamoDB: just what DynamoDB clients send
// (POST with Content-Length or chunked bodies, keep-alive, Expect: 100-continue, pipelining with
// answers kept in order). With node:http the whole fake server spent ~96 µs of CPU per 1 KB
// request (0.82 cores at the native client's ~8,500 requests/s on a 2-core machine), so the server
// set much of the pace; on this layer it measured ~78 µs (0.64 cores at ~8,200/s). Most of what
// remains is the kernel's loopback TCP and the server's JSON work.
//
//   createServer((req, reply) => ..., { onError }) -> net.Server (plus closeAllConnections())
//   req: { method, url, headers: { lower-case name: value }, body: Buffer }
//   reply(status, [[name, value], ...], body: Buffer | string) — once per request, in any order.
const net = require('node:net');

const REASONS = { 100: 'Continue', 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 411: 'Length Required', 413: 'Payload Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable' };
const MAX_HEAD = 64 * 1024;
const MAX_BODY = 64 * 1024 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');

function head(status, headers, length, close) {
  let s = `HTTP/1.1 ${status} ${REASONS[status] || 'Status'}\r\n`;
  for (const [k, v] of headers) s += `${k}: ${v}\r\n`;
  s += `Content-Length: ${length}\r\n`;
  if (close) s += 'Connection: close\r\n';
  return `${s}\r\n`;
}

function parseHead(text) {
  const lines = text.split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0]);
  if (!m) return null;
  const headers = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { method: m[1], url: m[2], http10: m[3] === '0', headers };
}

// Decodes a chunked body from buf at i: { body, end } when complete, null when more is needed,
// throws on a malformed one.
function dechunk(buf, i) {
  const parts = [];
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', i, eol).split(';')[0], 16);
    if (!(size >= 0)) throw new Error('bad chunk size');
    if (size === 0) { // then optional trailers (ignored) and an empty line
      if (buf.length < eol + 4) return null;
      if (buf[eol + 2] === 13 && buf[eol + 3] === 10) return { body: Buffer.concat(parts), end: eol + 4 };
      const end = buf.indexOf(CRLF2, eol);
      return end < 0 ? null : { body: Buffer.concat(parts), end: end + 4 };
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

function createServer(onRequest, { onError = () => {} } = {}) {
  const sockets = new Set();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    let seq = 0; // requests read on this connection
    let next = 0; // the next answer to write
    const ready = new Map(); // seq -> [bytes, close]
    let closed = false;
    let continued = -1; // the request a 100 Continue was sent for

    socket.on('error', (e) => { closed = true; onError(e); });
    socket.on('close', () => { closed = true; });

    function flush() {
      while (ready.has(next)) {
        const [parts, close] = ready.get(next);
        ready.delete(next++);
        if (closed) continue;
        if (parts.length === 1) socket.write(parts[0]);
        else {
          socket.cork();
          for (const p of parts) socket.write(p);
          socket.uncork();
        }
        if (close) {
          closed = true;
          socket.end();
        }
      }
    }

    function reject(status) {
      const body = Buffer.from(JSON.stringify({ message: REASONS[status] || 'bad request' }));
      ready.set(seq++, [[Buffer.concat([Buffer.from(head(status, [['Content-Type', 'application/json']], body.length, true)), body])], true]);
      buf = Buffer.alloc(0);
      socket.pause();
      flush();
    }

    socket.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (!closed && buf.length) {
        const headEnd = buf.indexOf(CRLF2);
        if (headEnd < 0) {
          if (buf.length > MAX_HEAD) reject(400);
          return;
        }
        const h = parseHead(buf.toString('latin1', 0, headEnd));
        if (!h) return reject(400);
        const start = headEnd + 4;
        let body;
        let end;
        if (/\bchunked\b/i.test(h.headers['transfer-encoding'] || '')) {
          let r;
          try {
            r = dechunk(buf, start);
          } catch {
            return reject(400);
          }
          if (!r) {
            if (buf.length - start > MAX_BODY) reject(413);
            return;
          }
          ({ body, end } = r);
        } else {
          const cl = h.headers['content-length'];
          const n = cl === undefined ? 0 : Number(cl);
          if (!Number.isSafeInteger(n) || n < 0) return reject(400);
          if (n > MAX_BODY) return reject(413);
          if (buf.length < start + n) {
            if (/100-continue/i.test(h.headers.expect || '') && continued !== seq) {
              continued = seq;
              socket.write('HTTP/1.1 100 Continue\r\n\r\n');
            }
            return;
          }
          body = buf.subarray(start, start + n);
          end = start + n;
        }
        buf = end === buf.length ? Buffer.alloc(0) : buf.subarray(end);
        const id = seq++;
        const close = h.http10 ? !/keep-alive/i.test(h.headers.connection || '') : /\bclose\b/i.test(h.headers.connection || '');
        let replied = false;
        onRequest({ method: h.method, url: h.url, headers: h.headers, body }, (status, headers, payload) => {
          if (replied) throw new Error('reply called twice');
          replied = true;
          const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
          const hd = Buffer.from(head(status, headers, b.length, close), 'latin1');
          // small answers go out as one buffer; large ones as two writes, the body not copied
          ready.set(id, [b.length < 16384 ? [Buffer.concat([hd, b])] : [hd, b], close]);
          flush();
        });
        if (close) {
          socket.pause();
          return;
        }
      }
    });
  });
  server.closeAllConnections = () => { for (const s of sockets) s.destroy(); };
  return server;
}

module.exports = { createServer };
