// ESM entry: `import DynamoDBStore from 'koa-session-dynamodb-store'` (or `{ DynamoDBStore }`).
import DynamoDBStore from './index.js';

export default DynamoDBStore;
export const { DynamoDBStoreError } = DynamoDBStore;
export { DynamoDBStore };
