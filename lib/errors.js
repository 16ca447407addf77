'use strict';

/**
 * The error every failed store operation rejects with.
 *
 * Properties: `code` (the AWS error name such as `ResourceNotFoundException`, or a local one:
 * `NetworkingError`, `TimeoutError`, `SessionTooLarge`, `InvalidSession`, `StoreClosed`, ...),
 * `message` (the service's message), `operation` (`GetItem`, ...), `httpStatusCode` (when DynamoDB
 * answered), `requestId`, `attempts` and `retryable`.
 *
 * It never has `status` or `statusCode`: koa (and express) send those numbers to the browser, and a
 * DynamoDB failure must reach the browser as a 500, not as DynamoDB's 400.
 */
class DynamoDBStoreError extends Error {
  constructor(message, props) {
    super(message);
    this.name = 'DynamoDBStoreError';
    if (props) Object.assign(this, props);
  }
}

/**
 * The store's own error codes (the others are DynamoDB's error names), in the order of
 * src/errors.h, where they are defined; index.d.ts (LocalErrorCode) mirrors them too, and
 * test/errors.test.js checks that the three agree.
 */
const LOCAL_ERROR_CODES = Object.freeze([
  'NetworkingError',
  'TimeoutError',
  'InvalidResponse',
  'ResponseTooLarge',
  'CRC32CheckFailed',
  'SessionTooLarge',
  'InvalidSession',
  'InvalidArgument',
  'InvalidKey',
  'OutOfMemory',
  'SigningError',
  'CredentialsError',
  'StoreClosed',
  'UnknownError',
  'InternalServerError',
  'SessionConflict',
  'UpdateTooLarge',
]);

module.exports = { DynamoDBStoreError, LOCAL_ERROR_CODES };
