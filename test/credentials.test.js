'use strict';
// Credential sources and their order (explicit keys, a provider, the environment, the shared
// files with credential_process, container credentials, EC2 instance metadata), the region from
// the profile, and keeping temporary credentials fresh: refresh five minutes ahead, single-flight,
// one refresh + retry on ExpiredTokenException, backoff and recovery, no secret in any message.
// Everything runs against the signature-verifying test server and fake credential endpoints on
// 127.0.0.1; the chain gets `env` and `home` explicitly, and children (node -e) check the wiring
// of the real constructor, which reads process.env.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const util = require('node:util');
const { spawn } = require('node:child_process');
const { useServer, DynamoDBStore } = require('./helpers');
const { startFakeImds, startFakeContainer, mintCredentials } = require('./support/fake-metadata');
const { credentialSource, CredentialCache, REFRESH_MARGIN_MS } = require('../lib/credentials');
const { parseIni, loadSharedFiles, profileSettings } = require('../lib/credential-sources/shared-files');
const { resolveOptions } = require('../lib/config');

const root = path.join(__dirname, '..');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddbstore-creds-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes home/.aws/credentials and home/.aws/config (when given). */
function writeProfiles(home, { credentials, config } = {}) {
  fs.mkdirSync(path.join(home, '.aws'), { recursive: true });
  if (credentials !== undefined) fs.writeFileSync(path.join(home, '.aws', 'credentials'), credentials);
  if (config !== undefined) fs.writeFileSync(path.join(home, '.aws', 'config'), config);
}

/** A credential_process helper: prints the JSON in `file` (Expiration: now + expiresInMs), counts runs. */
function writeHelper(dir) {
  const script = path.join(dir, 'cred-helper.js');
  fs.writeFileSync(script, `
const fs = require('fs');
const dir = ${JSON.stringify(dir)};
const count = dir + '/runs';
fs.writeFileSync(count, String(Number(fs.existsSync(count) ? fs.readFileSync(count, 'utf8') : 0) + 1));
const spec = JSON.parse(fs.readFileSync(dir + '/helper.json', 'utf8'));
if (spec.sleepMs) { const end = Date.now() + spec.sleepMs; while (Date.now() < end); }
if (spec.stderr) process.stderr.write(spec.stderr + '\\n');
if (spec.raw !== undefined) process.stdout.write(spec.raw);
else process.stdout.write(JSON.stringify({ Version: 1, ...spec.creds, Expiration: spec.expiresInMs ? new Date(Date.now() + spec.expiresInMs).toISOString() : undefined }));
process.exit(spec.exit || 0);
`);
  const set = (spec) => fs.writeFileSync(path.join(dir, 'helper.json'), JSON.stringify(spec));
  const runs = () => Number(fs.existsSync(path.join(dir, 'runs')) ? fs.readFileSync(path.join(dir, 'runs'), 'utf8') : 0);
  return { command: `"${process.execPath}" "${script}"`, set, runs };
}

/** The AWS_* / HOME-free environment a test starts from. */
function cleanEnv(home, extra = {}) {
  return { HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

/** A store on the test server whose credentials come from `source` (a refreshable provider). */
function storeFrom(server, source, opts = {}) {
  return server.store({ ...opts, dynamoConfig: { accessKeyId: undefined, secretAccessKey: undefined, credentials: source, ...opts.dynamoConfig } });
}

function asCreds(c) {
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token };
}

async function roundTrip(store, key = `k-${Math.random().toString(36).slice(2)}`) {
  await store.set(key, { n: 1 }, 60000);
  assert.deepEqual(await store.get(key), { n: 1 });
}

/** Runs `code` in a child node with exactly `env` (plus PATH); resolves { code, stdout, stderr, json }. */
function runChild(code, env, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { cwd: root, env: { PATH: process.env.PATH, ...require('./helpers').runtimeEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child timed out\n${stdout}\n${stderr}`)); }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      let json;
      try { json = JSON.parse(stdout.trim().split('\n').pop()); } catch { json = undefined; }
      resolve({ code, stdout, stderr, json });
    });
  });
}

// The child: a store built by the real constructor from process.env, one set + get, then a report.
const CHILD_STORE = `
const util = require('node:util');
const DynamoDBStore = require('.');
(async () => {
  let store;
  const out = {};
  try {
    const dynamoConfig = { endpoint: process.env.T_ENDPOINT };
    if (process.env.T_REGION) dynamoConfig.region = process.env.T_REGION;
    store = new DynamoDBStore({ table: { name: 'sessions' }, dynamoConfig });
    await store.set('child-key', { child: true }, 60000);
    out.value = await store.get('child-key');
    out.region = store.toJSON().region;
  } catch (err) {
    out.error = { name: err.name, code: err.code, message: err.message };
  }
  out.inspect = store ? util.inspect(store, { depth: 5 }) : null;
  if (store) await store.close().catch(() => {});
  process.stdout.write(JSON.stringify(out) + '\\n');
})();
`;

// ---------------------------------------------------------------------------------------------
// The shared files and the region

test('INI files: comments, whitespace, key case, [profile x] in the config file, [x] in the credentials file', (t) => {
  const s = parseIni('\uFEFF; a comment\n# another\nstray = ignored\n[default]\r\n  AWS_Access_Key_ID   =   AKID1  \r\naws_secret_access_key=sec=ret ; trailing comment\n' +
    '[ spaced ]\nregion=eu-west-1#not a comment\ns3 =\n  max_concurrent_requests = 10\nregion2 = x\nnot a setting line\n');
  assert.equal(s.get('default').aws_access_key_id, 'AKID1');
  assert.equal(s.get('default').aws_secret_access_key, 'sec=ret');
  assert.equal(s.get('spaced').region, 'eu-west-1#not a comment');
  assert.equal(s.get('spaced')['s3.max_concurrent_requests'], '10');
  assert.equal(s.get('spaced').region2, 'x');
  assert.equal(s.has('stray'), false);

  const home = tmpdir(t);
  writeProfiles(home, {
    credentials: '[dev]\naws_access_key_id = AKIDCRED\naws_secret_access_key = credsecret\n[profile dev]\naws_access_key_id = WRONG\n',
    config: '[default]\nregion = us-west-1\n[profile dev]\nregion = ap-east-1\naws_access_key_id = AKIDCONF\n[dev]\nregion = ignored-without-profile-prefix\n[profile   spaced   ]\nregion = sa-east-1\n[sso-session x]\nregion = nope\n',
  });
  const files = loadSharedFiles({ HOME: home });
  assert.equal(profileSettings(files, 'dev').aws_access_key_id, 'AKIDCRED', 'the credentials file wins for keys');
  assert.equal(profileSettings(files, 'dev', 'config').region, 'ap-east-1');
  assert.equal(profileSettings(files, 'default', 'config').region, 'us-west-1');
  assert.equal(profileSettings(files, 'spaced', 'config').region, 'sa-east-1');
  assert.equal(profileSettings(files, 'x'), null);
  // AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE move them (with ~ for the home directory).
  fs.writeFileSync(path.join(home, 'other-config'), '[profile dev]\nregion = me-south-1\n');
  assert.equal(profileSettings(loadSharedFiles({ HOME: home, AWS_CONFIG_FILE: '~/other-config' }), 'dev', 'config').region, 'me-south-1');
});

test('region: option, then AWS_REGION, AWS_DEFAULT_REGION, then the profile\'s region as the last fallback', (t) => {
  const home = tmpdir(t);
  writeProfiles(home, { config: '[default]\nregion = eu-south-1\n[profile other]\nregion = ca-central-1\n' });
  const r = (dc, env) => resolveOptions({ dynamoConfig: dc }, { HOME: home, ...env });
  assert.equal(r({}, {}).region, 'eu-south-1');
  assert.equal(r({}, {}).endpoint, 'https://dynamodb.eu-south-1.amazonaws.com/');
  assert.equal(r({}, { AWS_PROFILE: 'other' }).region, 'ca-central-1');
  assert.equal(r({ profile: 'other' }, { AWS_PROFILE: 'nope' }).region, 'ca-central-1');
  assert.equal(r({}, { AWS_DEFAULT_REGION: 'us-east-2' }).region, 'us-east-2');
  assert.equal(r({}, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-east-2' }).region, 'us-west-2');
  assert.equal(r({ region: 'ap-south-1' }, { AWS_REGION: 'us-west-2' }).region, 'ap-south-1');
  assert.equal(r({ endpoint: 'http://127.0.0.1:1' }, {}).region, 'eu-south-1', 'the profile region signs for a custom endpoint too');
  assert.throws(() => r({}, { AWS_PROFILE: 'missing' }), (e) => e instanceof TypeError && /no AWS region/.test(e.message) && /profile/.test(e.message));
  assert.throws(() => r({ profile: 42 }, {}), (e) => e instanceof TypeError && /dynamoConfig\.profile/.test(e.message));
});

test('no region and no endpoint: a TypeError at construction (child with an empty home)', async (t) => {
  const home = tmpdir(t);
  const r = await runChild(`
    const DynamoDBStore = require('.');
    try { new DynamoDBStore({}); console.log(JSON.stringify({ constructed: true })); }
    catch (err) { console.log(JSON.stringify({ name: err.name, message: err.message, isTypeError: err instanceof TypeError })); }
  `, { HOME: home });
  assert.equal(r.json.isTypeError, true, r.stdout + r.stderr);
  assert.match(r.json.message, /no AWS region/);
});

// ---------------------------------------------------------------------------------------------
// Which source

test('order: explicit keys > provider > environment > profile > container > instance metadata; a chosen profile skips the environment', (t) => {
  const home = tmpdir(t);
  writeProfiles(home, {
    credentials: '[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profilesecret\n[named]\naws_access_key_id = AKIDNAMED\naws_secret_access_key = namedsecret\naws_session_token = namedtoken\n',
    config: '[profile regiononly]\nregion = eu-west-3\n[profile both]\naws_access_key_id = AKIDBOTH\naws_secret_access_key = bothsecret\ncredential_process = /bin/false\n',
  });
  const all = {
    AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'envsecret',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:1/creds', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:2',
  };
  const d = (dc, env) => credentialSource(dc, { HOME: home, ...env }).description;
  assert.equal(d({ accessKeyId: 'A', secretAccessKey: 'B', credentials: { accessKeyId: 'C', secretAccessKey: 'D' } }, all), 'dynamoConfig');
  assert.equal(d({ credentials: async () => ({ accessKeyId: 'C', secretAccessKey: 'D' }) }, all), 'dynamoConfig.credentials()');
  assert.equal(d({ credentials: { accessKeyId: 'C', secretAccessKey: 'D' } }, all), 'dynamoConfig.credentials');
  assert.equal(d({}, all), 'environment (AWS_ACCESS_KEY_ID)');
  assert.match(d({}, { ...all, AWS_PROFILE: 'named' }), /^profile "named" \(.*credentials\)$/);
  assert.match(d({ profile: 'named' }, all), /^profile "named"/, 'dynamoConfig.profile skips the environment too');
  assert.match(d({}, { ...all, AWS_ACCESS_KEY_ID: undefined }), /^profile "default"/, 'an incomplete environment is not configured');
  assert.match(d({}, { ...all, AWS_PROFILE: 'both' }), /^profile "both" \(.*config\)$/, 'static keys before credential_process');
  assert.match(d({}, { ...all, AWS_PROFILE: 'regiononly' }), /^container credentials \(http:\/\/127\.0\.0\.1:1, AWS_CONTAINER_CREDENTIALS_FULL_URI\)$/);
  assert.match(d({}, { AWS_PROFILE: 'regiononly', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:2' }), /^EC2 instance metadata \(http:\/\/127\.0\.0\.1:2\)$/);
  assert.equal(d({}, { HOME: path.join(home, 'nothing-here'), AWS_EC2_METADATA_DISABLED: 'true' }), 'none');
});

test('the sources give the right keys: environment (with session token), credentials file, [profile x] in the config file', async (t) => {
  const home = tmpdir(t);
  writeProfiles(home, {
    credentials: '[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profilesecret\n',
    config: '[profile conf]\nAWS_ACCESS_KEY_ID = AKIDCONF\naws_secret_access_key = confsecret\naws_session_token = conftoken\n',
  });
  const get = (dc, env) => credentialSource(dc, { HOME: home, ...env }).source();
  assert.deepEqual(await get({}, { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'envsecret', AWS_SESSION_TOKEN: 'envtoken' }),
    { accessKeyId: 'AKIDENV', secretAccessKey: 'envsecret', sessionToken: 'envtoken', expiration: undefined });
  assert.equal((await get({}, {})).accessKeyId, 'AKIDPROFILE');
  assert.deepEqual(await get({ profile: 'conf' }, { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'envsecret' }),
    { accessKeyId: 'AKIDCONF', secretAccessKey: 'confsecret', sessionToken: 'conftoken', expiration: undefined });
});

test('configuration errors at construction: a named profile that is missing, profiles this store cannot resolve, bad endpoints', (t) => {
  const home = tmpdir(t);
  writeProfiles(home, {
    config: '[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n[profile sso]\nsso_session = corp\n[profile half]\naws_access_key_id = AKIDHALF\n',
  });
  const c = (dc, env) => () => credentialSource(dc, { HOME: home, ...env });
  const credErr = (re) => (e) => e.code === 'CredentialsError' && re.test(e.message);
  assert.throws(c({}, { AWS_PROFILE: 'nope' }), credErr(/profile "nope" \(from AWS_PROFILE\) is not in .*credentials or .*config/));
  assert.throws(c({ profile: 'nope' }, {}), credErr(/from dynamoConfig\.profile/));
  assert.throws(c({}, { AWS_PROFILE: 'role' }), credErr(/assumes a role.*@aws-sdk\/credential-providers/));
  assert.throws(c({}, { AWS_PROFILE: 'sso' }), credErr(/IAM Identity Center/));
  assert.throws(c({}, { AWS_PROFILE: 'half' }), credErr(/has aws_access_key_id but no aws_secret_access_key/));
  assert.throws(c({}, { AWS_WEB_IDENTITY_TOKEN_FILE: '/x', AWS_ROLE_ARN: 'arn:aws:iam::1:role/x' }), credErr(/web identity/));
  assert.throws(c({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://example.com/creds' }), credErr(/only allowed to a loopback address/));
  assert.throws(c({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'ftp://127.0.0.1/creds' }), credErr(/http or https/));
  assert.throws(c({}, { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'not a url' }), credErr(/AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL/));
  assert.throws(c({ credentials: 'AKIDSECRETSTRING' }, {}), (e) => e instanceof TypeError && !e.message.includes('AKIDSECRETSTRING'));
});

test('container URLs: the relative URI is on 169.254.170.2; a full URI needs https or an allowed host', (t) => {
  const home = tmpdir(t);
  const d = (env) => credentialSource({}, { HOME: home, ...env }).description;
  assert.equal(d({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' }), 'container credentials (http://169.254.170.2, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)');
  assert.match(d({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/x', AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/' }), /169\.254\.170\.2/, 'the relative URI wins');
  for (const ok of ['https://creds.example.com/x', 'http://169.254.170.23/v1/credentials', 'http://[fd00:ec2::23]/v1', 'http://169.254.170.2/x',
    'http://127.0.0.2:8080/x', 'http://localhost:9/x', 'http://[::1]:9/x']) {
    assert.match(d({ AWS_CONTAINER_CREDENTIALS_FULL_URI: ok }), /^container credentials/, ok);
  }
  for (const bad of ['http://169.254.169.254/x', 'http://10.0.0.1/x', 'http://[fd00:ec2::24]/x', 'http://user:pw@127.0.0.1/x']) {
    assert.throws(() => d({ AWS_CONTAINER_CREDENTIALS_FULL_URI: bad }), (e) => e.code === 'CredentialsError', bad);
  }
});

test('a local region: dummy keys only when nothing else is configured', async (t) => {
  const home = tmpdir(t);
  const s = (dc, env) => credentialSource(dc, { HOME: home, ...env }, { isLocal: true });
  assert.equal(s({}, {}).description, 'local dummy keys');
  assert.equal((await s({}, {}).source()).accessKeyId, 'local');
  assert.equal(s({}, { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'x' }).description, 'environment (AWS_ACCESS_KEY_ID)');
  assert.match(s({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/' }).description, /^container/);
});

// ---------------------------------------------------------------------------------------------
// Each source against the signature-verifying server

test('environment and profile keys sign requests the server accepts (session token included)', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const home = tmpdir(t);
  const temp = server.addCredentials({ sessionToken: 'profile-session-token' });
  writeProfiles(home, { config: `[profile temp]\naws_access_key_id = ${temp.accessKeyId}\naws_secret_access_key = ${temp.secretAccessKey}\naws_session_token = ${temp.sessionToken}\n` });
  const envKeys = server.addCredentials({ sessionToken: 'env-session-token' });
  const { expiration, ...fromEnv } = await credentialSource({}, { HOME: home, AWS_ACCESS_KEY_ID: envKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: envKeys.secretAccessKey, AWS_SESSION_TOKEN: envKeys.sessionToken }).source();
  await roundTrip(server.store({ dynamoConfig: fromEnv }));
  const { expiration: none, ...fromProfile } = await credentialSource({ profile: 'temp' }, { HOME: home }).source();
  assert.equal(fromProfile.sessionToken, 'profile-session-token');
  assert.equal(expiration ?? none, undefined);
  await roundTrip(server.store({ dynamoConfig: fromProfile }));
  assert.ok(server.stats.verified >= 4);
});

test('credential_process: runs the command, respects Expiration, never shows the secret in its errors', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const home = tmpdir(t);
  const helper = writeHelper(home);
  writeProfiles(home, { config: `[profile proc]\ncredential_process = ${helper.command} --some-arg\n` });
  const c1 = mintCredentials(server, { serverExpiresInMs: 4000 });
  helper.set({ creds: { AccessKeyId: c1.AccessKeyId, SecretAccessKey: c1.SecretAccessKey, SessionToken: c1.Token }, expiresInMs: REFRESH_MARGIN_MS + 1500 });
  const chain = credentialSource({}, { HOME: home, AWS_PROFILE: 'proc', PATH: process.env.PATH });
  assert.equal(chain.isStatic, false);
  assert.match(chain.description, /^credential_process of profile "proc" \(.*node.*\)$/);
  assert.doesNotMatch(chain.description, /--some-arg/);
  const store = storeFrom(server, chain.source);
  await roundTrip(store);
  assert.equal(helper.runs(), 1);
  await roundTrip(store);
  assert.equal(helper.runs(), 1, 'fresh credentials are not fetched again');

  // 1.5 s later they are within five minutes of their Expiration: the next request runs the
  // command again, before the server would refuse the old ones (4 s).
  const c2 = mintCredentials(server);
  helper.set({ creds: { AccessKeyId: c2.AccessKeyId, SecretAccessKey: c2.SecretAccessKey, SessionToken: c2.Token }, expiresInMs: 3600000 });
  await sleep(1700);
  await roundTrip(store);
  assert.equal(helper.runs(), 2);
  await sleep(2500); // the server refuses c1 now
  await roundTrip(store);
  assert.equal(helper.runs(), 2);

  // Failures: the profile and the program are named; the secret the command printed is not.
  const fail = async (spec, re, opts) => {
    helper.set(spec);
    const src = credentialSource({}, { HOME: home, AWS_PROFILE: 'proc', PATH: process.env.PATH }, opts);
    const cache = new CredentialCache(src.source, () => {}, { description: src.description });
    const err = await cache.refresh().then(() => null, (e) => e);
    assert.ok(err, 'it must fail');
    assert.equal(err.code, 'CredentialsError');
    assert.match(err.message, /profile "proc"/);
    assert.match(err.message, re);
    assert.doesNotMatch(err.message, /TOPSECRET|--some-arg/);
    assert.doesNotMatch(util.inspect(err), /TOPSECRET/);
  };
  await fail({ raw: '{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"TOPSECRET"}', stderr: 'could not reach the vault', exit: 3 }, /exited with code 3; it said: could not reach the vault/);
  await fail({ raw: '{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"TOPSECRET"', exit: 0 }, /did not print JSON/);
  await fail({ raw: '{"Version":2,"AccessKeyId":"AKID","SecretAccessKey":"TOPSECRET"}' }, /Version "2"/);
  await fail({ raw: '{"Version":1,"SecretAccessKey":"TOPSECRET"}' }, /has no AccessKeyId/);
  await fail({ creds: { AccessKeyId: 'AKID', SecretAccessKey: 'TOPSECRET' }, expiresInMs: -1000 }, /expired at/);
  await fail({ raw: '{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"TOPSECRET"}', stderr: '{"SecretAccessKey":"TOPSECRET"}', exit: 1 }, /exited with code 1$/);
  const t0 = Date.now();
  await fail({ creds: { AccessKeyId: 'AKID', SecretAccessKey: 'TOPSECRET' }, sleepMs: 5000 }, /did not finish within 300 ms/, { processTimeoutMs: 300 });
  assert.ok(Date.now() - t0 < 3000, 'the timeout kills it');
});

test('container credentials: the Authorization token from the variable, or from the token file read at every fetch', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const home = tmpdir(t);
  const container = await startFakeContainer({ token: 'Bearer token-one', credentials: () => mintCredentials(server, { expiresInMs: REFRESH_MARGIN_MS + 1000 }) });
  t.after(() => container.close());

  const env = cleanEnv(home, { AWS_CONTAINER_CREDENTIALS_FULL_URI: container.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Bearer token-one' });
  const viaVar = credentialSource({}, env);
  assert.equal(viaVar.isStatic, false);
  await roundTrip(storeFrom(server, viaVar.source));
  assert.equal(container.stats.fetches, 1);
  assert.deepEqual(container.authorizations, ['Bearer token-one']);
  assert.deepEqual(container.paths, ['/v1/credentials']);

  // The token file wins over the variable and is read again at each fetch (the agent rotates it).
  const tokenFile = path.join(home, 'token');
  fs.writeFileSync(tokenFile, 'Bearer token-one\n');
  const viaFile = credentialSource({}, { ...env, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Bearer stale', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile });
  const store = storeFrom(server, viaFile.source);
  await roundTrip(store);
  fs.writeFileSync(tokenFile, 'Bearer token-two');
  container.setToken('Bearer token-two');
  await sleep(1100); // stale now (five minutes + 1 s)
  await roundTrip(store);
  assert.deepEqual(container.authorizations.slice(1), ['Bearer token-one', 'Bearer token-two']);
  assert.equal(container.stats.unauthorized, 0);

  // A wrong token: a clear error that does not show the token.
  const wrong = credentialSource({}, { ...env, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Bearer WRONG-TOKEN' });
  const err = await new CredentialCache(wrong.source, () => {}, { description: wrong.description }).refresh().then(() => null, (e) => e);
  assert.equal(err.code, 'CredentialsError');
  assert.match(err.message, /container credentials \(http:\/\/127\.0\.0\.1:\d+, AWS_CONTAINER_CREDENTIALS_FULL_URI\): HTTP 401 AccessDenied/);
  assert.doesNotMatch(err.message, /WRONG-TOKEN/);
  assert.equal(container.stats.unauthorized, 1, 'a 401 is not retried');
});

test('EC2 instance metadata, IMDSv2: token first, then role and credentials with it; the token is kept and renewed on 401', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const home = tmpdir(t);
  const imds = await startFakeImds({ credentials: () => mintCredentials(server, { expiresInMs: REFRESH_MARGIN_MS + 1000 }) });
  t.after(() => imds.close());

  // The fake refuses IMDSv1 (no token), so passing proves the token dance.
  const v1 = await new Promise((resolve) => http.get(`${imds.endpoint}/latest/meta-data/iam/security-credentials/`, (res) => { res.resume(); resolve(res.statusCode); }));
  assert.equal(v1, 401);
  imds.stats.unauthorized = 0;
  imds.log.length = 0;

  const chain = credentialSource({}, { HOME: home, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });
  assert.equal(chain.description, `EC2 instance metadata (${imds.endpoint})`);
  const store = storeFrom(server, chain.source);
  await roundTrip(store);
  assert.deepEqual(imds.log.map((e) => `${e.method} ${e.path} ${e.token ? 'token' : '-'}`), [
    'PUT /latest/api/token -',
    'GET /latest/meta-data/iam/security-credentials/ token',
    'GET /latest/meta-data/iam/security-credentials/test-role token',
  ]);
  await sleep(1100);
  await roundTrip(store);
  assert.equal(imds.stats.fetches, 2);
  assert.equal(imds.stats.tokens, 1, 'the IMDSv2 token is reused');

  imds.revokeTokens(); // e.g. the metadata service restarted
  await sleep(1100);
  await roundTrip(store);
  assert.equal(imds.stats.fetches, 3);
  assert.equal(imds.stats.unauthorized, 1);
  assert.equal(imds.stats.tokens, 2);

  imds.setRole(null);
  const noRole = await new CredentialCache(credentialSource({}, { HOME: home, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source, () => {}).refresh().then(() => null, (e) => e);
  assert.equal(noRole.code, 'CredentialsError');
  assert.match(noRole.message, /no IAM role/);
});

test('nothing configured: instance metadata is tried last, and the error names every source tried', async (t) => {
  const home = tmpdir(t);
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));

  const tryIt = async (env) => {
    const src = credentialSource({}, { HOME: home, ...env });
    const t0 = Date.now();
    const err = await new CredentialCache(src.source, () => {}, { description: src.description }).refresh().then(() => null, (e) => e);
    return { err, ms: Date.now() - t0 };
  };
  const down = await tryIt({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${deadPort}` });
  assert.equal(down.err.code, 'CredentialsError');
  for (const s of ['dynamoConfig.accessKeyId', 'dynamoConfig.credentials', 'AWS_ACCESS_KEY_ID', 'profile "default"', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', `EC2 instance metadata at http://127.0.0.1:${deadPort}`, 'ECONNREFUSED']) {
    assert.ok(down.err.message.includes(s), `${s} in: ${down.err.message}`);
  }
  assert.match(down.err.message, /^no AWS credentials found; tried /);

  const disabled = await tryIt({ AWS_EC2_METADATA_DISABLED: 'true' });
  assert.match(disabled.err.message, /^no AWS credentials found; tried .*EC2 instance metadata \(AWS_EC2_METADATA_DISABLED is set\)$/);
  assert.ok(disabled.ms < 200);

  // A metadata service that never answers: 1 s per attempt, two attempts.
  const imds = await startFakeImds();
  t.after(() => imds.close());
  imds.mode = 'hang';
  const hung = await tryIt({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });
  assert.match(hung.err.message, /no answer within 1000 ms/);
  assert.ok(hung.ms >= 1900 && hung.ms < 6000, `took ${hung.ms} ms`);
  assert.equal(imds.stats.requests, 2);
});

// ---------------------------------------------------------------------------------------------
// Keeping temporary credentials fresh

test('credentials expiring in 5 min + 2 s are refreshed before use; the old ones would already fail', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const imds = await startFakeImds();
  t.after(() => imds.close());
  // The first set claims to live 5 min + 2 s, but the server refuses it after 3 s: only a refresh
  // five minutes ahead of the Expiration keeps every request passing.
  imds.setCredentials(mintCredentials(server, { expiresInMs: REFRESH_MARGIN_MS + 2000, serverExpiresInMs: 3000 }));
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  await roundTrip(store);
  assert.equal(imds.stats.fetches, 1);
  imds.setCredentials(mintCredentials(server));
  await sleep(2200);
  await roundTrip(store);
  assert.equal(imds.stats.fetches, 2);
  await sleep(1000); // the first set is refused by now
  for (let i = 0; i < 5; i++) await roundTrip(store);
  assert.equal(imds.stats.fetches, 2);
  assert.equal(server.stats.rejected, 0, server.stats.rejections.join('\n'));
});

test('single-flight: 100 concurrent gets with stale credentials fetch them once', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const imds = await startFakeImds({ credentials: () => mintCredentials(server, { expiresInMs: REFRESH_MARGIN_MS + 1000 }) });
  t.after(() => imds.close());
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  await store.set('shared', { v: 1 }, 60000);
  assert.equal(imds.stats.fetches, 1);
  await sleep(1100);
  imds.setDelay(150);
  const results = await Promise.all(Array.from({ length: 100 }, () => store.get('shared')));
  assert.ok(results.every((r) => r && r.v === 1));
  assert.equal(imds.stats.fetches, 2, 'one fetch for 100 waiting requests');
  assert.equal(imds.stats.listings, 2);
  assert.equal(imds.stats.tokens, 1);
});

test('ExpiredTokenException or UnrecognizedClientException: one refresh and one retry (refreshable sources only)', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const imds = await startFakeImds({ credentials: () => mintCredentials(server) });
  t.after(() => imds.close());
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  await store.set('k', { v: 1 }, 60000);
  const refused = (code) => ({
    kind: 'respond', target: 'GetItem', status: 400, headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: `com.amazon.coral.service#${code}`, message: 'The security token included in the request is expired' }),
  });
  const gets = () => server.stats.byTarget.GetItem || 0;

  server.injectFault(refused('ExpiredTokenException'));
  assert.deepEqual(await store.get('k'), { v: 1 });
  assert.equal(imds.stats.fetches, 2, 'one refresh');
  assert.equal(gets(), 2, 'one retry');

  // Refused again right away: no second refresh within 5 s (the source is not hammered); the
  // service's error reaches the caller.
  server.injectFault({ ...refused('ExpiredTokenException'), count: 1 });
  await assert.rejects(store.get('k'), (e) => e.code === 'ExpiredTokenException');
  assert.equal(imds.stats.fetches, 2);
  assert.equal(gets(), 3);

  await sleep(5100);
  server.injectFault({ ...refused('UnrecognizedClientException'), count: 2 });
  await assert.rejects(store.get('k'), (e) => e.code === 'UnrecognizedClientException');
  assert.equal(imds.stats.fetches, 3, 'one refresh');
  assert.equal(gets(), 5, 'one retry, not more');

  // Static credentials: nothing to refresh, the error is final at once.
  const fixed = server.store();
  server.injectFault(refused('ExpiredTokenException'));
  const before = gets();
  await assert.rejects(fixed.get('k'), (e) => e.code === 'ExpiredTokenException');
  assert.equal(gets(), before + 1);
});

test('a session token the service expires early: 100 requests refused at once, one refresh, each retried once', async (t) => {
  const server = await useServer(t, {}, { expectRejections: true });
  await server.createTable('sessions');
  const imds = await startFakeImds();
  t.after(() => imds.close());
  imds.setCredentials(mintCredentials(server, { serverExpiresInMs: 2000 })); // says 6 h, lives 2 s
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  await store.set('shared', { v: 1 }, 60000);
  imds.setCredentials(mintCredentials(server));
  imds.setDelay(100);
  await sleep(2200);
  const all = await Promise.all(Array.from({ length: 100 }, () => store.get('shared')));
  assert.ok(all.every((r) => r && r.v === 1));
  assert.equal(imds.stats.fetches, 2, 'one refresh');
  assert.equal(server.stats.rejected, 100, 'each request was refused once, then passed');
  assert.ok(server.stats.rejections.every((r) => /^ExpiredTokenException/.test(r)));
  await roundTrip(store);
  assert.equal(server.stats.rejected, 100);
});

test('a failed refresh: a clear CredentialsError without secrets, a short backoff, and the store recovers', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const imds = await startFakeImds({ credentials: () => mintCredentials(server) });
  t.after(() => imds.close());
  imds.mode = 'garbage'; // 200 with a secret but no AccessKeyId
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  const err = await store.get('k').then(() => null, (e) => e);
  assert.ok(err);
  assert.equal(err.code, 'CredentialsError');
  assert.ok(err instanceof DynamoDBStore.DynamoDBStoreError);
  assert.match(err.message, /EC2 instance metadata at http:\/\/127\.0\.0\.1:\d+: the answer for role test-role has no AccessKeyId/);
  const shown = `${err.message} ${util.inspect(err, { depth: 10 })} ${util.inspect(store, { depth: 10, showHidden: true })}`;
  assert.doesNotMatch(shown, /GARBAGE-SECRET|GARBAGE-TOKEN/);
  assert.match(util.inspect(store), /lastError/);
  const requests = imds.stats.requests;
  await assert.rejects(store.get('k'), (e) => e.code === 'CredentialsError');
  assert.equal(imds.stats.requests, requests, 'within the backoff the metadata service is not asked again');

  imds.mode = 'ok';
  await sleep(1100);
  await roundTrip(store);
  assert.doesNotMatch(util.inspect(store), /lastError/);

  // Once it has worked, a failure names the source plainly (not "no AWS credentials found").
  const chain = credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });
  const cache = new CredentialCache(chain.source, () => {}, { description: chain.description });
  await cache.refresh();
  imds.mode = 'status';
  const later = await cache.refresh().then(() => null, (e) => e);
  assert.match(later.message, /^cannot get AWS credentials from EC2 instance metadata \(http:\/\/127\.0\.0\.1:\d+\): GET \/latest\/meta-data\/iam\/security-credentials\/ failed: HTTP 500$/);
});

test('a refresh that fails while the current credentials are still valid keeps them in use, with a warning', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const imds = await startFakeImds({ credentials: () => mintCredentials(server, { expiresInMs: REFRESH_MARGIN_MS + 1000 }) });
  t.after(() => imds.close());
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  await roundTrip(store);
  await sleep(1100);
  imds.mode = 'reset';
  await roundTrip(store);
  const requests = imds.stats.requests;
  await roundTrip(store);
  assert.equal(imds.stats.requests, requests, 'backoff: not asked again at once');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(warnings.some((w) => /could not|cannot get AWS credentials.*stay in use until/.test(w)), warnings.join('\n'));
});

test('CredentialCache: refresh times, no expired credentials, backoff 1 s, 2 s, ... and single-flight (fake clock)', async () => {
  let now = 1_000_000_000_000;
  let calls = 0;
  let next = () => ({ accessKeyId: 'A', secretAccessKey: 'S', expiration: now + 3600_000 });
  const seen = [];
  const cache = new CredentialCache(async () => { calls++; return next(); }, (c) => seen.push(c.accessKeyId), { now: () => now });
  assert.equal(cache.fresh(), false);
  await Promise.all([cache.refresh(), cache.refresh(), cache.refresh()]);
  assert.equal(calls, 1);
  assert.equal(cache.generation, 1);
  now += 3600_000 - REFRESH_MARGIN_MS - 1;
  assert.equal(cache.fresh(), true);
  now += 2;
  assert.equal(cache.fresh(), false);
  assert.equal(cache.usable(), true);

  // Short-lived credentials (60 s): refreshed halfway to 15 s before their end, not at every call.
  next = () => ({ accessKeyId: 'B', secretAccessKey: 'S', expiration: now + 60_000 });
  await cache.refresh();
  now += 22_000;
  assert.equal(cache.fresh(), true);
  now += 1_000;
  assert.equal(cache.fresh(), false);
  now += 22_001;
  assert.equal(cache.usable(), false, 'never within 15 s of the expiration');

  // A source giving (nearly) expired credentials fails.
  next = () => ({ accessKeyId: 'C', secretAccessKey: 'S', expiration: now + 10_000 });
  await assert.rejects(cache.refresh(), (e) => e.code === 'CredentialsError' && /expire at/.test(e.message));
  assert.deepEqual(seen, ['A', 'B']);
  now += 1_000; // past that failure's backoff; a success resets the backoff
  next = () => ({ accessKeyId: 'B2', secretAccessKey: 'S', expiration: now + REFRESH_MARGIN_MS + 500 });
  await cache.refresh();
  assert.equal(cache.fresh(), true);
  now += 999;
  assert.equal(cache.fresh(), true, 'at least a second before the next refresh');
  now += 1;
  assert.equal(cache.fresh(), false);

  // Backoff after failures: 1 s, then 2 s, then 4 s; a success resets it.
  calls = 0;
  next = () => { throw new Error('down'); };
  now += 1_000;
  await assert.rejects(cache.refresh(), /down/);
  assert.equal(calls, 1);
  now += 900;
  await assert.rejects(cache.refresh(), /down/);
  assert.equal(calls, 1);
  now += 200;
  await assert.rejects(cache.refresh(), /down/);
  assert.equal(calls, 2);
  now += 1_900;
  await assert.rejects(cache.refresh(), /down/);
  assert.equal(calls, 2);
  now += 200;
  await assert.rejects(cache.refresh(), /down/);
  assert.equal(calls, 3);
  now += 4_100;
  next = () => ({ accessKeyId: 'D', secretAccessKey: 'S' });
  await cache.refresh();
  assert.equal(calls, 4);
  assert.equal(cache.fresh(), true, 'no expiration: fresh for good');
  assert.deepEqual(seen, ['A', 'B', 'B2', 'D']);
});

test('util.inspect of a store shows the source and key id, never the secret or the session token', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const creds = mintCredentials(server);
  const imds = await startFakeImds({ credentials: creds });
  t.after(() => imds.close());
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  await roundTrip(store);
  const shown = util.inspect(store, { depth: 10, showHidden: true }) + JSON.stringify(store) + String(store);
  assert.ok(shown.includes(creds.AccessKeyId));
  assert.match(shown, /\[redacted\]/);
  assert.ok(!shown.includes(creds.SecretAccessKey));
  assert.ok(!shown.includes(creds.Token));
});

// ---------------------------------------------------------------------------------------------
// The real constructor, reading process.env and HOME, in children

test('children: the constructor picks instance metadata, a profile\'s credential_process and region, container credentials', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const base = { T_ENDPOINT: server.endpoint, T_REGION: server.region };

  // Instance metadata (the fallback: nothing else configured).
  const imds = await startFakeImds({ credentials: () => mintCredentials(server) });
  t.after(() => imds.close());
  const home1 = tmpdir(t);
  let r = await runChild(CHILD_STORE, { ...base, HOME: home1, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });
  assert.deepEqual(r.json && r.json.value, { child: true }, r.stdout + r.stderr);
  assert.match(r.json.inspect, /source: 'EC2 instance metadata \(http:\/\/127\.0\.0\.1:\d+\)'/);
  assert.match(r.json.inspect, /sessionToken: '\[redacted\]'/);
  assert.equal(imds.stats.fetches, 1);

  // The default profile's credential_process and region (no T_REGION: the region comes from the profile).
  const home2 = tmpdir(t);
  const helper = writeHelper(home2);
  const pc = mintCredentials(server);
  helper.set({ creds: { AccessKeyId: pc.AccessKeyId, SecretAccessKey: pc.SecretAccessKey, SessionToken: pc.Token }, expiresInMs: 3600000 });
  writeProfiles(home2, { config: `[default]\nregion = ${server.region}\ncredential_process = ${helper.command}\n` });
  r = await runChild(CHILD_STORE, { T_ENDPOINT: server.endpoint, HOME: home2, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });
  assert.deepEqual(r.json && r.json.value, { child: true }, r.stdout + r.stderr);
  assert.equal(r.json.region, server.region);
  assert.match(r.json.inspect, /credential_process of profile "default"/);
  assert.equal(helper.runs(), 1);
  assert.equal(imds.stats.fetches, 1, 'instance metadata was not asked');

  // The environment beats that profile; AWS_PROFILE=default brings the profile back.
  const envKeys = server.addCredentials({});
  r = await runChild(CHILD_STORE, { T_ENDPOINT: server.endpoint, HOME: home2, AWS_ACCESS_KEY_ID: envKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: envKeys.secretAccessKey });
  assert.deepEqual(r.json && r.json.value, { child: true }, r.stdout + r.stderr);
  assert.match(r.json.inspect, /source: 'environment/);
  assert.equal(helper.runs(), 1);
  r = await runChild(CHILD_STORE, { T_ENDPOINT: server.endpoint, HOME: home2, AWS_PROFILE: 'default', AWS_ACCESS_KEY_ID: 'AKIDUNKNOWN', AWS_SECRET_ACCESS_KEY: 'x' });
  assert.deepEqual(r.json && r.json.value, { child: true }, r.stdout + r.stderr);
  assert.equal(helper.runs(), 2);

  // Container credentials with a token file.
  const container = await startFakeContainer({ token: 'pod-identity-token', credentials: () => mintCredentials(server) });
  t.after(() => container.close());
  const home3 = tmpdir(t);
  fs.writeFileSync(path.join(home3, 'token'), 'pod-identity-token');
  r = await runChild(CHILD_STORE, { ...base, HOME: home3, AWS_CONTAINER_CREDENTIALS_FULL_URI: container.url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: path.join(home3, 'token') });
  assert.deepEqual(r.json && r.json.value, { child: true }, r.stdout + r.stderr);
  assert.equal(container.stats.fetches, 1);

  // Nothing at all and instance metadata off: operations reject with the list of what was tried.
  r = await runChild(CHILD_STORE, { ...base, HOME: home1, AWS_EC2_METADATA_DISABLED: 'true' });
  assert.equal(r.json.error.code, 'CredentialsError', r.stdout + r.stderr);
  assert.match(r.json.error.message, /^no AWS credentials found; tried /);
  assert.equal(server.stats.rejected, 0);
});

// ---------------------------------------------------------------------------------------------
// Values that would end up in request headers: control characters are refused from every source

// What a header-splitting session token looks like: a second request after a CR/LF.
const SMUGGLED = 'TOKEN\r\nContent-Length: 0\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.DeleteTable\r\n\r\n';

test('static sources: a control character in a credential (a non-printable-ASCII access key id) throws a TypeError naming where it came from, never the value', async (t) => {
  const home = tmpdir(t);
  const secret = 'SECRETVALUE';
  const check = (fn, re, label) => assert.throws(fn, (e) => e instanceof TypeError && re.test(e.message) && !e.message.includes(secret) && !/[\r\n]/.test(e.message), label);
  const src = (dc, env = {}) => () => credentialSource(dc, { HOME: home, ...env });

  // Options: dynamoConfig.accessKeyId / secretAccessKey / sessionToken, and a credentials object.
  check(src({ accessKeyId: 'AKID', secretAccessKey: 'x', sessionToken: `${secret}\r\nX: y` }), /^option dynamoConfig\.sessionToken contains a control character$/);
  check(src({ accessKeyId: 'AKID', secretAccessKey: `${secret}\n` }), /^option dynamoConfig\.secretAccessKey contains a control character$/);
  check(src({ accessKeyId: `AKID${secret}\u0000`, secretAccessKey: 'x' }), /^option dynamoConfig\.accessKeyId contains a control character$/);
  check(src({ accessKeyId: `AKID${secret}\u007f`, secretAccessKey: 'x' }), /^option dynamoConfig\.accessKeyId contains a control character$/);
  check(src({ accessKeyId: `AKID${secret}é`, secretAccessKey: 'x' }), /^option dynamoConfig\.accessKeyId contains a character outside printable ASCII$/);
  check(src({ accessKeyId: `AKID${secret}\u2028`, secretAccessKey: 'x' }), /accessKeyId contains a character outside printable ASCII/);
  check(src({ credentials: { accessKeyId: 'AKID', secretAccessKey: 'x', sessionToken: SMUGGLED + secret } }), /^option dynamoConfig\.credentials\.sessionToken contains a control character$/);
  check(src({ credentials: { accessKeyId: 'AKID', secretAccessKey: `${secret}\t` } }), /^option dynamoConfig\.credentials\.secretAccessKey contains a control character$/);

  // The environment.
  const env = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'envsecret' };
  check(src({}, { ...env, AWS_SESSION_TOKEN: SMUGGLED + secret }), /^AWS_SESSION_TOKEN contains a control character$/);
  check(src({}, { ...env, AWS_SECRET_ACCESS_KEY: `${secret}\u001b[0m` }), /^AWS_SECRET_ACCESS_KEY contains a control character$/);
  check(src({}, { ...env, AWS_ACCESS_KEY_ID: `AKID\u00a0${secret}` }), /^AWS_ACCESS_KEY_ID contains a character outside printable ASCII$/);

  // The shared files (a line break cannot be inside an INI value; other control characters can).
  writeProfiles(home, {
    credentials: `[tok]\naws_access_key_id = AKIDTOK\naws_secret_access_key = s\naws_session_token = ${secret}\u0001x\n[akid]\naws_access_key_id = AKIDÜ${secret}\naws_secret_access_key = s\n`,
    config: `[profile sec]\naws_access_key_id = AKIDSEC\naws_secret_access_key = ${secret}\u0000\n`,
  });
  check(src({ profile: 'tok' }), /^aws_session_token of profile "tok" \(.*credentials\) contains a control character$/);
  check(src({}, { AWS_PROFILE: 'akid' }), /^aws_access_key_id of profile "akid" \(.*credentials\) contains a character outside printable ASCII$/);
  check(src({ profile: 'sec' }), /^aws_secret_access_key of profile "sec" \(.*config\) contains a control character$/);

  // Printable ASCII (and, in the secret and the token, any other non-control character) is fine.
  assert.equal((await credentialSource({ accessKeyId: 'AKID+/=!~ ', secretAccessKey: 'sé€😀', sessionToken: 'tok=é/+' }, {}).source()).sessionToken, 'tok=é/+');
});

test('static sources through the real constructor: the options and the environment (child)', async (t) => {
  const server = await useServer(t);
  const opts = { table: { name: 'sessions' }, dynamoConfig: { region: server.region, endpoint: server.endpoint, accessKeyId: 'AKID', secretAccessKey: 'x', sessionToken: SMUGGLED } };
  assert.throws(() => new DynamoDBStore(opts), (e) => e instanceof TypeError && /^option dynamoConfig\.sessionToken contains a control character$/.test(e.message));
  const r = await runChild(CHILD_STORE, {
    T_ENDPOINT: server.endpoint, T_REGION: server.region, HOME: tmpdir(t),
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey, AWS_SESSION_TOKEN: SMUGGLED,
  });
  assert.ok(r.json && r.json.error, r.stdout + r.stderr);
  assert.equal(r.json.error.name, 'TypeError');
  assert.equal(r.json.error.message, 'AWS_SESSION_TOKEN contains a control character');
  assert.equal(server.stats.requests, 0, 'nothing was sent');
});

test('sources that load later (provider, credential_process, container, instance metadata): a CredentialsError naming the source and the field; nothing is sent', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const home = tmpdir(t);
  const good = mintCredentials(server);
  const stats = () => server.stats.requests;

  /**
   * `src` ({ source, description }, as credentialSource gives) must fail to load: the CredentialsError
   * names the source and the field (re), never a value; and a store on it sends nothing.
   */
  const refused = async (src, re) => {
    const loaded = await new CredentialCache(src.source, () => {}, { description: src.description }).refresh().then(() => null, (e) => e);
    assert.ok(loaded, 'the load must fail');
    assert.equal(loaded.code, 'CredentialsError');
    assert.match(loaded.message, re);
    const before = stats();
    const store = storeFrom(server, src.source);
    const err = await store.get('k').then(() => null, (e) => e);
    assert.ok(err, 'the get must fail');
    assert.ok(err instanceof DynamoDBStore.DynamoDBStoreError, err && err.stack);
    assert.equal(err.code, 'CredentialsError');
    assert.equal(err.status, undefined);
    assert.equal(err.statusCode, undefined);
    const shown = `${loaded.message} ${util.inspect(loaded, { depth: 10 })} ${err.message} ${util.inspect(err, { depth: 10 })} ${util.inspect(store, { depth: 10 })}`;
    assert.doesNotMatch(shown, /SMUGGLE|Content-Length: 0|DeleteTable|SECRETVALUE/);
    assert.equal(stats(), before, 'nothing was sent to DynamoDB');
    await store.close();
  };
  const provider = (fn) => credentialSource({ credentials: fn }, {});

  // A provider function (an AWS SDK v3 provider), sync or async, and an aws-sdk v2 Credentials object.
  const provided = { accessKeyId: good.AccessKeyId, secretAccessKey: good.SecretAccessKey };
  await refused(provider(async () => ({ ...provided, sessionToken: `${SMUGGLED}SMUGGLE` })), /^cannot get AWS credentials from dynamoConfig\.credentials\(\): the sessionToken it gave contains a control character$/);
  await refused(provider(() => ({ ...provided, accessKeyId: `${good.AccessKeyId}\u00ff` })), /^cannot get AWS credentials from dynamoConfig\.credentials\(\): the accessKeyId it gave contains a character outside printable ASCII$/);
  await refused(provider(() => ({ ...provided, secretAccessKey: 'SECRETVALUE\u0000' })), /dynamoConfig\.credentials\(\): the secretAccessKey it gave contains a control character$/);
  const v2 = { getPromise: async () => {}, accessKeyId: good.AccessKeyId, secretAccessKey: 'SECRETVALUE', sessionToken: 'SMUGGLE\r\n' };
  await refused(credentialSource({ credentials: v2 }, {}), /^cannot get AWS credentials from dynamoConfig\.credentials \(getPromise\(\)\): the sessionToken it gave contains a control character$/);

  // credential_process.
  const helper = writeHelper(home);
  writeProfiles(home, { config: `[profile proc]\ncredential_process = ${helper.command}\n` });
  const proc = () => credentialSource({}, { HOME: home, AWS_PROFILE: 'proc', PATH: process.env.PATH });
  helper.set({ creds: { AccessKeyId: good.AccessKeyId, SecretAccessKey: good.SecretAccessKey, SessionToken: `${SMUGGLED}SMUGGLE` }, expiresInMs: 3600000 });
  await refused(proc(), /^cannot get AWS credentials from credential_process of profile "proc" \(.*node.*\): the SessionToken in the output of credential_process of profile "proc" \(.*\) contains a control character$/);
  helper.set({ creds: { AccessKeyId: 'AKID\u0085', SecretAccessKey: 'SECRETVALUE' } });
  await refused(proc(), /the AccessKeyId in the output of credential_process of profile "proc" .* contains a character outside printable ASCII$/);

  // Container credentials.
  const container = await startFakeContainer({ credentials: { ...good, SecretAccessKey: 'SECRETVALUE\n' } });
  t.after(() => container.close());
  const fromContainer = () => credentialSource({}, cleanEnv(home, { AWS_CONTAINER_CREDENTIALS_FULL_URI: container.url }));
  await refused(fromContainer(), /^cannot get AWS credentials from container credentials \(http:\/\/127\.0\.0\.1:\d+, AWS_CONTAINER_CREDENTIALS_FULL_URI\): the SecretAccessKey in the answer contains a control character$/);
  container.setCredentials({ ...good, Token: `${SMUGGLED}SMUGGLE` });
  await refused(fromContainer(), /AWS_CONTAINER_CREDENTIALS_FULL_URI\): the Token in the answer contains a control character$/);

  // EC2 instance metadata.
  const imds = await startFakeImds({ credentials: { ...good, Token: `${SMUGGLED}SMUGGLE` } });
  t.after(() => imds.close());
  const fromImds = () => credentialSource({}, { HOME: home, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });
  await refused(fromImds(), /EC2 instance metadata at http:\/\/127\.0\.0\.1:\d+: the Token in the answer for role test-role contains a control character$/);
  imds.setCredentials({ ...good, AccessKeyId: 'AKID\u3000' });
  await refused(fromImds(), /the AccessKeyId in the answer for role test-role contains a character outside printable ASCII$/);

  // The same sources with good values work (the checks refuse only what is malformed).
  imds.setCredentials(good);
  await roundTrip(storeFrom(server, fromImds().source));
  container.setCredentials(good);
  await roundTrip(storeFrom(server, fromContainer().source));
  assert.equal(server.stats.rejected, 0);
});

test('a refresh that gives a malformed token: the load fails, the valid credentials stay in use, the bad token is never sent', async (t) => {
  const server = await useServer(t);
  await server.createTable('sessions');
  const imds = await startFakeImds({ credentials: () => mintCredentials(server, { expiresInMs: REFRESH_MARGIN_MS + 1000 }) });
  t.after(() => imds.close());
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  // Due for a refresh after a second (five minutes + 1 s left): the second load gives the bad token.
  const store = storeFrom(server, credentialSource({}, { HOME: tmpdir(t), AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint }).source);
  await roundTrip(store);
  imds.setCredentials({ ...mintCredentials(server), Token: `${SMUGGLED}SMUGGLE` });
  await sleep(1100);
  await roundTrip(store); // the refresh fails; the first credentials are still valid for minutes
  assert.ok(imds.stats.fetches >= 2, 'the refresh asked the metadata service');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(warnings.some((w) => /the Token in the answer for role test-role contains a control character.*stay in use until/.test(w)), warnings.join('\n'));
  assert.ok(warnings.every((w) => !w.includes('SMUGGLE')));
  assert.equal(server.stats.rejected, 0, 'every request was signed with the good credentials');
});
