'use strict';
// Tiny command-line parser: --flag, --key value, --key=value. Positional arguments go to `_`.
function parseArgs(argv, { booleans = [] } = {}) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { out._.push(a); continue; }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) out[key] = a.slice(eq + 1);
    else if (booleans.includes(key) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) out[key] = true;
    else out[key] = argv[++i];
  }
  return out;
}

function list(value, fallback) {
  if (value === undefined || value === true) return fallback;
  return String(value).split(',').map((s) => s.trim()).filter(Boolean);
}

function num(value, fallback) {
  if (value === undefined || value === '' || value === true) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${value}`);
  return n;
}

module.exports = { parseArgs, list, num };
