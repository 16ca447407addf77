/* ddb_number.h: number texts for DynamoDB and JSON -- printing a double the way JavaScript does,
 * reading DynamoDB's N texts, the JSON number grammar (and which numbers jansson accepts), the test
 * that lets a number text be copied verbatim, and DynamoDB's size of a number.
 * Pure: no I/O, no globals (strtod and snprintf only, used so that the locale's decimal point
 * cannot change a result). Thread: any. Used by the converters (ddb_json.c) and the jansson
 * reference (ddb_ref.c). */
#ifndef DDBS_DDB_NUMBER_H
#define DDBS_DDB_NUMBER_H

#include <stddef.h>

/* The shortest decimal text that strtod() reads back as exactly d ("0.1", "9007199254740991",
 * "1e+21", "-5e-324"), spelled as JavaScript's Number#toString spells it (plain notation from
 * 1e-7 up to 1e21, otherwise "1.5e-7" / "1e+21"; -0 prints as "0"). d must be finite. out must
 * hold 32 bytes. Returns the length, or -1. */
int ddbs_format_double(double d, char out[32]);

/* Is t[0..len) a decimal number as DynamoDB (or any JSON/JavaScript writer) spells one?
 * [+-]? (digits [. digits*]? | . digits) ([eE] [+-]? digits)? */
int ddbs_number_text_ok(const char *t, size_t len);

/* A DynamoDB number text -> double, as JavaScript's Number(text) would read it. 0, or -1 (not a
 * number, out of double range, or no memory for a text over 64 bytes). Locale-independent. */
int ddbs_parse_number_text(const char *t, size_t len, double *out);

/* DynamoDB's size of a number: 1 byte per 2 significant digits, plus 1 (the developer guide's
 * approximation; the exact encoding can take a byte or two more). */
size_t ddbs_number_text_size(const char *t, size_t len);

/* Length of the JSON number token at p (RFC 8259 grammar, as jansson's lexer reads it), or 0. */
size_t ddbs_json_number_len(const unsigned char *p, size_t avail);

/* Would jansson accept the JSON number token t[0..len) (already of the RFC 8259 grammar)? Integers
 * (no '.', 'e', 'E') must fit a long long unless int_as_real (JSON_DECODE_INT_AS_REAL); every
 * other number must not overflow a double. 1 or 0. Cheap unless the magnitude is near 1e308. */
int ddbs_json_number_ok(const char *t, size_t len, int int_as_real);

/* 1 when t[0..len) is exactly what ddbs_format_double() prints for the double it denotes (so it
 * can be copied verbatim), 0 when that is not known cheaply. If it is, stores the decimal
 * exponent n (|x| = 0.d1d2...dk * 10^n; 0 for zero) and the number of significant digits k (0 for
 * zero) when the pointers are non-NULL. One pass, no allocation. */
int ddbs_number_canonical(const char *t, size_t len, int *n_out, int *k_out);

/* ddbs_number_canonical() without the outputs; 0 for NULL. For the tests and fuzzers. */
int ddbs_number_is_canonical(const char *text, size_t len);

#endif
