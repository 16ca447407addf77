'use strict';
// Shared plumbing for bench/stores/*: every module there exports
//   create({ endpoint, region, accessKeyId, secretAccessKey, table }) -> { get, set, destroy, close }
// with koa-session's external-store signatures.
const http = require('node:http');
const https = require('node:https');

// A keep-alive agent of the endpoint's protocol, as a careful user configures one.
function keepAliveAgent(endpoint, maxSockets) {
  const mod = new URL(endpoint).protocol === 'https:' ? https : http;
  return new mod.Agent({ keepAlive: true, maxSockets });
}

// Wrap a store instance (v1 package, this package) in the uniform interface.
function adapt(instance, close) {
  return {
    get: instance.get.bind(instance),
    set: instance.set.bind(instance),
    destroy: instance.destroy.bind(instance),
    close: async () => { if (close) await close(); },
  };
}

module.exports = { keepAliveAgent, adapt };
