'use strict';
// TLS pieces of the tests (https.test.js, portable.test.js): a self-signed certificate, an https
// server in front of the plain test server, and closing a server with its open sockets.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');

/** A self-signed certificate (its own CA) for `san`, as { key, cert } file paths in dir. */
function makeCert(dir, name = 'tls', san = 'IP:127.0.0.1,DNS:localhost') {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-subj', '/CN=localhost', '-addext', `subjectAltName=${san}`, '-days', '1'], { stdio: 'ignore', timeout: 60_000 });
  return { key, cert };
}

/** A function that closes server and destroys its open sockets (plain and TLS). */
function closer(server) {
  const sockets = new Set();
  const track = (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); };
  server.on('connection', track);
  server.on('secureConnection', track);
  return () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); });
}

/**
 * An https server in front of `target` (http://127.0.0.1:PORT), passing raw bodies and headers both
 * ways: { url, port, stats: { requests, tlsErrors }, close }.
 */
async function startTlsFront(target, cert) {
  const up = new URL(target);
  const stats = { requests: 0, tlsErrors: 0 };
  const server = https.createServer({ key: fs.readFileSync(cert.key), cert: fs.readFileSync(cert.cert) }, (req, res) => {
    stats.requests++;
    const fwd = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.rawHeaders);
      upRes.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  server.on('tlsClientError', () => { stats.tlsErrors++; });
  const close = closer(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${server.address().port}`, port: server.address().port, stats, close };
}

module.exports = { makeCert, closer, startTlsFront };
