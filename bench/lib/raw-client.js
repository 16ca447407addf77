'use strict';
// The least a JavaScript DynamoDB client can do: JSON.stringify a request body, POST it over a
// keep-alive connection, JSON.parse the answer. No signing, no retries, no CRC check. Used by the
// floor store, and by run.js/soak.js to create tables and pre-populate sessions.
const http = require('node:http');
const https = require('node:https');

const TARGET_PREFIX = 'DynamoDB_20120810.';

// Servers that look at the Authorization header's shape (dynalite) but verify no signature.
function dummySigV4Headers(region = 'us-east-1') {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return {
    Authorization: `AWS4-HMAC-SHA256 Credential=bench/${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request, ` +
      'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000',
    'X-Amz-Date': amzDate,
  };
}

class DynamoError extends Error {
  constructor(op, statusCode, data) {
    const type = String((data && data.__type) || 'UnknownError');
    super(`${op}: ${statusCode} ${type.split('#').pop()}: ${(data && (data.message || data.Message)) || ''}`);
    this.code = type.split('#').pop();
    this.statusCode = statusCode;
  }
}

class RawClient {
  constructor(endpoint, { headers = {}, maxSockets = 256 } = {}) {
    const u = new URL(endpoint);
    this.http = u.protocol === 'https:' ? https : http;
    this.agent = new this.http.Agent({ keepAlive: true, maxSockets });
    this.hostname = u.hostname;
    this.port = u.port;
    this.extraHeaders = headers;
  }

  call(op, body) {
    return this.callJson(op, JSON.stringify(body));
  }

  // The same with the request body already serialized.
  callJson(op, json) {
    const payload = Buffer.from(json);
    return new Promise((resolve, reject) => {
      const req = this.http.request({
        hostname: this.hostname,
        port: this.port,
        method: 'POST',
        path: '/',
        agent: this.agent,
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': TARGET_PREFIX + op,
          'Content-Length': payload.length,
          ...this.extraHeaders,
        },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let data;
          try {
            data = JSON.parse(chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString());
          } catch (e) {
            reject(new Error(`${op}: bad JSON response (${res.statusCode}): ${e.message}`));
            return;
          }
          if (res.statusCode === 200) resolve(data);
          else reject(new DynamoError(op, res.statusCode, data));
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close() {
    this.agent.destroy();
  }
}

module.exports = { RawClient, DynamoError, dummySigV4Headers };
