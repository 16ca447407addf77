'use strict';
// credential_process: a profile's command that prints credentials as JSON on stdout
// ({ Version: 1, AccessKeyId, SecretAccessKey, SessionToken?, Expiration? }). Run through the
// shell, as the AWS CLI and SDKs do, with a timeout. Errors name the profile and the program,
// never the command's arguments, its output or the credentials.

const { exec } = require('node:child_process');
const { parseJson, credentialsFromJson } = require('./http');

const MAX_OUTPUT_BYTES = 1024 * 1024;

/** The program of a command line (its first word, quotes removed), for messages. */
function programOf(command) {
  const m = /^\s*(?:"([^"]*)"|'([^']*)'|(\S+))/.exec(command);
  return m ? (m[1] ?? m[2] ?? m[3]) : '';
}

/** The last line of stderr, shortened: what a failing credential helper usually says. */
function lastLine(text) {
  const lines = String(text || '').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (lines.length === 0) return '';
  const line = lines[lines.length - 1];
  if (/^[{[]/.test(line) || /SecretAccessKey|SessionToken|AccessKeyId/i.test(line)) return ''; // it could be the credentials
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** Returns { fetch }: runs `command` (of profile `profile`) and resolves to checked credentials. */
function processSource(command, profile, env, { timeoutMs = 30000 } = {}) {
  const what = `credential_process of profile ${JSON.stringify(profile)} (${programOf(command)})`;
  function fetch() {
    return new Promise((resolve, reject) => {
      exec(command, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) {
          let why;
          if (err.killed && err.signal) why = `did not finish within ${timeoutMs} ms`;
          else if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') why = `printed more than ${MAX_OUTPUT_BYTES} bytes`;
          else if (typeof err.code === 'number') why = `exited with code ${err.code}`;
          else if (err.signal) why = `was killed by ${err.signal}`;
          else why = `could not be run (${err.code || 'error'})`;
          const said = lastLine(stderr);
          reject(new Error(`${what} ${why}${said ? `; it said: ${said}` : ''}`));
          return;
        }
        const j = parseJson(stdout);
        if (j === undefined) {
          reject(new Error(`${what} did not print JSON`));
          return;
        }
        if (j && typeof j === 'object' && j.Version !== 1) {
          reject(new Error(`${what} printed Version ${JSON.stringify(String(j.Version).slice(0, 20))}; only Version 1 is known`));
          return;
        }
        try {
          resolve(credentialsFromJson(j, `the output of ${what}`));
        } catch (e) {
          reject(e);
        }
      });
    });
  }
  return { fetch, description: what };
}

module.exports = { processSource, programOf };
