'use strict';
// Which DynamoDB write a koa-session save becomes, given what the same request read (pure; see the
// README section "Parallel requests"). The store remembers, per koa context, the session it read:
// its key, its version and its JSON text (a string, so later changes the application makes to the
// objects it was given cannot change it).
//
//   - nothing read for this key (a new session, the new key of regenerate(), a call without ctx):
//     the whole session, PutItem, unconditional.
//   - 'overwrite': the whole session, PutItem, on condition that the item still exists.
//   - 'merge' / 'strict': only the top-level fields that changed or were removed since the read
//     (UpdateItem SET/REMOVE on the session map, the expiry, the version + 1), on condition that the
//     item still exists ('merge') or still has the version read ('strict').
//   - a save that changes nothing but koa-session's expiry fields (rolling, renew) is a touch: it
//     updates only the expiry, and not at all while the stored expiry was written less than
//     touchAfter ago. A touch never changes the version: it does not make parallel strict saves
//     conflict.

/** koa-session's own expiry fields: written on every save, they alone do not make a change. */
const EXPIRY_FIELDS = new Set(['_expire', '_maxAge']);

/** The index just past the JSON string that starts at text[i] === '"', or -1. */
function stringEnd(text, i) {
  for (let j = text.indexOf('"', i + 1); j !== -1; j = text.indexOf('"', j + 1)) {
    let k = j - 1;
    while (text.charCodeAt(k) === 92) k--; // backslashes before the quote
    if ((j - 1 - k) % 2 === 0) return j + 1;
  }
  return -1;
}

function isWs(c) {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * The top-level members of a JSON object's text, each value as its own JSON text (a slice of the
 * input: nothing is parsed or stringified again), or null when the text is not one object. Both
 * JSON.stringify's output and the native core's are compact, so equal values have equal text
 * (at worst a value is taken for changed and written again: never the other way round). Strings
 * are skipped with indexOf, which is what makes this cheaper than JSON.parse + JSON.stringify.
 */
function splitObject(text) {
  const fields = new Map();
  const n = text.length;
  let i = 0;
  while (i < n && isWs(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== 123) return null;
  i++;
  for (;;) {
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 125 && fields.size === 0) { i++; break; } // {}
    if (text.charCodeAt(i) !== 34) return null;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return null;
    const key = JSON.parse(text.slice(i, keyEnd));
    i = keyEnd;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 58) return null;
    i++;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    const start = i;
    let depth = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        const e = stringEnd(text, i);
        if (e < 0) return null;
        i = e - 1;
      } else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        if (depth === 0) break;
        depth--;
      } else if (c === 44 && depth === 0) break;
    }
    if (i >= n) return null;
    let end = i;
    while (end > start && isWs(text.charCodeAt(end - 1))) end--;
    if (end === start) return null;
    fields.set(key, text.slice(start, end));
    if (text.charCodeAt(i) === 125) { i++; break; }
    i++; // ,
  }
  while (i < n && isWs(text.charCodeAt(i))) i++;
  return i === n ? fields : null;
}

function isPlainObjectValue(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** JSON text of an object made of fields whose values are already JSON texts. */
function objectText(entries) {
  let out = '{';
  for (const [k, t] of entries) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${t}`;
  return `${out}}`;
}

/**
 * @param {object} p
 * @param {'merge'|'strict'|'overwrite'} p.mode
 * @param {{ version: number, text: string } | null} p.read what this request read for this key
 * @param {object} p.sess the session koa-session saves
 * @param {string} [p.json] JSON.stringify(sess), when the caller has it
 * @param {number} p.now epoch ms
 * @param {number} p.touchAfterMs
 * @returns {{ kind: 'put', requireExists: boolean, newVersion: number, expectVersion: number }
 *   | { kind: 'update', set: string | null, remove: string | null, versioned: boolean,
 *       requireExists: boolean, expectVersion: number, touch: boolean, readVersion: number,
 *       nextVersion: number }
 *   | { kind: 'skip' }}
 *   expectVersion: -2 no version condition, -1 the item must have none, >= 0 it must equal it.
 */
function planSave({ mode, read, sess, json, now, touchAfterMs }) {
  const nextVersion = read && read.version >= 0 ? read.version + 1 : 1;
  const expectVersion = mode === 'strict' && read ? read.version : -2;
  if (!read || mode === 'overwrite' || !isPlainObjectValue(sess)) {
    return { kind: 'put', requireExists: !!read, newVersion: nextVersion, expectVersion };
  }
  const was = splitObject(read.text);
  const now_ = splitObject(json === undefined ? JSON.stringify(sess) : json);
  if (!was || !now_) return { kind: 'put', requireExists: true, newVersion: nextVersion, expectVersion };
  const set = [];
  const remove = [];
  let onlyExpiry = true;
  for (const [k, t] of now_) {
    if (was.get(k) === t) continue;
    set.push([k, t]);
    if (!EXPIRY_FIELDS.has(k)) onlyExpiry = false;
  }
  for (const k of was.keys()) {
    if (!now_.has(k)) {
      remove.push(k);
      onlyExpiry = false;
    }
  }
  if (onlyExpiry) {
    const writtenAt = Number(was.get('_expire')) - Number(was.get('_maxAge'));
    if (touchAfterMs > 0 && Number.isFinite(writtenAt) && now - writtenAt < touchAfterMs) return { kind: 'skip' };
    return {
      kind: 'update', set: set.length ? objectText(set) : null, remove: null, versioned: false, requireExists: true,
      expectVersion: -2, touch: true, readVersion: read.version, nextVersion: read.version,
    };
  }
  return {
    kind: 'update',
    set: set.length ? objectText(set) : null,
    remove: remove.length ? JSON.stringify(remove) : null,
    versioned: true,
    requireExists: true,
    expectVersion,
    touch: false,
    readVersion: read.version,
    nextVersion,
  };
}

module.exports = { planSave, splitObject, EXPIRY_FIELDS };
