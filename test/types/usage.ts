// Type test (strict): koa + koa-session + the store, as a TypeScript user writes it. Compiled by
// test/types.test.js with tsconfig.json (CommonJS + esModuleInterop) and tsconfig.nodenext.json.
import Koa from 'koa';
import session from 'koa-session';
import type { CreateSessionOptions } from 'koa-session';
import DynamoDBStore, { DynamoDBStoreError } from 'koa-session-dynamodb-store';
import type { DynamoDBStoreOptions, Credentials } from 'koa-session-dynamodb-store';
import DynamoDBStoreCjs = require('koa-session-dynamodb-store');

const options: DynamoDBStoreOptions = {
  table: {
    name: 'sessions',
    hashKey: 'sessionId',
    ttlKey: 'expires',
    useTtlExpired: true,
    readCapacityUnits: 5,
    writeCapacityUnits: '5', // numeric strings are accepted
    autoCreate: false,
    billingMode: 'PAY_PER_REQUEST',
  },
  dynamoConfig: {
    region: process.env.AWS_REGION ?? 'eu-west-1',
    endpoint: process.env.DYNAMODB_ENDPOINT,
    maxAttempts: 3,
    connectTimeout: 1000,
    requestTimeout: 3000,
    operationTimeout: 10000,
    maxConnections: 64,
    httpOptions: { timeout: 3000, connectTimeout: 1000 },
    sslEnabled: true,
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    apiVersion: '2012-08-10',
  },
  consistentRead: true,
  sessionMaxAge: 86400000,
  concurrency: 'strict',
  touchAfter: 300,
  users: { of: (sess) => sess.userId, attribute: 'userId', index: 'userId-index', pageSize: 100, settleMs: 1000 },
  compress: { threshold: 1024, level: 3 },
  encrypt: { keys: { k1: new Uint8Array(32), k2: 'base64text' }, current: 'k2' },
};

const store = new DynamoDBStore(options);

// Other ways to configure credentials.
const fixed: Credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'token' };
new DynamoDBStore({ dynamoConfig: { region: 'us-east-1', credentials: fixed } });
new DynamoDBStore({
  dynamoConfig: {
    region: 'us-east-1',
    credentials: async () => ({ ...fixed, expiration: new Date(Date.now() + 3600_000) }),
  },
});
new DynamoDBStore({ dynamoConfig: { region: 'us-east-1', credentials: () => fixed } });
new DynamoDBStore({ dynamoConfig: { accessKeyId: 'a', secretAccessKey: 'b', region: 'local', maxRetries: 2 } });
new DynamoDBStore(undefined, (err?: Error) => { if (err) console.error(err.message); });
new DynamoDBStore();

// The same class through require() and through the namespace.
const sameClass: typeof DynamoDBStore = DynamoDBStoreCjs;
const alsoSame: typeof DynamoDBStore = DynamoDBStoreCjs.DynamoDBStore;
const instance: DynamoDBStoreCjs.DynamoDBStore = new alsoSame();
const errorClass: typeof DynamoDBStoreError = DynamoDBStoreCjs.DynamoDBStoreError;
void sameClass; void instance; void errorClass;

// It is a koa-session store.
const sessionStore: NonNullable<CreateSessionOptions['store']> = store;
void sessionStore;

const app = new Koa();
app.keys = ['a long random secret'];

// A DynamoDB failure must become a 500, never DynamoDB's own status.
app.use(async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (err instanceof DynamoDBStoreError) {
      const code: string = err.code;
      const retryable: boolean | undefined = err.retryable;
      const status: number | undefined = err.httpStatusCode;
      const attempts: number | undefined = err.attempts;
      const op: string | undefined = err.operation;
      const id: string | undefined = err.requestId;
      console.error(code, retryable, status, attempts, op, id);
      ctx.status = err.code === 'ProvisionedThroughputExceededException' || err.retryable ? 503 : 500;
      ctx.body = 'session storage unavailable';
      return;
    }
    throw err;
  }
});
app.use(session({ store, key: 'sid', maxAge: 86400000, rolling: true }, app));
app.use(async (ctx) => {
  const sess = ctx.session;
  if (sess) sess.views = (Number(sess.views) || 0) + 1;
  ctx.body = `views: ${sess ? sess.views : 0}`;
});

async function main(): Promise<void> {
  try {
    await store.createTableIfDontExists();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (err instanceof DynamoDBStoreError && err.code === 'ResourceInUseException') {
      console.error('the table is being deleted');
    } else if (code === 'CredentialsError') {
      console.error('no AWS credentials');
    } else {
      throw err;
    }
  }
  store.createTableIfDontExists((err) => {
    if (err) console.error(err.message);
  });
  const cbResult: void = store.createTableIfDontExists(() => {});
  void cbResult;

  await store.set('key', { user: 'me', views: 1 }, 60_000, { rolling: false, changed: true, ctx: {} });
  await store.set('key', { user: 'me' }, 'session');
  await store.set('key', { user: 'me' });
  const sess = await store.get('key', 60_000, { rolling: false, ctx: {} });
  if (sess !== undefined) {
    const user: unknown = sess.user;
    void user;
  }
  const missing: Record<string, any> | undefined = await store.get('missing');
  void missing;
  await store.destroy('key', { ctx: {} });
  await store.destroy('key');

  const ttlKey: string = store.ttlKey;
  const v = DynamoDBStore.versions();
  const info: string = `${ttlKey} ${v.curl} ${v.curlSsl} ${v.curlThreadsafe ? 'ts' : ''}`;
  void info;

  const codes: readonly DynamoDBStore.LocalErrorCode[] = DynamoDBStore.LOCAL_ERROR_CODES;
  void codes;
  const made = new DynamoDBStoreError('boom', { code: 'TimeoutError', retryable: true, attempts: 3 });
  const isError: Error = made;
  void isError;

  app.listen(3000, '127.0.0.1');
  await store.close();
}

void main;

// Users, stats, operators' calls.
async function operators(): Promise<void> {
  const list: DynamoDBStore.UserSession[] = await store.sessionsOf('u1');
  const when: Date | null = list[0].createdAt;
  const n: number = await store.destroySessionsOf(42, { except: list[0].key });
  const info = await store.inspect('k');
  const v: number | null | undefined = info?.version;
  const d: DynamoDBStore.TableDescription = await store.describeTable();
  const st: DynamoDBStore.Stats = store.stats();
  const p50: number | null = st.operations.GetItem.latencyMs.p50;
  const w: number = st.consumedCapacity.write + st.unreadable + st.conflicts + st.touchesSkipped;
  void [when, n, v, d, p50, w];
  new DynamoDBStore({ dynamoConfig: { region: 'us-east-1' }, compress: true });
}
void operators;
