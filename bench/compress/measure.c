/* measure.c: which compressor for stored sessions (issue 14)? zstd (levels 1, 3, 6) against zlib
 * (levels 1, 6) on realistic session JSON of about 1 KB, 10 KB and 100 KB: a shopping cart and a
 * user profile, generated here deterministically (a seeded PRNG; the same bytes on every run).
 * Reports the compressed size and ratio, and the time of one compression and one decompression
 * (the median of repeated timed batches, each cell bounded to about 0.25 s).
 *
 * The calls are the ones the codec makes (src/blob.c), state included: a zstd context created,
 * used once and freed per call (ZSTD_compress2 with the content checksum on, as blob.c writes it /
 * ZSTD_decompressDCtx), and zlib's one-shot compress2 / uncompress, which also set up and tear
 * down their deflate / inflate state per call. The "reused" rows keep that state across calls
 * (a zstd context per thread, as blob.c does when given a ddbs_blob_ctx; zlib's deflateReset /
 * inflateReset), to show what it saves.
 *
 * Built on demand, not part of any test:
 *   make -C bench/compress && bench/compress/build/measure
 * or: cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -o measure measure.c \
 *        $(pkg-config --cflags --libs libzstd zlib)
 * Options: measure [seconds-per-cell] (default 0.25); measure --dump cart|profile BYTES prints one document
 * (seeded as the first row of its kind). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>
#include <zstd.h>

/* ---- deterministic session JSON ---- */

typedef struct {
  char *p;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s) {
  size_t n = strlen(s);
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

static void putf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(sbuf *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  put(b, tmp);
}

static uint64_t rng_state;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }
static void token(char *out, size_t n) { /* random base64url-ish text: incompressible, as in real tokens */
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < n; i++) out[i] = a[pick(64)];
  out[n] = '\0';
}

static const char *const ADJ[] = {"Organic", "Classic", "Slim-Fit", "Waterproof", "Recycled", "Premium", "Vintage",
                                  "Lightweight", "Wireless", "Stainless"};
static const char *const NOUN[] = {"Cotton T-Shirt", "Running Shoes", "Backpack", "Water Bottle", "Desk Lamp",
                                   "Headphones", "Rain Jacket", "Coffee Grinder", "Yoga Mat", "Wool Socks"};
static const char *const COLOR[] = {"navy", "black", "white", "forest-green", "burgundy", "sand", "grey"};
static const char *const SIZE[] = {"XS", "S", "M", "L", "XL"};
static const char *const CITY[] = {"Berlin", "Lyon", "Manchester", "Porto", "Utrecht", "Gothenburg"};
static const char *const STREET[] = {"Market Street", "Station Road", "Church Lane", "Mill Road", "High Street"};
static const char *const CAT[] = {"apparel", "footwear", "outdoor", "kitchen", "electronics", "home"};

static void session_tail(sbuf *b) {
  char csrf[33];
  token(csrf, 32);
  putf(b, ",\"csrf\":\"%s\",\"flash\":null,\"views\":%u,\"lastSeen\":%llu,\"_expire\":%llu,\"_maxAge\":86400000}", csrf,
       1 + pick(500), 1700000000000ULL + pick(1000000), 1700086400000ULL + pick(1000000));
}

/* A shopping cart: items with sku, name, qty, price and options, until about target bytes. */
static sbuf make_cart(size_t target, uint64_t seed) {
  sbuf b = {0};
  rng_state = seed;
  char tok[17];
  token(tok, 16);
  putf(&b, "{\"user\":{\"id\":%u,\"email\":\"customer%u@example.com\",\"loggedIn\":true},\"cart\":{\"id\":\"cart_%s\","
       "\"currency\":\"EUR\",\"coupon\":null,\"items\":[",
       100000 + pick(900000), pick(100000), tok);
  for (unsigned i = 0; b.len + 260 < target || i == 0; i++) {
    unsigned a = pick(10), n = pick(10), c = pick(7), s = pick(5);
    if (i) put(&b, ",");
    putf(&b,
         "{\"sku\":\"SKU-%06u\",\"name\":\"%s %s\",\"category\":\"%s\",\"qty\":%u,\"price\":%u.%02u,"
         "\"options\":{\"size\":\"%s\",\"color\":\"%s\",\"giftWrap\":%s},\"addedAt\":%llu}",
         pick(1000000), ADJ[a], NOUN[n], CAT[pick(6)], 1 + pick(4), 5 + pick(200), pick(100), SIZE[s], COLOR[c],
         pick(5) ? "false" : "true", 1700000000000ULL + pick(100000000));
  }
  putf(&b, "],\"subtotal\":%u.%02u,\"shipping\":{\"method\":\"standard\",\"price\":4.99}}", pick(10000), pick(100));
  session_tail(&b);
  return b;
}

/* A user profile: nested preferences, addresses, recently viewed products, search history. */
static sbuf make_profile(size_t target, uint64_t seed) {
  sbuf b = {0};
  rng_state = seed;
  putf(&b,
       "{\"user\":{\"id\":%u,\"name\":\"Ada Lovelace\",\"email\":\"ada.lovelace%u@example.com\",\"roles\":[\"customer\","
       "\"newsletter\"],\"verified\":true,\"createdAt\":\"2021-03-%02uT10:%02u:00.000Z\",",
       100000 + pick(900000), pick(1000), 1 + pick(28), pick(60));
  put(&b,
      "\"preferences\":{\"theme\":\"dark\",\"language\":\"en-GB\",\"timezone\":\"Europe/London\",\"currency\":\"GBP\","
      "\"notifications\":{\"email\":{\"orders\":true,\"marketing\":false,\"priceDrops\":true},\"sms\":{\"orders\":false,"
      "\"marketing\":false},\"push\":{\"orders\":true,\"marketing\":false}},\"privacy\":{\"analytics\":true,"
      "\"personalisedAds\":false}},\"addresses\":[");
  for (unsigned i = 0, na = target < 2048 ? 1 : 2 + pick(2); i < na; i++) {
    if (i) put(&b, ",");
    putf(&b,
         "{\"id\":\"addr_%u\",\"type\":\"%s\",\"name\":\"Ada Lovelace\",\"line1\":\"%u %s\",\"line2\":null,"
         "\"city\":\"%s\",\"postalCode\":\"%05u\",\"country\":\"%s\",\"default\":%s}",
         i + 1, i ? "billing" : "shipping", 1 + pick(200), STREET[pick(5)], CITY[pick(6)], pick(100000),
         i % 2 ? "DE" : "GB", i ? "false" : "true");
  }
  put(&b, "]},\"recentlyViewed\":[");
  for (unsigned i = 0; b.len + 400 < target; i++) {
    unsigned a = pick(10), n = pick(10);
    unsigned id = pick(100000);
    if (i) put(&b, ",");
    putf(&b,
         "{\"productId\":\"p_%05u\",\"title\":\"%s %s\",\"url\":\"/products/%s/p_%05u\",\"price\":%u.%02u,"
         "\"viewedAt\":\"2024-05-%02uT%02u:%02u:%02u.%03uZ\",\"source\":\"%s\"}",
         id, ADJ[a], NOUN[n], CAT[pick(6)], id, 5 + pick(200), pick(100), 1 + pick(28), pick(24), pick(60), pick(60),
         pick(1000), pick(3) ? "search" : "recommendation");
  }
  put(&b, "],\"searchHistory\":[");
  for (unsigned i = 0, ns = target < 2048 ? 2 : 6; i < ns; i++)
    putf(&b, "%s\"%s %s\"", i ? "," : "", ADJ[pick(10)], NOUN[pick(10)]);
  char ab[25];
  token(ab, 24);
  putf(&b, "],\"experiments\":{\"checkoutV2\":\"treatment\",\"recsModel\":\"b\",\"bucket\":\"%s\"}", ab);
  session_tail(&b);
  return b;
}

/* ---- timing ---- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef enum { ZSTD_FRESH, ZSTD_REUSED, ZLIB, ZLIB_REUSED } kind;
typedef struct {
  const char *name;
  kind k;
  int level;
} codec;

static ZSTD_CCtx *g_cctx;
static ZSTD_DCtx *g_dctx;
static z_stream g_def, g_inf; /* zlib state kept across calls (deflateReset / inflateReset) */
static int g_def_level = -1;

static size_t do_compress(const codec *c, const char *src, size_t n, unsigned char *dst, size_t cap) {
  if (c->k == ZLIB_REUSED) {
    if (g_def_level != c->level) {
      if (g_def_level >= 0) deflateEnd(&g_def);
      memset(&g_def, 0, sizeof g_def);
      if (deflateInit(&g_def, c->level) != Z_OK) abort();
      g_def_level = c->level;
    }
    deflateReset(&g_def);
    g_def.next_in = (Bytef *)(uintptr_t)src;
    g_def.avail_in = (uInt)n;
    g_def.next_out = dst;
    g_def.avail_out = (uInt)cap;
    if (deflate(&g_def, Z_FINISH) != Z_STREAM_END) abort();
    return (size_t)g_def.total_out;
  }
  if (c->k == ZLIB) {
    uLongf dl = (uLongf)cap;
    if (compress2(dst, &dl, (const Bytef *)src, (uLong)n, c->level) != Z_OK) abort();
    return (size_t)dl;
  }
  ZSTD_CCtx *cc = c->k == ZSTD_REUSED ? g_cctx : ZSTD_createCCtx();
  if (!cc) abort();
  ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, c->level);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
  size_t r = ZSTD_compress2(cc, dst, cap, src, n);
  if (ZSTD_isError(r)) abort();
  if (c->k != ZSTD_REUSED) ZSTD_freeCCtx(cc);
  return r;
}

static void do_decompress(const codec *c, const unsigned char *src, size_t n, char *dst, size_t plain) {
  if (c->k == ZLIB_REUSED) {
    inflateReset(&g_inf);
    g_inf.next_in = (Bytef *)(uintptr_t)src;
    g_inf.avail_in = (uInt)n;
    g_inf.next_out = (Bytef *)dst;
    g_inf.avail_out = (uInt)plain;
    if (inflate(&g_inf, Z_FINISH) != Z_STREAM_END || g_inf.total_out != plain) abort();
    return;
  }
  if (c->k == ZLIB) {
    uLongf dl = (uLongf)plain;
    if (uncompress((Bytef *)dst, &dl, src, (uLong)n) != Z_OK || dl != plain) abort();
    return;
  }
  ZSTD_DCtx *dc = c->k == ZSTD_REUSED ? g_dctx : ZSTD_createDCtx();
  if (!dc) abort();
  unsigned long long cs = ZSTD_getFrameContentSize(src, n);
  if (cs != plain) abort();
  size_t r = ZSTD_decompressDCtx(dc, dst, plain, src, n);
  if (ZSTD_isError(r) || r != plain) abort();
  if (c->k != ZSTD_REUSED) ZSTD_freeDCtx(dc);
}

#define MAX_SAMPLES 4096

/* Median seconds per call of fn over batches, bounded to about budget seconds. */
static double median_per_op(const codec *c, int decompress, const char *src, size_t n, unsigned char *z, size_t zn,
                            size_t cap, char *out, double budget) {
  static double samples[MAX_SAMPLES];
  /* a batch long enough to be timed well (~1 ms) */
  int batch = 1;
  for (;;) {
    double t0 = now_s();
    for (int i = 0; i < batch; i++) {
      if (decompress) do_decompress(c, z, zn, out, n);
      else do_compress(c, src, n, (unsigned char *)out, cap);
    }
    double dt = now_s() - t0;
    if (dt > 1e-3 || batch >= (1 << 20)) break;
    batch *= 2;
  }
  int ns = 0;
  double start = now_s();
  while (ns < MAX_SAMPLES && (ns < 5 || now_s() - start < budget)) {
    double t0 = now_s();
    for (int i = 0; i < batch; i++) {
      if (decompress) do_decompress(c, z, zn, out, n);
      else do_compress(c, src, n, (unsigned char *)out, cap);
    }
    samples[ns++] = (now_s() - t0) / batch;
  }
  qsort(samples, (size_t)ns, sizeof samples[0], cmp_d);
  return samples[ns / 2];
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--dump") == 0) { /* measure --dump cart|profile bytes: print one document */
    sbuf d = strcmp(argv[2], "cart") == 0 ? make_cart(strtoul(argv[3], NULL, 10), 42)
                                          : make_profile(strtoul(argv[3], NULL, 10), 4242);
    fwrite(d.p, 1, d.len, stdout);
    free(d.p);
    return 0;
  }
  double budget = argc > 1 ? atof(argv[1]) : 0.25;
  if (!(budget > 0 && budget < 60)) budget = 0.25;
  static const codec codecs[] = {
      {"zstd 1", ZSTD_FRESH, 1}, {"zstd 3", ZSTD_FRESH, 3},           {"zstd 6", ZSTD_FRESH, 6},
      {"zlib 1", ZLIB, 1},       {"zlib 6", ZLIB, 6},                 {"zstd 3 reused ctx", ZSTD_REUSED, 3},
      {"zstd 1 reused ctx", ZSTD_REUSED, 1}, {"zlib 6 reused state", ZLIB_REUSED, 6},
  };
  static const size_t sizes[] = {1024, 10 * 1024, 100 * 1024};
  g_cctx = ZSTD_createCCtx();
  g_dctx = ZSTD_createDCtx();
  if (!g_cctx || !g_dctx || inflateInit(&g_inf) != Z_OK) abort();
  printf("zstd %s, zlib %s; median per call, %.2f s per cell\n\n", ZSTD_versionString(), zlibVersion(), budget);
  printf("| session | JSON bytes | codec | compressed | ratio | compress µs | decompress µs | compress MB/s |"
         " decompress MB/s |\n");
  printf("|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
  for (int kind = 0; kind < 2; kind++) {
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
      sbuf doc = kind == 0 ? make_cart(sizes[si], 42 + si) : make_profile(sizes[si], 4242 + si);
      size_t cap = ZSTD_compressBound(doc.len) + compressBound((uLong)doc.len) + 64;
      unsigned char *z = malloc(cap);
      char *out = malloc(cap > doc.len ? cap : doc.len);
      if (!z || !out) abort();
      for (size_t ci = 0; ci < sizeof codecs / sizeof codecs[0]; ci++) {
        const codec *c = &codecs[ci];
        size_t zn = do_compress(c, doc.p, doc.len, z, cap);
        do_decompress(c, z, zn, out, doc.len);
        if (memcmp(out, doc.p, doc.len) != 0) abort();
        double tc = median_per_op(c, 0, doc.p, doc.len, z, zn, cap, out, budget);
        double td = median_per_op(c, 1, doc.p, doc.len, z, zn, cap, out, budget);
        printf("| %s | %zu | %s | %zu | %.2f | %.1f | %.1f | %.0f | %.0f |\n", kind ? "profile" : "cart", doc.len,
               c->name, zn, (double)doc.len / (double)zn, tc * 1e6, td * 1e6, (double)doc.len / tc / 1e6,
               (double)doc.len / td / 1e6);
        fflush(stdout);
      }
      free(z);
      free(out);
      free(doc.p);
    }
  }
  ZSTD_freeCCtx(g_cctx);
  ZSTD_freeDCtx(g_dctx);
  if (g_def_level >= 0) deflateEnd(&g_def);
  inflateEnd(&g_inf);
  return 0;
}
