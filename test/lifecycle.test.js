'use strict';
// The store's thread and the process: an idle store never keeps the process alive, the addon works
// in worker_threads and is torn down when a worker exits (even with requests in flight), and
// requests do not depend on the libuv threadpool.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { useServer, storeOptions } = require('./helpers');

const root = path.join(__dirname, '..');

function runChild(code, env = {}, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms (it kept the process alive)\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

test('an idle store, used or not, never keeps the process alive', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const opts = JSON.stringify(storeOptions(server));
  const used = await runChild(`
    const Store = require('.');
    const s = new Store(${opts});
    s.set('k', { a: 1 }, 60000).then(() => s.get('k')).then((v) => console.log(JSON.stringify(v)));
  `);
  assert.equal(used.code, 0, used.err);
  assert.equal(used.out.trim(), '{"a":1}');
  const unused = await runChild(`const Store = require('.'); new Store(${opts}); console.log('made');`);
  assert.equal(unused.code, 0, unused.err);
  assert.equal(unused.out.trim(), 'made');
});

test('a pending request keeps the process alive until it settles', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  server.injectFault({ kind: 'delay', ms: 800, target: 'GetItem' });
  const opts = JSON.stringify(storeOptions(server));
  const r = await runChild(`
    const Store = require('.');
    const s = new Store(${opts});
    const t0 = Date.now();
    s.get('k').then((v) => console.log('settled', v === undefined, Date.now() - t0 >= 700));
  `);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), 'settled true true');
});

test('requests do not use the libuv threadpool: they complete while it is blocked', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const opts = JSON.stringify(storeOptions(server));
  // UV_THREADPOOL_SIZE=1 and the only pool thread busy for about a second with a pbkdf2 job
  const r = await runChild(`
    const crypto = require('node:crypto');
    const Store = require('.');
    const s = new Store(${opts});
    s.get('warm').then(async () => {
      let poolDone = false;
      crypto.pbkdf2('p', 's', 1e6, 32, 'sha512', () => { poolDone = true; });
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 100 }, (_, i) => s.set('k' + i, { i }, 60000)));
      console.log(JSON.stringify({ poolDone, ms: Date.now() - t0 }));
      process.exit(0);
    });
  `, { UV_THREADPOOL_SIZE: '1' }, 30000);
  assert.equal(r.code, 0, r.err);
  const { poolDone } = JSON.parse(r.out.trim());
  assert.equal(poolDone, false, 'the store finished while the threadpool was still blocked');
});

test('works in worker_threads, and a worker torn down mid-flight exits cleanly', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const Store = require(${JSON.stringify(root)});
    const s = new Store(workerData.opts);
    (async () => {
      const id = workerData.id;
      for (let i = 0; i < 20; i++) await s.set(id + '-' + i, { id, i }, 60000);
      const back = await Promise.all(Array.from({ length: 20 }, (_, i) => s.get(id + '-' + i)));
      parentPort.postMessage({ ok: back.every((v, i) => v && v.id === id && v.i === i) });
      if (workerData.hang) {
        // keep requests in flight, and let the parent terminate us
        for (let i = 0; i < 50; i++) s.get(id + '-0');
        parentPort.postMessage({ inflight: true });
      } else {
        await s.close();
      }
    })().catch((e) => parentPort.postMessage({ error: e.message }));
  `;
  const opts = storeOptions(server);
  const runWorker = (id, hang) => new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true, workerData: { opts, id, hang } });
    const msgs = [];
    w.on('message', (m) => {
      msgs.push(m);
      if (m.inflight) w.terminate();
    });
    w.on('error', reject);
    w.on('exit', (code) => resolve({ code, msgs }));
  });
  const results = await Promise.all([runWorker('w1', false), runWorker('w2', false), runWorker('w3', true)]);
  for (const r of results) assert.equal(r.msgs[0] && r.msgs[0].ok, true, JSON.stringify(r.msgs));
  assert.equal(results[0].code, 0);
  assert.equal(results[1].code, 0);
  assert.equal(results[2].code, 1, 'terminated');
  // the main thread's own store still works after the workers are gone
  const store = server.store();
  await store.set('main', { ok: 1 }, 60000);
  assert.deepEqual(await store.get('w2-3'), { id: 'w2', i: 3 });
});

test('the process can exit while requests are in flight (env cleanup), without a crash', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  server.injectFault({ kind: 'delay', ms: Infinity, target: 'GetItem', count: Infinity });
  const opts = JSON.stringify(storeOptions(server));
  const r = await runChild(`
    const Store = require('.');
    const s = new Store(${opts});
    for (let i = 0; i < 20; i++) s.get('k' + i).catch(() => {});
    setTimeout(() => { console.log('exiting'); process.exit(0); }, 300);
  `);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.signal, null);
  assert.equal(r.out.trim(), 'exiting');
});

test('a child process does not inherit the store\'s connections (close-on-exec sockets)', async (t) => {
  const fs = require('node:fs');
  const { execFileSync } = require('node:child_process');
  const server = await useServer(t);
  await server.createTable('sessions');
  const store = server.store();
  await store.set('k', { v: 1 }, 60000);
  await Promise.all(Array.from({ length: 8 }, () => store.get('k')));
  // the inodes of this process's TCP sockets to the server, from /proc/net/tcp
  const port = Number(new URL(server.endpoint).port).toString(16).toUpperCase().padStart(4, '0');
  const ours = new Set();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[2].endsWith(`:${port}`)) ours.add(f[9]);
  }
  assert.ok(ours.size >= 1, 'no connection to the server found in /proc/net/tcp');
  // what a child process holds open
  const listing = execFileSync('/bin/sh', ['-c', 'for f in /proc/self/fd/*; do readlink "$f"; done'], { encoding: 'utf8' });
  const inherited = [...listing.matchAll(/socket:\[(\d+)\]/g)].map((m) => m[1]).filter((inode) => ours.has(inode));
  assert.deepEqual(inherited, [], 'the child holds connections of the store');
});
