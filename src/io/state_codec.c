/* Saved states: the byte writer and reader, CRC-32C and the container
 * (magic, version, family, length, payload, checksum). Every value is
 * written byte by byte in little-endian order, never as a struct, so the
 * bytes are the same on every host. */
#include "io/state_codec.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t magic[4] = {'C', 'L', 'M', 'S'};

const char *clm_state_family_name(clm_state_family family) {
  switch (family) {
  case CLM_STATE_BINARY:
    return "binary";
  case CLM_STATE_MULTICLASS:
    return "multiclass";
  case CLM_STATE_CALIBRATION:
    return "calibration";
  case CLM_STATE_RANKING:
    return "ranking";
  case CLM_STATE_MULTILABEL:
    return "multilabel";
  }
  return "unknown";
}

void clm_state_buffer_free(uint8_t *buf) {
  free(buf);
}

/* Table-driven CRC-32C; the 1 KiB table is built per call (cheap next to
 * any state, and no shared mutable data between threads). */
uint32_t clm_crc32c(uint32_t crc, const void *data, size_t len) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int b = 0; b < 8; ++b)
      c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  const uint8_t *p = data;
  crc = ~crc;
  for (size_t i = 0; i < len; ++i)
    crc = table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

/* ---- writer --------------------------------------------------------- */

static uint8_t *reserve(clm_wbuf *w, size_t n) {
  if (w->oom)
    return NULL;
  if (n > SIZE_MAX - w->len) {
    w->oom = 1;
    return NULL;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
      cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
    uint8_t *d = realloc(w->data, cap);
    if (!d) {
      w->oom = 1;
      return NULL;
    }
    w->data = d;
    w->cap = cap;
  }
  uint8_t *p = w->data + w->len;
  w->len += n;
  return p;
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint64_t f64_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

void clm_w_u32(clm_wbuf *w, uint32_t v) {
  uint8_t *p = reserve(w, 4);
  if (p)
    put_le(p, v, 4);
}

void clm_w_i32(clm_wbuf *w, int32_t v) {
  clm_w_u32(w, (uint32_t)v);
}

void clm_w_u64(clm_wbuf *w, uint64_t v) {
  uint8_t *p = reserve(w, 8);
  if (p)
    put_le(p, v, 8);
}

void clm_w_f64(clm_wbuf *w, double v) {
  clm_w_u64(w, f64_bits(v));
}

void clm_w_u64s(clm_wbuf *w, const uint64_t *v, size_t n) {
  if (n > SIZE_MAX / 8) {
    w->oom = 1;
    return;
  }
  uint8_t *p = reserve(w, n * 8);
  if (p)
    for (size_t i = 0; i < n; ++i)
      put_le(p + 8 * i, v[i], 8);
}

void clm_w_f64s(clm_wbuf *w, const double *v, size_t n) {
  if (n > SIZE_MAX / 8) {
    w->oom = 1;
    return;
  }
  uint8_t *p = reserve(w, n * 8);
  if (p)
    for (size_t i = 0; i < n; ++i)
      put_le(p + 8 * i, f64_bits(v[i]), 8);
}

void clm_state_begin(clm_wbuf *w, clm_state_family family) {
  memset(w, 0, sizeof *w);
  uint8_t *p = reserve(w, CLM_STATE_HEADER_BYTES);
  if (!p)
    return;
  memcpy(p, magic, 4);
  put_le(p + 4, CLM_STATE_FORMAT_VERSION, 4);
  put_le(p + 8, (uint32_t)family, 4);
  put_le(p + 12, 0, 4); /* reserved */
  put_le(p + 16, 0, 8); /* payload length, patched by clm_state_finish */
}

clm_status clm_state_finish(clm_wbuf *w, uint8_t **buf, size_t *len,
                            clm_error *err) {
  if (!w->oom) {
    put_le(w->data + 16, w->len - CLM_STATE_HEADER_BYTES, 8);
    const uint32_t crc = clm_crc32c(0, w->data, w->len);
    uint8_t *p = reserve(w, CLM_STATE_TRAILER_BYTES);
    if (p)
      put_le(p, crc, 4);
  }
  if (w->oom) {
    free(w->data);
    memset(w, 0, sizeof *w);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the saved state's buffer");
  }
  *buf = w->data;
  *len = w->len;
  return CLM_OK;
}

/* ---- reader --------------------------------------------------------- */

static const uint8_t *take(clm_rbuf *r, size_t n) {
  if (r->bad || n > r->len - r->pos) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *p = r->p + r->pos;
  r->pos += n;
  return p;
}

uint32_t clm_r_u32(clm_rbuf *r) {
  const uint8_t *p = take(r, 4);
  return p ? (uint32_t)get_le(p, 4) : 0;
}

int32_t clm_r_i32(clm_rbuf *r) {
  const uint32_t u = clm_r_u32(r);
  int32_t v;
  memcpy(&v, &u, sizeof v); /* two's complement, no overflow */
  return v;
}

uint64_t clm_r_u64(clm_rbuf *r) {
  const uint8_t *p = take(r, 8);
  return p ? get_le(p, 8) : 0;
}

double clm_r_f64(clm_rbuf *r) {
  const uint64_t u = clm_r_u64(r);
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

void clm_r_u64s(clm_rbuf *r, uint64_t *out, size_t n) {
  const uint8_t *p = n <= SIZE_MAX / 8 ? take(r, n * 8) : NULL;
  if (!p) {
    r->bad = 1;
    return;
  }
  for (size_t i = 0; i < n; ++i)
    out[i] = get_le(p + 8 * i, 8);
}

void clm_r_f64s(clm_rbuf *r, double *out, size_t n) {
  const uint8_t *p = n <= SIZE_MAX / 8 ? take(r, n * 8) : NULL;
  if (!p) {
    r->bad = 1;
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint64_t u = get_le(p + 8 * i, 8);
    memcpy(&out[i], &u, sizeof u);
  }
}

/* Header checks shared by clm_state_info and the loaders. */
static clm_status check(const uint8_t *buf, size_t len, uint32_t *family,
                        uint32_t *version, clm_error *err) {
  clm_error_clear(err);
  if (!buf && len > 0)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "saved state: NULL buffer");
  if (len < 4 || memcmp(buf, magic, 4) != 0)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "not a clmetrics saved state (the file does not start "
                    "with \"CLMS\")");
  if (len < CLM_STATE_HEADER_BYTES + CLM_STATE_TRAILER_BYTES)
    return clm_fail(err, CLM_ERR_FORMAT, (int64_t)len, 0,
                    "truncated saved state: %zu bytes, shorter than the "
                    "%u-byte header and checksum",
                    len, CLM_STATE_HEADER_BYTES + CLM_STATE_TRAILER_BYTES);
  const uint32_t v = (uint32_t)get_le(buf + 4, 4);
  if (v > CLM_STATE_FORMAT_VERSION)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, v,
                    "saved state written by a newer clmetrics: format "
                    "version %u, this build reads up to %u",
                    (unsigned)v, (unsigned)CLM_STATE_FORMAT_VERSION);
  if (v == 0)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed saved state: format version 0");
  const uint64_t payload = get_le(buf + 16, 8);
  const size_t have = len - CLM_STATE_HEADER_BYTES - CLM_STATE_TRAILER_BYTES;
  if (payload > have)
    return clm_fail(err, CLM_ERR_FORMAT, (int64_t)len, 0,
                    "truncated saved state: the header declares %llu "
                    "payload bytes but only %zu follow it (%zu bytes in "
                    "all, %llu expected)",
                    (unsigned long long)payload, have, len,
                    (unsigned long long)payload + CLM_STATE_HEADER_BYTES +
                        CLM_STATE_TRAILER_BYTES);
  if (payload < have)
    return clm_fail(err, CLM_ERR_FORMAT, (int64_t)len, 0,
                    "malformed saved state: %zu bytes after the %llu-byte "
                    "payload and its checksum",
                    (size_t)(have - payload), (unsigned long long)payload);
  const size_t body = len - CLM_STATE_TRAILER_BYTES;
  const uint32_t stored = (uint32_t)get_le(buf + body, 4);
  const uint32_t computed = clm_crc32c(0, buf, body);
  if (stored != computed)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "corrupted saved state: checksum mismatch (stored "
                    "CRC-32C 0x%08x, computed 0x%08x)",
                    (unsigned)stored, (unsigned)computed);
  if (get_le(buf + 12, 4) != 0)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed saved state: reserved header field is not 0");
  *family = (uint32_t)get_le(buf + 8, 4);
  *version = v;
  return CLM_OK;
}

clm_status clm_state_info(const uint8_t *buf, size_t len,
                          clm_state_family *family, uint32_t *version,
                          clm_error *err) {
  uint32_t f = 0, v = 0;
  const clm_status st = check(buf, len, &f, &v, err);
  if (st != CLM_OK)
    return st;
  if (strcmp(clm_state_family_name((clm_state_family)f), "unknown") == 0)
    return clm_fail(err, CLM_ERR_FORMAT, -1, f,
                    "malformed saved state: unknown family %u", (unsigned)f);
  if (family)
    *family = (clm_state_family)f;
  if (version)
    *version = v;
  return CLM_OK;
}

clm_status clm_state_open(const uint8_t *buf, size_t len,
                          clm_state_family family, clm_rbuf *payload,
                          clm_error *err) {
  clm_state_family f;
  const clm_status st = clm_state_info(buf, len, &f, NULL, err);
  if (st != CLM_OK)
    return st;
  if (f != family)
    return clm_fail(err, CLM_ERR_STATE_MISMATCH, -1, f,
                    "the saved state holds a %s state, not a %s state",
                    clm_state_family_name(f), clm_state_family_name(family));
  payload->p = buf + CLM_STATE_HEADER_BYTES;
  payload->len = len - CLM_STATE_HEADER_BYTES - CLM_STATE_TRAILER_BYTES;
  payload->pos = 0;
  payload->bad = 0;
  return CLM_OK;
}

clm_status clm_state_close(const clm_rbuf *r, const char *what,
                           clm_error *err) {
  if (r->bad)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed %s state: the payload ends inside a field",
                    what);
  if (r->pos != r->len)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed %s state: %zu unread payload bytes", what,
                    r->len - r->pos);
  return CLM_OK;
}

clm_status clm_state_size_error(clm_error *err, const char *what,
                                const char *field, uint64_t value,
                                const clm_rbuf *r) {
  return clm_fail(err, CLM_ERR_FORMAT, -1, (double)value,
                  "malformed %s state: %s = %llu does not fit the %zu "
                  "payload bytes left",
                  what, field, (unsigned long long)value, clm_r_left(r));
}
