'use strict';
// A session store written today by a careful user of AWS SDK v3: DynamoDBDocumentClient,
// consistent reads, expiry checked on read (DynamoDB's TTL deletes lazily), keep-alive agent
// with enough sockets for the benchmark's concurrency.
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, GetCommand, PutCommand, DeleteCommand } = require('@aws-sdk/lib-dynamodb');
const { keepAliveAgent } = require('../lib/store-util');
const { HASH_KEY, expiresEpoch } = require('../lib/ddb-json');

class SdkV3Store {
  constructor({ endpoint, region, accessKeyId, secretAccessKey, table }) {
    const agent = keepAliveAgent(endpoint, 256);
    this.client = new DynamoDBClient({
      region,
      endpoint,
      credentials: { accessKeyId, secretAccessKey },
      requestHandler: { httpAgent: agent, httpsAgent: agent },
    });
    this.doc = DynamoDBDocumentClient.from(this.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = table;
  }

  async get(key) {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { [HASH_KEY]: key }, ConsistentRead: true }));
    if (!Item || Item.expires * 1000 <= Date.now()) return undefined;
    return Item.session;
  }

  async set(key, sess, maxAge) {
    await this.doc.send(new PutCommand({
      TableName: this.table,
      Item: { [HASH_KEY]: key, session: sess, expires: expiresEpoch(maxAge) },
    }));
  }

  async destroy(key) {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { [HASH_KEY]: key } }));
  }

  async close() {
    this.client.destroy();
  }
}

module.exports = { create: (config) => new SdkV3Store(config) };
