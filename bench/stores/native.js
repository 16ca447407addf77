'use strict';
// This package: the native core (lib/ + the compiled addon) at the repository root.
const path = require('node:path');
const { adapt } = require('../lib/store-util');

function create({ endpoint, region, accessKeyId, secretAccessKey, table }) {
  const mod = require(path.resolve(__dirname, '..', '..'));
  const DynamoDBStore = typeof mod === 'function' ? mod : mod.default || mod.DynamoDBStore;
  const store = new DynamoDBStore({
    table: { name: table },
    dynamoConfig: { region, endpoint, accessKeyId, secretAccessKey },
  });
  return adapt(store, typeof store.close === 'function' ? () => store.close() : null);
}

module.exports = { create };
