// Type definitions for koa-session-dynamodb-store 2.x
//
// CommonJS:  const DynamoDBStore = require('koa-session-dynamodb-store');
//            import DynamoDBStore = require('koa-session-dynamodb-store');
// ESM:       import DynamoDBStore, { DynamoDBStoreError } from 'koa-session-dynamodb-store';
//            (TypeScript: with esModuleInterop, or module node16 / nodenext)
//
// These types need no @types/node.

declare namespace DynamoDBStore {
  /** A whole number given as a string ('5'): accepted where the JavaScript package took Number(x). */
  type NumericString = `${number}`;

  /** AWS credentials, as an object or as what a credentials function returns. */
  interface Credentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string | null | undefined;
    /**
     * When the credentials stop working: a Date, an ISO 8601 string or ms since the epoch. The
     * store calls the credentials function again five minutes before. Absent for long-term keys.
     */
    expiration?: Date | string | number | null | undefined;
  }

  /**
   * Where the credentials come from. A function is called at start and again before the
   * credentials it returned expire (an AWS SDK v3 credential provider fits).
   */
  type CredentialsOption = Credentials | (() => Credentials | PromiseLike<Credentials>);

  interface TableOptions {
    /** Table name (3 to 255 characters of a-z A-Z 0-9 _ - .). Default 'sessions'. */
    name?: string | undefined;
    /** The table's partition key, a string attribute. Default 'sessionId'. */
    hashKey?: string | undefined;
    /** The attribute holding the expiry time (epoch seconds). Default 'expires'. */
    ttlKey?: string | undefined;
    /** Enable DynamoDB's TTL on ttlKey when the table is created or checked. Default true. */
    useTtlExpired?: boolean | undefined;
    /** Provisioned read capacity. Default 5. */
    readCapacityUnits?: number | NumericString | undefined;
    /** Provisioned write capacity. Default 5. */
    writeCapacityUnits?: number | NumericString | undefined;
    /** Create the table (createTableIfDontExists) when the store is constructed. Default false. */
    autoCreate?: boolean | undefined;
    /** Billing mode of a table the store creates. Default 'PROVISIONED'. */
    billingMode?: 'PROVISIONED' | 'PAY_PER_REQUEST' | undefined;
  }

  /** HTTP timeouts, aws-sdk v2 names. */
  interface HttpOptions {
    /** Same as dynamoConfig.requestTimeout (ms). */
    timeout?: number | undefined;
    /** Same as dynamoConfig.connectTimeout (ms). */
    connectTimeout?: number | undefined;
  }

  interface DynamoConfig {
    /** Static credentials (with secretAccessKey and, for temporary keys, sessionToken). */
    accessKeyId?: string | undefined;
    secretAccessKey?: string | undefined;
    sessionToken?: string | undefined;
    /** AWS region; else AWS_REGION / AWS_DEFAULT_REGION. A region starting 'local' means http://localhost:8000. */
    region?: string | undefined;
    /** Endpoint URL (DynamoDB Local, a proxy...); else AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL. */
    endpoint?: string | undefined;
    /**
     * The profile in ~/.aws/credentials and ~/.aws/config for credentials (keys or
     * credential_process) and region; else AWS_PROFILE, else 'default'. Setting it skips the
     * AWS_* environment keys.
     */
    profile?: string | undefined;
    /** Credentials object, or a function returning them (or a promise of them). */
    credentials?: CredentialsOption | undefined;
    /** Attempts per operation, the first included. Default 3. */
    maxAttempts?: number | undefined;
    /** aws-sdk v2 name: retries after the first attempt (maxAttempts = maxRetries + 1). */
    maxRetries?: number | undefined;
    /** ms to connect. Default 1000. */
    connectTimeout?: number | undefined;
    /** ms for one HTTP request. Default 3000. */
    requestTimeout?: number | undefined;
    /** ms for one operation, retries included. Default 10000. */
    operationTimeout?: number | undefined;
    /** HTTP requests to DynamoDB at once (and connections kept alive). Default 256. */
    maxConnections?: number | undefined;
    /** aws-sdk v2 style timeouts. */
    httpOptions?: HttpOptions | undefined;
    /** false: use http:// for the region's endpoint. Default true. */
    sslEnabled?: boolean | undefined;
    /** A PEM file of CA certificates to trust; else AWS_CA_BUNDLE, else ca_bundle in the profile. */
    caFile?: string | undefined;
    /** Use the FIPS endpoint of the region; else AWS_USE_FIPS_ENDPOINT. */
    useFipsEndpoint?: boolean | undefined;
    /** Use the dual-stack (IPv6) endpoint of the region; else AWS_USE_DUALSTACK_ENDPOINT. */
    useDualstackEndpoint?: boolean | undefined;
    /** Accepted for compatibility; has no effect. */
    apiVersion?: string | undefined;
  }

  interface DynamoDBStoreOptions {
    table?: TableOptions | undefined;
    dynamoConfig?: DynamoConfig | undefined;
    /** Strongly consistent reads for get(). Default true. */
    consistentRead?: boolean | undefined;
    /** Lifetime in ms of a session whose maxAge is 'session'. Default 86400000 (one day). */
    sessionMaxAge?: number | undefined;
    /**
     * What a save of a session the same request read writes (README, "Parallel requests"):
     * 'merge' (default) only the top-level fields that changed, while the session exists;
     * 'strict' the same, only if nobody wrote the session since it was read (else SessionConflict);
     * 'overwrite' the whole session (the 1.x behaviour). A destroyed session is never brought back.
     */
    concurrency?: 'merge' | 'strict' | 'overwrite' | undefined;
    /**
     * Seconds. A save that only extends the expiry (rolling, renew) writes nothing while the stored
     * expiry was written less than touchAfter seconds ago. Default 0.
     */
    touchAfter?: number | undefined;
    /**
     * A user's sessions (README, "Users and devices"): every write keeps the item's `attribute`
     * equal to `of(session)` (removed when it returns nothing) and records `createdAt` once;
     * createTableIfDontExists() creates the sparse index `index` on it.
     */
    users?: UsersOptions | undefined;
    /**
     * Sessions whose JSON is longer than `threshold` bytes (default 1024) are stored compressed
     * (zstd, `level` 1-19, default 1) in a binary attribute. Reading accepts both forms whatever
     * this says. The 1.x package cannot read compressed items.
     */
    compress?: boolean | CompressOptions | undefined;
    /**
     * AES-256-GCM encryption of stored sessions: keys by id (32-byte Buffers or base64 text),
     * writes use `current`; older keys still decrypt. A session that does not decrypt reads as none.
     */
    encrypt?: EncryptOptions | undefined;
  }

  interface UsersOptions {
    /** The user id of a session (a string or a finite number, stored as its decimal text), or nothing. */
    of: (session: Record<string, any>) => string | number | null | undefined;
    /** The item attribute holding the user id. Default 'userId'. */
    attribute?: string | undefined;
    /** The global secondary index on it. Default 'userId-index'. */
    index?: string | undefined;
    /** Items per Query page (DynamoDB's default when absent). */
    pageSize?: number | undefined;
    /** ms between destroySessionsOf()'s passes over the eventually consistent index. Default 1000. */
    settleMs?: number | undefined;
  }

  interface CompressOptions {
    /** Compress sessions whose JSON is longer than this many bytes. Default 1024. */
    threshold?: number | undefined;
    /** zstd level, 1 (fastest) to 19. Default 1. */
    level?: number | undefined;
  }

  interface EncryptOptions {
    /** Key id (1-64 characters of A-Z a-z 0-9 . _ : -) to a 32-byte key (Buffer, Uint8Array or base64). */
    keys: Record<string, Uint8Array | string> | Map<string, Uint8Array | string>;
    /** The id of the key new writes use. */
    current: string;
  }

  /** One of a user's live sessions (sessionsOf). */
  interface UserSession {
    key: string;
    expires: Date;
    createdAt: Date | null;
  }

  interface DestroySessionsOptions {
    /** Session keys to keep (e.g. the current one). */
    except?: string | readonly string[] | undefined;
  }

  /** An item's metadata (inspect): never the session's content. */
  interface ItemInfo {
    key: string;
    expires: Date | null;
    createdAt: Date | null;
    user: string | null;
    version: number | null;
    /** The item's size in bytes, as DynamoDB counts it (approximately). */
    size: number;
  }

  interface KeySchemaElement {
    attribute: string;
    keyType: 'HASH' | 'RANGE' | (string & {});
    attributeType?: string | undefined;
  }

  interface TableDescription {
    name: string;
    status: string;
    keySchema: KeySchemaElement[];
    ttl: { status: string; attribute: string | null };
    billingMode: string;
    capacity: { read: number; write: number } | null;
    itemCount: number | null;
    sizeBytes: number | null;
    indexes: Array<{
      name: string;
      status: string;
      keySchema: KeySchemaElement[];
      projection: unknown;
      itemCount: number | null;
      backfilling?: boolean;
    }>;
  }

  /** One DynamoDB operation's numbers in stats(). */
  interface OperationStats {
    count: number;
    /** Failures by error code. */
    errors: Record<string, number>;
    /** Attempts beyond the first. */
    retries: number;
    /** Attempts refused by throttling. */
    throttles: number;
    /** Latency of the whole operation, retries included (ms; null before the first). */
    latencyMs: { p50: number | null; p99: number | null };
  }

  /** What stats() returns. */
  interface Stats {
    operations: Record<string, OperationStats>;
    /** Capacity units DynamoDB reported (ReturnConsumedCapacity TOTAL). */
    consumedCapacity: { read: number; write: number };
    /** Saves that met a parallel write (concurrency 'strict' conflicts, merges written again). */
    conflicts: number;
    /** Saves skipped by touchAfter. */
    touchesSkipped: number;
    /** Stored sessions that did not decode (decryption or authentication failed) and read as none. */
    unreadable: number;
  }

  /** A message on diagnostics_channel 'koa-session-dynamodb-store:request'. */
  interface RequestMessage {
    table: string;
    operation: string;
    durationMs: number;
    attempts: number;
    httpStatusCode?: number;
    errorCode?: string;
    consumedCapacity: number;
  }

  /** koa-session's third argument to get(). */
  interface GetOptions {
    rolling?: boolean | undefined;
    ctx?: unknown;
  }

  /** koa-session's fourth argument to set(). */
  interface SetOptions {
    rolling?: boolean | undefined;
    changed?: boolean | undefined;
    ctx?: unknown;
  }

  /** koa-session's second argument to destroy(). */
  interface DestroyOptions {
    ctx?: unknown;
  }

  /** What DynamoDBStore.versions() returns. */
  interface Versions {
    curl: string;
    curlSsl: string;
    curlThreadsafe: boolean;
  }

  /**
   * Names in DynamoDBStoreError.code that are the store's own (the others are AWS error names).
   */
  type LocalErrorCode =
    | 'NetworkingError'
    | 'TimeoutError'
    | 'InvalidResponse'
    | 'ResponseTooLarge'
    | 'CRC32CheckFailed'
    | 'SessionTooLarge'
    | 'InvalidSession'
    | 'InvalidArgument'
    | 'InvalidKey'
    | 'OutOfMemory'
    | 'SigningError'
    | 'CredentialsError'
    | 'StoreClosed'
    | 'UnknownError'
    | 'InternalServerError'
    | 'SessionConflict'
    | 'UpdateTooLarge';

  /**
   * The error a failed store operation rejects with. It has no `status` or `statusCode` on
   * purpose: koa would send that number to the browser, and a DynamoDB failure must be a 500.
   */
  class DynamoDBStoreError extends Error {
    constructor(
      message?: string,
      props?: Partial<Pick<DynamoDBStoreError, 'code' | 'operation' | 'httpStatusCode' | 'requestId' | 'attempts' | 'retryable'>>,
    );
    /** 'DynamoDBStoreError' */
    name: string;
    /** The AWS error name (ResourceNotFoundException, ...) or a local one (see LocalErrorCode). */
    code: LocalErrorCode | (string & {});
    /** The DynamoDB operation: GetItem, PutItem, DeleteItem, CreateTable, ... */
    operation?: string;
    /** The HTTP status DynamoDB answered with, when it answered. */
    httpStatusCode?: number;
    requestId?: string;
    /** Attempts made, the first included. */
    attempts?: number;
    /** Whether trying again later may succeed. */
    retryable?: boolean;
    /** Attempts refused by throttling. */
    throttles?: number;
    /** destroySessionsOf: sessions destroyed before it failed, and those that may not have been. */
    destroyed?: number;
    notDestroyed?: number;
    // No `status` / `statusCode` (see above): reading them is a compile error, on purpose.
  }

  // The class again, so that `import { DynamoDBStore } from ...` and `DynamoDBStore.DynamoDBStore` work.
  const DynamoDBStore: typeof DynamoDBStore_;
  type DynamoDBStore = DynamoDBStore_;
}

/** A koa-session external store keeping sessions in a DynamoDB table. */
declare class DynamoDBStore {
  /**
   * @param options table, dynamoConfig, consistentRead, sessionMaxAge.
   * @param callback called once the credentials are loaded and table.autoCreate finished, with
   *   the error if either failed. After such a failure the store's operations reject with it.
   * @throws TypeError / RangeError naming the option, for a bad option.
   */
  constructor(options?: DynamoDBStore.DynamoDBStoreOptions, callback?: (err?: Error) => void);

  /** The session stored under key, or undefined when there is none or it has expired. */
  get(key: string, maxAge?: number | 'session', opts?: DynamoDBStore.GetOptions): Promise<Record<string, any> | undefined>;

  /**
   * Stores the session (JSON-serializable) under key for maxAge ms; maxAge 'session' or absent
   * means options.sessionMaxAge. With the ctx of a request that read this key, only what changed
   * is written, and a session destroyed meanwhile stays destroyed (resolves without writing).
   * Rejects with code 'SessionConflict' in concurrency 'strict' when another request wrote first.
   */
  set(key: string, sess: Record<string, any>, maxAge?: number | 'session', opts?: DynamoDBStore.SetOptions): Promise<void>;

  /** Deletes the session stored under key (no error when there is none). */
  destroy(key: string, opts?: DynamoDBStore.DestroyOptions): Promise<void>;

  /**
   * Creates the table when it does not exist, waits until it is ACTIVE and enables TTL on ttlKey
   * (when table.useTtlExpired). Safe when several processes run it at once.
   */
  createTableIfDontExists(): Promise<void>;
  createTableIfDontExists(callback: (err?: Error) => void): void;

  /** Waits for the requests in flight, then stops the store's thread. Later operations reject. */
  close(): Promise<void>;

  /** What the store did and what it cost since it was created. */
  stats(): DynamoDBStore.Stats;

  /** The user's live sessions, newest first (needs the users option). */
  sessionsOf(userId: string | number): Promise<DynamoDBStore.UserSession[]>;

  /**
   * Destroys every session of the user but those in `except`; resolves how many. None of them can
   * be read again, and a request of one of them still in flight cannot bring it back. A partial
   * failure rejects with `destroyed` and `notDestroyed` counts on the error.
   */
  destroySessionsOf(userId: string | number, options?: DynamoDBStore.DestroySessionsOptions): Promise<number>;

  /** The table as DynamoDB describes it. */
  describeTable(): Promise<DynamoDBStore.TableDescription>;

  /** An item's metadata (no session content), or null when there is no such item. */
  inspect(key: string): Promise<DynamoDBStore.ItemInfo | null>;

  /** The attribute the expiry epoch seconds are written to (it may follow the table's TTL setting). */
  readonly ttlKey: string;

  toJSON(): { table: string; endpoint: string; region: string };

  /** Versions of the native libraries. */
  static versions(): DynamoDBStore.Versions;
  /** The store's own error codes (src/errors.h), in the order they are defined. */
  static readonly LOCAL_ERROR_CODES: readonly DynamoDBStore.LocalErrorCode[];

  /** The class itself (for `require(...).default`). */
  static readonly default: typeof DynamoDBStore;
}

// Aliases for the namespace above, where the name DynamoDBStore means its own member.
declare const DynamoDBStore_: typeof DynamoDBStore;
type DynamoDBStore_ = DynamoDBStore;

export = DynamoDBStore;
