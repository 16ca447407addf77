'use strict';
/**
 * A fake DynamoDB that can misbehave at the byte level: a node:net server (not node:http, which
 * would refuse to write most of these answers) speaking just enough HTTP/1.1 to serve the store's
 * GetItem / PutItem / DeleteItem, on keep-alive connections.
 *
 *   const { startRawServer } = require('./support/raw-server');
 *   const server = await startRawServer();          // 127.0.0.1, port 0, resolved once 'listening'
 *   server.endpoint                                 // 'http://127.0.0.1:<port>'
 *   server.seed('alice', 'alice');                  // key -> owner (GetItem answers { user: owner })
 *   server.misbehaveOnce('late-duplicate', { key: 'alice', delayMs: 20 });
 *   ... the store talks to it ...
 *   server.behave();                                // disarm, drop pending unasked bytes
 *   await server.close();
 *
 * Requests: each connection is parsed as a sequence of requests (request line, header fields, a
 * Content-Length body; no pipelining is expected from the store, but a request smuggled inside a
 * header is parsed as the separate request a real server would see). Lines end in CRLF or a bare
 * LF, as a lenient server reads them. Every request is recorded in server.requests (capped) with its
 * raw head, and counted in server.stats.
 *
 * Answers (always Content-Type: application/x-amz-json-1.0, a correct Content-Length,
 * x-amzn-RequestId, Date; no x-amz-crc32):
 *   GetItem    {"Item":{"sessionId":{"S":key},"session":{"M":{"user":{"S":owner}}},"expires":{"N":now+3600}}}
 *              for a known key (the key is Key.<first attribute>.S of the request), else {}
 *   PutItem    {} (and remembers Item.<hash>.S -> Item.session.M.user.S, so the store can seed);
 *              UpdateItem of the whole session (SET #s = :s) likewise, with :s.M.user.S
 *   DeleteItem {} (and forgets the key)
 *   anything else {}
 *
 * Misbehaviours: server.misbehave(kind, opts) arms kind for the next opts.count (default 1) answers
 * that match opts.target (default 'GetItem'; '*' for any), opts.key (the request's key), opts.conn
 * (a connection id) and opts.match (a predicate on the request), each optional; count may be
 * Infinity. misbehaveOnce(kind, opts) is count 1. Both return the arm ({ fired }). Most kinds leave
 * "junk" behind: bytes that belong to no request, written on the same connection opts.delayMs
 * (default 20) after the answer, or right before the answer to the next request on that connection
 * if that comes first (so a store that sends its next request at once reads the junk as its
 * answer; the real answer follows 5 ms later, in its own segment). The junk is, by default, a
 * complete 200 answer for opts.surplusKey (default: the request's own key). Normal and
 * misbehaving answers alike are held by the holdMs option.
 *
 *   crossing
 *   'late-duplicate'   (a) the answer, then the very same bytes again
 *   'long-body'        (b) a body longer than its Content-Length: the surplus, a complete answer
 *                          with its own request id, arrives in a later segment
 *   '204-then-answer'  (c) 204 No Content, then a full 200 answer
 *   '204-then-body'    (c') 204 with a Content-Length, then that many bytes of JSON
 *   '500-then-200'     (d) a 500 answer, then (opts.delayMs, default 5, separate write) a 200
 *                          answer for the same request
 *   'unsolicited'      (e) a normal answer; later an unasked complete 200 answer
 *   framing (RFC 9112): each answer below is one a strict reader refuses or must not reuse the
 *                       connection after; the junk then desynchronises a lenient one
 *   'te-and-cl'        (f) Transfer-Encoding: chunked and Content-Length together
 *   'http10-chunked'   (g) HTTP/1.0, Transfer-Encoding: chunked, Connection: keep-alive
 *   'te-gzip-chunked'  (h) Transfer-Encoding: gzip, chunked over a plain chunked body
 *   'long-header'      (i) a header line of opts.bytes (default 9000) in the same write
 *   'bare-cr'          (j) a bare CR inside a header value ("a\rTransfer-Encoding: chunked")
 *   'trailers'         (k) a valid chunked answer whose trailer section comes in a later segment
 *                          (not ambiguous: no junk)
 *   'trailer-smuggle'  (k') a chunked answer whose "trailer section" is a complete 200 answer
 *   'short-cl'         (l) Content-Length shorter than the JSON written: the rest of the JSON and
 *                          then a complete answer arrive as the "next answer"
 *   other
 *   'body'             a 200 (opts.status) with opts.body as it is (opts.contentType)
 *
 * server.stats: { connections, requests, answers, junkWrites, byTarget: {GetItem: n},
 *                 reusedAfterAmbiguous: [{ conn, kind, key }] } — a request that arrived on a
 *                 connection after an ambiguous (framing) answer was written on it.
 * server.allClosed(timeoutMs): resolves once the client closed every connection (everything it sent
 * has been parsed: a count read then is final).
 * Options: { holdMs }: hold every normal answer holdMs ms (a number, or [min, max] for a random
 * hold); each written answer emits 'answered' ({ conn, key, target }).
 */
const net = require('node:net');
const { EventEmitter, once } = require('node:events');

const JSON_CT = 'application/x-amz-json-1.0';
const MAX_HEAD = 256 * 1024;
const MAX_BODY = 1 << 20;
const MAX_RECORDED = 2000;
const JUNK_GAP_MS = 5; // between junk flushed before an answer and that answer: separate segments

const KINDS = new Set([
  'late-duplicate', 'long-body', '204-then-answer', '204-then-body', '500-then-200', 'unsolicited',
  'te-and-cl', 'http10-chunked', 'te-gzip-chunked', 'long-header', 'bare-cr', 'trailers',
  'trailer-smuggle', 'short-cl', 'body',
]);

let ridCounter = 0;
const rid = () => `RAW${process.pid}x${(++ridCounter).toString(36).toUpperCase().padStart(6, '0')}`;

function head(statusLine, fields) {
  return `${statusLine}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
}

function chunked(body, { trailers = '' } = {}) {
  const b = Buffer.from(body);
  // two chunks, so that a reader must really follow the chunk sizes
  const half = Math.max(1, b.length >> 1);
  const parts = [b.subarray(0, half), b.subarray(half)].filter((p) => p.length);
  const enc = parts.map((p) => Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]));
  return Buffer.concat([...enc, Buffer.from(`0\r\n${trailers}\r\n`)]);
}

class RawServer extends EventEmitter {
  constructor({ holdMs = 0, expiresInS = 3600 } = {}) {
    super();
    this.holdMs = holdMs;
    this.expiresInS = expiresInS;
    this.items = new Map(); // key -> owner
    this.stats = { connections: 0, requests: 0, answers: 0, junkWrites: 0, byTarget: {}, reusedAfterAmbiguous: [] };
    this.requests = []; // { conn, method, path, version, headers: [[name, value]], rawHead, body, target, key }
    this.conns = [];
    this.arms = [];
    this.timers = new Set();
    this.sockets = new Set();
    this.server = net.createServer((socket) => this.#onConnection(socket));
  }

  async listen() {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = this.server.address().port;
    this.endpoint = `http://127.0.0.1:${this.port}`;
    return this;
  }

  seed(key, owner = key) {
    this.items.set(key, owner);
  }

  misbehave(kind, opts = {}) {
    if (!KINDS.has(kind)) throw new TypeError(`raw-server: unknown misbehaviour ${kind}`);
    const arm = { kind, opts, remaining: opts.count ?? 1, fired: 0 };
    this.arms.push(arm);
    return arm;
  }

  misbehaveOnce(kind, opts = {}) {
    return this.misbehave(kind, { ...opts, count: 1 });
  }

  /** Back to normal: no armed misbehaviour, no pending unasked bytes. */
  behave() {
    this.arms = [];
    for (const c of this.conns) c.pending = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** The item JSON GetItem answers for key (undefined when unknown). */
  itemJson(key) {
    if (!this.items.has(key)) return '{}';
    const expires = Math.floor(Date.now() / 1000) + this.expiresInS;
    return JSON.stringify({
      Item: { sessionId: { S: key }, session: { M: { user: { S: this.items.get(key) } } }, expires: { N: String(expires) } },
    });
  }

  /** A complete, well-formed 200 answer (Buffer) carrying body. */
  answer(body, { status = '200 OK', requestId = rid(), extra = [] } = {}) {
    const b = Buffer.from(body);
    return Buffer.concat([Buffer.from(head(`HTTP/1.1 ${status}`, [
      ['x-amzn-RequestId', requestId], ['Content-Type', JSON_CT], ['Content-Length', b.length],
      ['Date', new Date().toUTCString()], ...extra,
    ])), b]);
  }

  /** A complete 200 GetItem answer for key. */
  getAnswer(key, opts) {
    return this.answer(this.itemJson(key), opts);
  }

  /** Resolves once every connection accepted so far has closed (all its bytes parsed), or after timeoutMs. */
  allClosed(timeoutMs = 3000) {
    const open = [...this.sockets];
    if (!open.length) return Promise.resolve(true);
    return new Promise((resolve) => {
      let left = open.length;
      const timer = setTimeout(() => resolve(false), timeoutMs);
      for (const s of open) {
        s.once('close', () => {
          if (--left === 0) {
            clearTimeout(timer);
            resolve(true);
          }
        });
      }
    });
  }

  close() {
    this.behave();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #onConnection(socket) {
    const conn = { id: ++this.stats.connections, socket, buf: Buffer.alloc(0), pending: [], ambiguous: null, requests: 0, closed: false };
    this.conns.push(conn);
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('data', (d) => this.#onData(conn, d));
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.closed = true;
      conn.pending = [];
      this.sockets.delete(socket);
    });
  }

  #onData(conn, data) {
    conn.buf = conn.buf.length ? Buffer.concat([conn.buf, data]) : data;
    for (let guard = 0; guard < 1000; guard++) {
      const text = conn.buf.toString('latin1');
      const m = /\r?\n\r?\n/.exec(text);
      if (!m) {
        if (conn.buf.length > MAX_HEAD) conn.socket.destroy();
        return;
      }
      const rawHead = text.slice(0, m.index);
      const lines = rawHead.split(/\r?\n/);
      const [method = '', path = '', version = ''] = lines[0].split(' ');
      const headers = [];
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        headers.push(i < 0 ? [line, ''] : [line.slice(0, i).trim(), line.slice(i + 1).trim()]);
      }
      const get = (name) => { const h = headers.find(([n]) => n.toLowerCase() === name); return h ? h[1] : undefined; };
      const cl = Number(get('content-length') || 0);
      const start = m.index + m[0].length;
      if (!Number.isInteger(cl) || cl < 0 || cl > MAX_BODY) {
        conn.socket.destroy();
        return;
      }
      if (conn.buf.length < start + cl) return; // the body is still coming
      const body = conn.buf.subarray(start, start + cl).toString('utf8');
      conn.buf = conn.buf.subarray(start + cl);
      const target = (get('x-amz-target') || '').replace(/^DynamoDB_20120810\./, '');
      let json = null;
      try { json = JSON.parse(body); } catch { /* not JSON: answered {} */ }
      const req = { conn: conn.id, method, path, version, headers, rawHead, body, json, target, key: keyOf(json, target), at: Date.now() };
      this.#onRequest(conn, req);
    }
  }

  #onRequest(conn, req) {
    this.stats.requests++;
    this.stats.byTarget[req.target || '(none)'] = (this.stats.byTarget[req.target || '(none)'] || 0) + 1;
    if (this.requests.length < MAX_RECORDED) this.requests.push(req);
    conn.requests++;
    if (conn.ambiguous) this.stats.reusedAfterAmbiguous.push({ conn: conn.id, kind: conn.ambiguous, key: req.key, target: req.target });
    this.emit('request', req);

    let body = '{}';
    if (req.target === 'GetItem') body = this.itemJson(req.key);
    else if (req.target === 'PutItem' && req.json && req.json.Item) {
      const item = req.json.Item;
      const owner = item.session && item.session.M && item.session.M.user && item.session.M.user.S;
      if (req.key !== undefined) this.items.set(req.key, owner ?? null);
    } else if (req.target === 'UpdateItem' && req.json && req.json.ExpressionAttributeValues &&
               /^SET #s = :s\b/.test(req.json.UpdateExpression || '')) { // the whole session
      const sess = req.json.ExpressionAttributeValues[':s'];
      const owner = sess && sess.M && sess.M.user && sess.M.user.S;
      if (req.key !== undefined) this.items.set(req.key, owner ?? null);
    } else if (req.target === 'DeleteItem' && req.key !== undefined) this.items.delete(req.key);

    const arm = this.arms.find((a) => a.remaining > 0 &&
      ((a.opts.target ?? (a.kind === 'body' ? '*' : 'GetItem')) === '*' || (a.opts.target ?? 'GetItem') === req.target) &&
      (a.opts.key === undefined || a.opts.key === req.key) &&
      (a.opts.conn === undefined || a.opts.conn === conn.id) &&
      (a.opts.match === undefined || a.opts.match(req)));
    if (arm) {
      arm.remaining--;
      arm.fired++;
    }
    let hold = this.holdMs;
    if (Array.isArray(hold)) hold = hold[0] + Math.random() * (hold[1] - hold[0]);
    const answer = () => {
      if (conn.closed) return;
      if (arm) this.#misbehave(conn, req, arm, body);
      else this.#write(conn, this.answer(body));
      this.stats.answers++;
      this.emit('answered', { conn: conn.id, key: req.key, target: req.target });
    };
    const respond = () => {
      // junk still pending on this connection goes first, in its own segment: the store reads it
      // as the answer to this request, and the real answer then arrives as the next junk
      if (this.#flushPending(conn)) this.#later(answer, JUNK_GAP_MS);
      else answer();
    };
    if (hold > 0) this.#later(respond, hold);
    else respond();
  }

  #later(fn, ms) {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
    return t;
  }

  #write(conn, bytes) {
    if (!conn.closed && !conn.socket.destroyed) conn.socket.write(bytes);
  }

  /** Bytes that belong to no request: written after ms, or before the next answer on conn. */
  #junk(conn, bytes, ms) {
    const entry = { bytes };
    conn.pending.push(entry);
    this.#later(() => {
      const i = conn.pending.indexOf(entry);
      if (i < 0) return;
      conn.pending.splice(i, 1);
      this.stats.junkWrites++;
      this.#write(conn, bytes);
    }, ms);
  }

  #flushPending(conn) {
    const any = conn.pending.length > 0;
    while (conn.pending.length) {
      this.stats.junkWrites++;
      this.#write(conn, conn.pending.shift().bytes);
    }
    return any;
  }

  #misbehave(conn, req, arm, body) {
    const o = arm.opts;
    const delay = o.delayMs ?? (arm.kind === '500-then-200' ? 5 : 20);
    const key = req.key;
    const surplus = () => this.getAnswer(o.surplusKey ?? key, { extra: [['Connection', 'keep-alive']] });
    const json = Buffer.from(body);
    const date = ['Date', new Date().toUTCString()];
    const ambiguous = () => { conn.ambiguous = arm.kind; };
    switch (arm.kind) {
      case 'late-duplicate': {
        const a = this.answer(body);
        this.#write(conn, a);
        this.#junk(conn, a, delay);
        break;
      }
      case 'long-body':
      case 'unsolicited':
        this.#write(conn, this.answer(body));
        this.#junk(conn, surplus(), delay);
        break;
      case '204-then-answer':
        this.#write(conn, Buffer.from(head('HTTP/1.1 204 No Content', [['x-amzn-RequestId', rid()], date])));
        this.#junk(conn, surplus(), delay);
        break;
      case '204-then-body':
        this.#write(conn, Buffer.from(head('HTTP/1.1 204 No Content', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT], ['Content-Length', json.length], date])));
        this.#junk(conn, json, delay);
        break;
      case '500-then-200': {
        const err = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' });
        this.#write(conn, this.answer(err, { status: '500 Internal Server Error' }));
        this.#junk(conn, this.answer(body), delay);
        break;
      }
      case 'te-and-cl':
        ambiguous();
        this.#write(conn, Buffer.concat([Buffer.from(head('HTTP/1.1 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['Transfer-Encoding', 'chunked'], ['Content-Length', json.length], date])), chunked(json)]));
        this.#junk(conn, surplus(), delay);
        break;
      case 'http10-chunked':
        ambiguous();
        this.#write(conn, Buffer.concat([Buffer.from(head('HTTP/1.0 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['Connection', 'keep-alive'], ['Transfer-Encoding', 'chunked'], date])), chunked(json)]));
        this.#junk(conn, surplus(), delay);
        break;
      case 'te-gzip-chunked':
        ambiguous();
        this.#write(conn, Buffer.concat([Buffer.from(head('HTTP/1.1 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['Transfer-Encoding', 'gzip, chunked'], date])), chunked(json)]));
        this.#junk(conn, surplus(), delay);
        break;
      case 'long-header':
        ambiguous();
        this.#write(conn, Buffer.concat([Buffer.from(head('HTTP/1.1 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['X-Pad', 'p'.repeat(o.bytes ?? 9000)], ['Content-Length', json.length], date])), json]));
        this.#junk(conn, surplus(), delay);
        break;
      case 'bare-cr':
        ambiguous();
        this.#write(conn, Buffer.concat([Buffer.from(head('HTTP/1.1 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['X-Amzn-Note', 'a\rTransfer-Encoding: chunked'], ['Content-Length', json.length], date])), json]));
        this.#junk(conn, surplus(), delay);
        break;
      case 'trailers': {
        const all = Buffer.concat([Buffer.from(head('HTTP/1.1 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['Transfer-Encoding', 'chunked'], ['Trailer', 'X-Trailer'], date])), chunked(json, { trailers: 'X-Trailer: 1\r\nX-Other: two\r\n' })]);
        const cut = all.lastIndexOf('0\r\n') + 3; // up to the last chunk; its trailer section comes later
        this.#write(conn, all.subarray(0, cut));
        this.#later(() => this.#write(conn, all.subarray(cut)), delay);
        break;
      }
      case 'trailer-smuggle': {
        ambiguous();
        const all = Buffer.concat([Buffer.from(head('HTTP/1.1 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['Transfer-Encoding', 'chunked'], date])), chunked(json)]);
        this.#write(conn, all.subarray(0, all.length - 2)); // "0\r\n": the "trailer section" follows
        this.#later(() => this.#write(conn, surplus()), delay);
        break;
      }
      case 'short-cl': {
        const cut = Math.max(1, json.length - (o.cut ?? 12));
        this.#write(conn, Buffer.concat([Buffer.from(head('HTTP/1.1 200 OK', [['x-amzn-RequestId', rid()], ['Content-Type', JSON_CT],
          ['Content-Length', cut], date])), json.subarray(0, cut)]));
        this.#junk(conn, Buffer.concat([json.subarray(cut), surplus()]), delay);
        break;
      }
      case 'body':
        this.#write(conn, Buffer.concat([Buffer.from(head(`HTTP/1.1 ${o.status ?? '200 OK'}`, [['x-amzn-RequestId', rid()],
          ['Content-Type', o.contentType ?? JSON_CT], ['Content-Length', Buffer.byteLength(o.body ?? '')], date])), Buffer.from(o.body ?? '')]));
        break;
      default:
        throw new Error(`unreachable: ${arm.kind}`);
    }
  }
}

function keyOf(json, target) {
  if (!json || typeof json !== 'object') return undefined;
  const attrs = target === 'PutItem' ? json.Item : json.Key;
  if (!attrs || typeof attrs !== 'object') return undefined;
  const first = attrs.sessionId ?? attrs[Object.keys(attrs)[0]];
  return first && typeof first.S === 'string' ? first.S : undefined;
}

async function startRawServer(options) {
  return new RawServer(options).listen();
}

module.exports = { startRawServer, RawServer, JSON_CT, KINDS };
