'use strict';
// One vocabulary of local error codes: defined once in src/errors.h, mirrored in lib/errors.js and
// index.d.ts. This test reads the three and checks that they name the same codes in the same order.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { LOCAL_ERROR_CODES, DynamoDBStoreError } = require('../lib/errors');

const root = path.join(__dirname, '..');

test('local error codes: src/errors.h, lib/errors.js and index.d.ts agree', () => {
  const header = fs.readFileSync(path.join(root, 'src', 'errors.h'), 'utf8');
  const fromC = [...header.matchAll(/^\s*X\(\w+,\s*"(\w+)"\)/gm)].map((m) => m[1]);
  assert.ok(fromC.length >= 10, `parsed ${fromC.length} codes from errors.h`);
  assert.deepEqual([...LOCAL_ERROR_CODES], fromC);
  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8');
  const block = /type LocalErrorCode =([^;]+);/.exec(dts);
  assert.ok(block, 'index.d.ts declares LocalErrorCode');
  const fromTypes = [...block[1].matchAll(/'(\w+)'/g)].map((m) => m[1]);
  assert.deepEqual(fromTypes, fromC);
});

test('a DynamoDBStoreError never carries status or statusCode', () => {
  const err = new DynamoDBStoreError('x', { code: 'NetworkingError', httpStatusCode: 400 });
  assert.equal(err.status, undefined);
  assert.equal(err.statusCode, undefined);
  assert.equal(err.code, 'NetworkingError');
});
