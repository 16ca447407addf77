'use strict';
// The C signer cross-checked against an independent one (@smithy/signature-v4) on many generated
// DynamoDB requests. (Each stage is also unit-tested in C against AWS's vectors: test/c.)
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { SignatureV4 } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');
const binding = require('../lib/binding');

const OPS = ['GetItem', 'PutItem', 'DeleteItem', 'CreateTable', 'DescribeTable', 'UpdateTable', 'DescribeTimeToLive', 'UpdateTimeToLive'];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'cn-north-1', 'local'];
const HOSTS = ['dynamodb.us-east-1.amazonaws.com', '127.0.0.1:8000', 'localhost:4567', 'dynamodb.cn-north-1.amazonaws.com.cn', '[::1]:8000'];

function randomString(rng, n) {
  const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '日', '😀', '\u0000', '/', '%', '+', '='];
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng() % alphabet.length];
  return s;
}

function makeRng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

async function independent({ accessKeyId, secretAccessKey, sessionToken, region, amzDate, host, target, body }) {
  const signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey, sessionToken }, region, service: 'dynamodb', sha256: Sha256, applyChecksum: false });
  const headers = { 'content-type': 'application/x-amz-json-1.0', host, 'x-amz-target': target };
  const req = new HttpRequest({ method: 'POST', protocol: 'https:', hostname: host, path: '/', headers, body });
  const d = amzDate;
  const date = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
  const signed = await signer.sign(req, { signingDate: date });
  return signed.headers.authorization;
}

test('the C signer agrees with @smithy/signature-v4 on 1000 generated DynamoDB requests', async () => {
  const rng = makeRng(20261125);
  let withToken = 0;
  for (let i = 0; i < 1000; i++) {
    const when = 1300000000000 + (rng() % 2000000000) * 1000;
    const amzDate = new Date(when).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const op = OPS[rng() % OPS.length];
    const sessionToken = rng() % 2 ? `FwoGZXIvYXdzE${crypto.randomBytes(40).toString('base64')}` : undefined;
    if (sessionToken) withToken++;
    const req = {
      accessKeyId: `AKID${crypto.randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: crypto.randomBytes(30).toString('base64'),
      sessionToken,
      region: REGIONS[rng() % REGIONS.length],
      amzDate,
      host: HOSTS[rng() % HOSTS.length],
      target: `DynamoDB_20120810.${op}`,
      body: JSON.stringify({ TableName: 'sessions', Key: { sessionId: { S: randomString(rng, rng() % 64) } }, pad: randomString(rng, rng() % 3000) }),
    };
    const ours = binding.sign(req);
    const theirs = await independent(req);
    assert.equal(ours, theirs, `request ${i}: ${JSON.stringify({ ...req, secretAccessKey: '…', body: req.body.slice(0, 80) })}`);
  }
  assert.ok(withToken > 400 && withToken < 600);
});

test('the store signs exactly content-type, host, x-amz-date, x-amz-target (and x-amz-security-token)', () => {
  const plain = binding.sign({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's', region: 'us-east-1', amzDate: '20150830T123600Z', host: 'h', target: 'DynamoDB_20120810.GetItem', body: '{}' });
  assert.match(plain, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/);
  const token = binding.sign({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's', sessionToken: 't', region: 'us-east-1', amzDate: '20150830T123600Z', host: 'h', target: 'DynamoDB_20120810.GetItem', body: '{}' });
  assert.match(token, /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, /);
  assert.throws(() => binding.sign({ amzDate: 'bad' }), /cannot sign/);
});
