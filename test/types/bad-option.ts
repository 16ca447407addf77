// Type test: this file must NOT compile. test/types.test.js checks that tsc fails with, on each line
// marked "expect-error CODE[/CODE...] WORD", an error of one of those codes whose column points at
// WORD (the bad option), and no error anywhere else.
import DynamoDBStore, { DynamoDBStoreError } from 'koa-session-dynamodb-store';

new DynamoDBStore({
  table: {
    readCapacityUnits: true, // expect-error TS2322 readCapacityUnits
    billingMode: 'ON_DEMAND', // expect-error TS2322 billingMode
  },
  dynamoConfig: {
    region: 5, // expect-error TS2322 region
  },
});

new DynamoDBStore({ tabel: { name: 'sessions' } }); // expect-error TS2353/TS2561 tabel
new DynamoDBStore({ concurrency: 'lww' }); // expect-error TS2322 concurrency

const store = new DynamoDBStore();
store.set('key', { a: 1 }, '1 day'); // expect-error TS2345 '1 day'

const err = new DynamoDBStoreError('x', { code: 'TimeoutError' });
const status: number = err.statusCode; // expect-error TS2339 statusCode
void status;
