'use strict';
// Server-side preparation shared by run.js and soak.js: the session table and pre-populated keys.
const { RawClient, dummySigV4Headers } = require('./raw-client');
const { sessionItem } = require('./ddb-json');
const { TABLE, MAX_AGE, keysFor, sessionFor } = require('./workload');

const CREDENTIALS = { region: 'us-east-1', accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'bench-secret-key' };

function adminClient(endpoint) {
  return new RawClient(endpoint, { headers: dummySigV4Headers(CREDENTIALS.region), maxSockets: 32 });
}

async function ensureTable(endpoint, table = TABLE, { timeoutMs = 30000 } = {}) {
  const c = adminClient(endpoint);
  try {
    await c.call('CreateTable', {
      TableName: table,
      KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }).catch((e) => { if (e.code !== 'ResourceInUseException') throw e; });
    const until = Date.now() + timeoutMs;
    for (;;) {
      const { Table } = await c.call('DescribeTable', { TableName: table });
      if (Table.TableStatus === 'ACTIVE') return;
      if (Date.now() > until) throw new Error(`table ${table} not ACTIVE after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    c.close();
  }
}

// Put every key of each (store, size) namespace, `concurrency` requests in flight. The few
// distinct sessions are serialized once; each body only splices in its key.
async function populate(endpoint, namespaces, { table = TABLE, concurrency = 32 } = {}) {
  const c = adminClient(endpoint);
  const serialized = new Map();
  const body = (key, size, i) => {
    const sess = sessionFor(size, i);
    if (!serialized.has(sess)) {
      const item = JSON.stringify(sessionItem('\u0000KEY\u0000', sess, MAX_AGE));
      serialized.set(sess, `{"TableName":${JSON.stringify(table)},"Item":${item}}`.split('"\\u0000KEY\\u0000"'));
    }
    return serialized.get(sess).join(JSON.stringify(key));
  };
  const jobs = [];
  for (const { store, size } of namespaces) {
    keysFor(store, size).forEach((key, i) => jobs.push({ key, size, i }));
  }
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const { key, size, i } = jobs[next++];
      await c.callJson('PutItem', body(key, size, i));
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    c.close();
  }
  return jobs.length;
}

module.exports = { CREDENTIALS, ensureTable, populate };
