'use strict';
// The stores the benchmark knows, by the names --stores takes.
const path = require('node:path');

const STORES = {
  native: { file: 'native', label: 'native: this package (C core, libcurl thread)' },
  v1: { file: 'v1', label: 'v1: koa-session-dynamodb-store@1.1.1 (aws-sdk v2, keep-alive agent)' },
  'v1-default': { file: 'v1-default', label: 'v1 with aws-sdk v2 default agent (no keep-alive)' },
  v3: { file: 'sdk-v3', label: 'v3: hand-written store on @aws-sdk/lib-dynamodb (DocumentClient)' },
  floor: { file: 'floor', label: 'floor: raw node:http + JSON, no signing (no JS client can be cheaper)' },
};
const DEFAULT_STORES = ['native', 'v1', 'v3', 'floor'];

function loadStore(name) {
  const s = STORES[name];
  if (!s) throw new Error(`unknown store "${name}" (known: ${Object.keys(STORES).join(', ')})`);
  return require(path.join(__dirname, '..', 'stores', s.file));
}

module.exports = { STORES, DEFAULT_STORES, loadStore };
