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

/** The top-level fields of an object, each as its own JSON text (fields JSON leaves out are absent). */
function fieldTexts(obj) {
  const m = new Map();
  for (const k of Object.keys(obj)) {
    const t = JSON.stringify(obj[k]);
    if (t !== undefined) m.set(k, t);
  }
  return m;
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
 * @param {number} p.now epoch ms
 * @param {number} p.touchAfterMs
 * @returns {{ kind: 'put', requireExists: boolean, newVersion: number, expectVersion: number }
 *   | { kind: 'update', set: string | null, remove: string | null, versioned: boolean,
 *       requireExists: boolean, expectVersion: number, touch: boolean, readVersion: number,
 *       nextVersion: number }
 *   | { kind: 'skip' }}
 *   expectVersion: -2 no version condition, -1 the item must have none, >= 0 it must equal it.
 */
function planSave({ mode, read, sess, now, touchAfterMs }) {
  const nextVersion = read && read.version >= 0 ? read.version + 1 : 1;
  const expectVersion = mode === 'strict' && read ? read.version : -2;
  if (!read || mode === 'overwrite' || !isPlainObjectValue(sess)) {
    return { kind: 'put', requireExists: !!read, newVersion: nextVersion, expectVersion };
  }
  let before;
  try {
    before = JSON.parse(read.text);
  } catch {
    before = null;
  }
  if (!isPlainObjectValue(before)) return { kind: 'put', requireExists: true, newVersion: nextVersion, expectVersion };
  const was = fieldTexts(before);
  const now_ = fieldTexts(sess);
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
    const writtenAt = typeof before._expire === 'number' && typeof before._maxAge === 'number' ? before._expire - before._maxAge : NaN;
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

module.exports = { planSave, EXPIRY_FIELDS };
