'use strict';
// The JavaScript package this one replaces: koa-session-dynamodb-store@1.1.1 on aws-sdk v2
// (DocumentClient; eventually-consistent reads). By default configured the way a careful aws-sdk
// v2 user does: a keep-alive agent (v2's own agent for http endpoints does not keep alive).
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
const { adapt, keepAliveAgent } = require('../lib/store-util');

function create({ endpoint, region, accessKeyId, secretAccessKey, table }, { keepAlive = true } = {}) {
  const V1Store = require('koa-session-dynamodb-store-v1');
  const agent = keepAlive ? keepAliveAgent(endpoint, 128) : null;
  const store = new V1Store({
    table: { name: table },
    dynamoConfig: {
      region, endpoint, accessKeyId, secretAccessKey,
      ...(agent && { httpOptions: { agent } }),
    },
  });
  return adapt(store, agent && (() => agent.destroy()));
}

module.exports = { create };
