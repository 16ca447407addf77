'use strict';
// The AWS shared files: ~/.aws/credentials and ~/.aws/config (or AWS_SHARED_CREDENTIALS_FILE and
// AWS_CONFIG_FILE), read the way the AWS SDKs and the CLI read them. Synchronous: the store reads
// them once, in its constructor (the region must be known there).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The home directory the AWS SDKs use: HOME, USERPROFILE, HOMEDRIVE+HOMEPATH, then the OS's. */
function homeDir(env) {
  if (env.HOME) return env.HOME;
  if (env.USERPROFILE) return env.USERPROFILE;
  if (env.HOMEPATH) return `${env.HOMEDRIVE || 'C:'}${env.HOMEPATH}`;
  return os.homedir();
}

function expandHome(file, home) {
  if (file === '~') return home;
  if (file.startsWith('~/') || file.startsWith('~\\')) return path.join(home, file.slice(2));
  return file;
}

/** { credentials, config }: the paths of the two files for this environment. */
function sharedFilePaths(env, home = homeDir(env)) {
  return {
    credentials: expandHome(env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials'), home),
    config: expandHome(env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config'), home),
  };
}

/**
 * Parses INI text into a Map of section name → settings (an object without prototype). Section
 * names are trimmed; keys are lower-cased (the CLI's keys are lower case; 'AWS_Access_Key_ID'
 * works too). Whole-line comments start with ';' or '#'; so does a comment after a value when
 * whitespace precedes the ';' or '#' (as in the SDKs). Indented lines under a key with an empty
 * value are that key's sub-settings ('s3.max_concurrent_requests'). Lines that are not
 * `[section]` or `key = value` are ignored, as are settings before the first section.
 */
function parseIni(text) {
  const sections = new Map();
  let current = null;
  let parent = null;
  for (const raw of String(text).replace(/^\uFEFF/, '').split(/\r\n|\n|\r/)) {
    const line = raw.split(/(?:^|\s)[;#]/)[0].trim();
    if (line === '') continue;
    if (line[0] === '[' && line[line.length - 1] === ']') {
      const name = line.slice(1, -1).trim();
      current = sections.get(name);
      if (!current) {
        current = Object.create(null);
        sections.set(name, current);
      }
      parent = null;
      continue;
    }
    if (!current) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (parent !== null && /^\s/.test(raw) && value !== '') {
      current[`${parent}.${key}`] = value;
      continue;
    }
    parent = value === '' ? key : null;
    if (value !== '') current[key] = value;
  }
  return sections;
}

function readIfExists(file, problems) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') problems.push(`${file}: ${err.code || err.message}`);
    return null;
  }
}

/** The profiles of a config file: '[profile x]' → x, '[default]' and '[profile default]' → default. */
function configProfiles(sections) {
  const out = new Map();
  const add = (name, values) => out.set(name, Object.assign(out.get(name) || Object.create(null), values));
  if (sections.has('default')) add('default', sections.get('default'));
  for (const [section, values] of sections) {
    const m = /^profile\s+(.+)$/.exec(section);
    if (m) add(m[1].trim().replace(/^(["'])(.*)\1$/, '$2'), values);
  }
  return out;
}

/**
 * Reads both files. Returns { paths, credentials: Map, config: Map, problems: string[] } where the
 * maps go from profile name to its settings. A missing file is no problem; an unreadable one is
 * named in `problems`.
 */
function loadSharedFiles(env, home) {
  const paths = sharedFilePaths(env, home);
  const problems = [];
  const credText = readIfExists(paths.credentials, problems);
  const confText = readIfExists(paths.config, problems);
  return {
    paths,
    credentials: credText === null ? new Map() : parseIni(credText),
    config: confText === null ? new Map() : configProfiles(parseIni(confText)),
    problems,
  };
}

/**
 * A profile's settings from both files, or null when neither has it. prefer: 'credentials' (the
 * SDKs' rule for keys: the credentials file wins) or 'config' (for the region and the like).
 */
function profileSettings(files, name, prefer = 'credentials') {
  const a = files.config.get(name);
  const b = files.credentials.get(name);
  if (!a && !b) return null;
  return prefer === 'config' ? Object.assign(Object.create(null), b, a) : Object.assign(Object.create(null), a, b);
}

/** The name of the profile in use: dynamoConfig.profile, AWS_PROFILE, else 'default'. */
function profileName(option, env) {
  return option || env.AWS_PROFILE || 'default';
}

/** The settings of the profile in use (config file preferred), {} when there is none. Never throws. */
function profileConfig(option, env, home) {
  try {
    return profileSettings(loadSharedFiles(env, home), profileName(option, env), 'config') || Object.create(null);
  } catch {
    return Object.create(null);
  }
}

module.exports = { parseIni, loadSharedFiles, profileSettings, profileName, profileConfig, sharedFilePaths, homeDir };
