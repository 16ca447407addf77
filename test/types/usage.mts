// Type test: the package from an ES module (module nodenext), the default import and named ones.
import DynamoDBStore, { DynamoDBStoreError, DynamoDBStore as Named } from 'koa-session-dynamodb-store';
import type { DynamoDBStoreOptions, DynamoConfig } from 'koa-session-dynamodb-store';
import session from 'koa-session';
import Koa from 'koa';

const dynamoConfig: DynamoConfig = { region: 'us-east-1', endpoint: 'http://127.0.0.1:8000' };
const options: DynamoDBStoreOptions = { table: { name: 'sessions', useTtlExpired: false }, dynamoConfig };

const store: DynamoDBStore = new DynamoDBStore(options);
const other: DynamoDBStore = new Named(options);
const same: typeof DynamoDBStore = Named;
void other; void same;

const app = new Koa();
app.keys = ['secret'];
app.use(session({ store }, app));

try {
  await store.createTableIfDontExists();
  const sess: Record<string, any> | undefined = await store.get('id');
  await store.set('id', { ...sess, n: 1 }, 1000);
} catch (err) {
  if (err instanceof DynamoDBStoreError) console.error(err.code, err.operation, err.httpStatusCode);
  else throw err;
} finally {
  await store.close();
}

export {};
