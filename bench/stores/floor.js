'use strict';
// The floor for any JavaScript client: the same DynamoDB JSON request bodies, JSON.stringify'd
// and POSTed with node:http over keep-alive connections; no signing, retries or CRC check.
// (Against dynalite it sends a fixed, unsigned SigV4-shaped header, which dynalite requires.)
const { RawClient, dummySigV4Headers } = require('../lib/raw-client');
const { HASH_KEY, unmarshalMap, sessionItem } = require('../lib/ddb-json');

class FloorStore {
  constructor({ endpoint, region, table, server }) {
    const headers = server === 'dynalite' ? dummySigV4Headers(region) : { 'x-bench-client': 'floor' };
    this.client = new RawClient(endpoint, { headers, maxSockets: 256 });
    this.table = table;
  }

  async get(key) {
    const { Item } = await this.client.call('GetItem', { TableName: this.table, Key: { [HASH_KEY]: { S: key } }, ConsistentRead: true });
    if (!Item || Number(Item.expires.N) * 1000 <= Date.now()) return undefined;
    return unmarshalMap(Item.session.M);
  }

  async set(key, sess, maxAge) {
    await this.client.call('PutItem', { TableName: this.table, Item: sessionItem(key, sess, maxAge) });
  }

  async destroy(key) {
    await this.client.call('DeleteItem', { TableName: this.table, Key: { [HASH_KEY]: { S: key } } });
  }

  async close() {
    this.client.close();
  }
}

module.exports = { create: (config) => new FloorStore(config) };
