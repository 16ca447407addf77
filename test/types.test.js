'use strict';
// The package's TypeScript declarations (index.d.ts), compiled with the project's TypeScript:
//  - test/types/usage.ts, a strict koa + koa-session + store program, as CommonJS with
//    esModuleInterop (tsconfig.json): must compile;
//  - test/types/usage.mts (ESM) and usage.ts (CommonJS) under module nodenext, the package found by
//    its name through package.json "exports" (tsconfig.nodenext.json): must compile;
//  - test/types/bad-option.ts (tsconfig.bad.json): must fail, with an error of the expected code on
//    every line marked "expect-error", pointing at the bad option, and no other error.
// One tsc run per case, the three at once.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const typesDir = path.join(__dirname, 'types');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const TIMEOUT_MS = 120000;

function runTsc(project) {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', path.join(typesDir, project), '--pretty', 'false', '--noEmit'],
      { cwd: root, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, signal: err && err.signal, output: `${stdout}${stderr}` });
      });
  });
}

// "test/types/bad-option.ts(7,5): error TS2322: Type 'true' is not ..." -> { file, line, col, code, message }
function parseDiagnostics(output) {
  const out = [];
  for (const line of output.split(/\r?\n/)) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (m) out.push({ file: path.resolve(root, m[1]), line: Number(m[2]), col: Number(m[3]), code: m[4], message: m[5] });
  }
  return out;
}

describe('index.d.ts', { concurrency: true, timeout: TIMEOUT_MS + 10000 }, () => {
  it('has the TypeScript compiler', () => {
    assert.ok(fs.existsSync(tsc), `${tsc} is missing: run npm install`);
  });

  it('usage.ts compiles (strict, CommonJS, esModuleInterop)', async () => {
    const r = await runTsc('tsconfig.json');
    assert.equal(r.code, 0, `tsc failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}):\n${r.output}`);
  });

  it('usage.mts and usage.ts compile under module nodenext, through package.json "exports"', async () => {
    const r = await runTsc('tsconfig.nodenext.json');
    assert.equal(r.code, 0, `tsc failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}):\n${r.output}`);
  });

  it('bad-option.ts fails to compile, on each marked line and nowhere else', async () => {
    const file = path.join(typesDir, 'bad-option.ts');
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    const expected = new Map(); // line number -> { codes, word }
    lines.forEach((text, i) => {
      const m = /\/\/ expect-error (TS\d+(?:\/TS\d+)*) (.+?)\s*$/.exec(text);
      if (m) expected.set(i + 1, { codes: m[1].split('/'), word: m[2] });
    });
    assert.ok(expected.size >= 2, 'bad-option.ts has no "expect-error" markers');

    const r = await runTsc('tsconfig.bad.json');
    assert.ok(r.signal == null && r.code !== null, `tsc did not finish (${r.signal}):\n${r.output}`);
    assert.notEqual(r.code, 0, 'bad-option.ts compiled without errors: the types accept wrong options');
    const diags = parseDiagnostics(r.output);
    assert.ok(diags.length > 0, `tsc failed without a diagnostic:\n${r.output}`);

    const stray = diags.filter((d) => d.file !== file || !expected.has(d.line));
    assert.deepEqual(stray.map((d) => `${path.relative(root, d.file)}(${d.line},${d.col}): ${d.code} ${d.message}`), [],
      'errors where none was expected');

    for (const [line, { codes, word }] of expected) {
      const here = diags.filter((d) => d.line === line);
      assert.ok(here.length > 0, `bad-option.ts:${line} should fail (${codes.join(' or ')} on ${word}) but compiled:\n  ${lines[line - 1].trim()}`);
      const hit = here.find((d) => codes.includes(d.code));
      assert.ok(hit, `bad-option.ts:${line}: expected ${codes.join(' or ')}, got ${here.map((d) => `${d.code} ${d.message}`).join('; ')}`);
      const at = lines[line - 1].slice(hit.col - 1);
      assert.ok(at.startsWith(word), `bad-option.ts:${line}: the ${hit.code} error points at "${at.slice(0, 30)}", not at ${word}`);
    }
  });
});
