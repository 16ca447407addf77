'use strict';
// The fake server's fast PutItem path, and the same for an UpdateItem that writes a whole session.
// JSON.parse of a 100 KB session's PutItem body (~165 KB of DynamoDB JSON, thousands of small
// objects) and JSON.stringify of its Item cost the server 4-6 ms per request: more than the
// native client's whole cost, so on 2 shared cores the server, not the client, would set the
// pace. For large bodies the server instead scans the body's bytes once (strings skipped,
// brackets counted), JSON.parses only the top-level members and the Item's small attributes, and
// keeps the Item's bytes as sent (0.5-0.9 ms). A body the scanner does not take (malformed, unusual)
// goes through JSON.parse as before; test/bench.test.js checks that both agree.
const FAST_PUT_MIN = 4096;
const QUOTE = 34, BACKSLASH = 92, LBRACE = 123, RBRACE = 125, LBRACKET = 91, RBRACKET = 93, COMMA = 44, COLON = 58;
const SMALL_ATTRIBUTE = 1024; // Item attributes up to this many bytes are parsed (keys, the ttl)

function skipWs(b, i) {
  for (;;) {
    const c = b[i];
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

// The index just past the string token starting at b[i] === '"', or -1.
function skipString(b, i) {
  const n = b.length;
  for (let j = i + 1; j < n; j++) {
    const c = b[j];
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) j++;
  }
  return -1;
}

// The index just past the JSON value starting at b[i], or -1. Objects and arrays are matched by
// counting brackets outside strings; scalars run to the next delimiter (JSON.parse checks every
// value that is used; the Item's bulky attributes are stored as sent).
function skipValue(b, i) {
  const n = b.length;
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c !== LBRACE && c !== LBRACKET) {
    let j = i;
    while (j < n) {
      const d = b[j];
      if (d === COMMA || d === RBRACE || d === RBRACKET || d === 32 || d === 10 || d === 13 || d === 9) break;
      j++;
    }
    return j > i ? j : -1;
  }
  let depth = 0;
  for (let j = i; j < n; j++) {
    const d = b[j];
    if (d === QUOTE) {
      for (j++; j < n; j++) {
        const e = b[j];
        if (e === QUOTE) break;
        if (e === BACKSLASH) j++;
      }
    } else if (d === LBRACE || d === LBRACKET) depth++;
    else if ((d === RBRACE || d === RBRACKET) && --depth === 0) return j + 1;
  }
  return -1;
}

const text = (b, start, end) => b.toString('utf8', start, end);

// Calls each(name, start, end) for the members of the object at b[i]; the index past it, or -1.
// each may return the end of the value itself (having scanned it), or undefined.
function members(b, i, each) {
  if (b[i] !== LBRACE) return -1;
  i = skipWs(b, i + 1);
  if (b[i] === RBRACE) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const k = skipString(b, i);
    if (k < 0) return -1;
    const name = JSON.parse(text(b, i, k));
    i = skipWs(b, k);
    if (b[i] !== COLON) return -1;
    const start = skipWs(b, i + 1);
    const end = each(name, start);
    if (end < 0) return -1;
    i = skipWs(b, end);
    if (b[i] === RBRACE) return i + 1;
    if (b[i] !== COMMA) return -1;
    i = skipWs(b, i + 1);
  }
}

// A PutItem body (a Buffer) -> the request object JSON.parse would give, except that the Item's
// bulky attributes are left unparsed ({}) and the Item's JSON text is in itemText (a view of b);
// null when the scanner declines.
function fastPutItem(b) {
  const req = {};
  const top = members(b, skipWs(b, 0), (name, start) => {
    if (name !== 'Item') {
      const end = skipValue(b, start);
      if (end >= 0) req[name] = JSON.parse(text(b, start, end));
      return end;
    }
    const item = {};
    const end = members(b, start, (attr, a) => {
      const z = skipValue(b, a);
      if (z >= 0) item[attr] = z - a <= SMALL_ATTRIBUTE ? JSON.parse(text(b, a, z)) : {};
      return z;
    });
    if (end >= 0) {
      req.Item = item;
      req.itemText = b.subarray(start, end);
    }
    return end;
  });
  if (top < 0 || skipWs(b, top) !== b.length) return null;
  return req;
}

// A raw attribute value: its JSON text as sent, kept unparsed (the fake server splices it back).
const RAW = Symbol('raw JSON text');

/** An item's JSON text (a Buffer) -> { attr: value } with its bulky values as { [RAW]: Buffer }, or null. */
function itemParts(b) {
  const item = {};
  const end = members(b, skipWs(b, 0), (attr, a) => {
    const z = skipValue(b, a);
    if (z >= 0) item[attr] = z - a <= SMALL_ATTRIBUTE ? JSON.parse(text(b, a, z)) : { [RAW]: b.subarray(a, z) };
    return z;
  });
  return end >= 0 && skipWs(b, end) === b.length ? item : null;
}

/** An item whose values may be raw -> its JSON text (a Buffer). */
function itemText(item) {
  const parts = [];
  let sep = '{';
  for (const [k, v] of Object.entries(item)) {
    parts.push(Buffer.from(`${sep}${JSON.stringify(k)}:`));
    parts.push(v && v[RAW] ? v[RAW] : Buffer.from(JSON.stringify(v)));
    sep = ',';
  }
  parts.push(Buffer.from(sep === '{' ? '{}' : '}'));
  return Buffer.concat(parts);
}

// An UpdateItem body (a Buffer) that writes a whole session (UpdateExpression "SET #s = :s ..."
// without document paths) -> the request object JSON.parse would give, with the bulky values of
// ExpressionAttributeValues as { [RAW]: Buffer }; null for any other body (JSON.parse then).
function fastUpdateItem(b) {
  const req = {};
  const top = members(b, skipWs(b, 0), (name, start) => {
    const end = skipValue(b, start);
    if (end < 0) return end;
    if (name !== 'ExpressionAttributeValues') {
      req[name] = JSON.parse(text(b, start, end));
      return end;
    }
    const values = {};
    const e = members(b, start, (v, a) => {
      const z = skipValue(b, a);
      if (z >= 0) values[v] = z - a <= SMALL_ATTRIBUTE ? JSON.parse(text(b, a, z)) : { [RAW]: b.subarray(a, z) };
      return z;
    });
    req[name] = values;
    return e;
  });
  if (top < 0 || skipWs(b, top) !== b.length) return null;
  if (typeof req.UpdateExpression !== 'string' || !/^SET #s = :s\b/.test(req.UpdateExpression) || req.UpdateExpression.includes('.')) return null;
  req.whole = true;
  return req;
}

module.exports = { fastPutItem, fastUpdateItem, itemParts, itemText, RAW, FAST_PUT_MIN };
