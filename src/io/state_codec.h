/* Saved states (state_codec.c): a little-endian byte writer and a bounded
 * reader, the CRC-32C, and the container every family's serializer wraps
 * its payload in (header, length, checksum). The serializers live beside
 * their states (src/tasks/<family>/serialize.c). */
#ifndef CLM_IO_STATE_CODEC_H
#define CLM_IO_STATE_CODEC_H

#include "internal.h"

/* Bytes before the payload and after it (the checksum). */
#define CLM_STATE_HEADER_BYTES 24u
#define CLM_STATE_TRAILER_BYTES 4u

/* A growing output buffer; `oom` latches the first failed allocation so
 * writers need no check per field. */
typedef struct clm_wbuf {
  uint8_t *data;
  size_t len, cap;
  int oom;
} clm_wbuf;

void clm_w_u32(clm_wbuf *w, uint32_t v);
void clm_w_i32(clm_wbuf *w, int32_t v);
void clm_w_u64(clm_wbuf *w, uint64_t v);
void clm_w_f64(clm_wbuf *w, double v);
void clm_w_u64s(clm_wbuf *w, const uint64_t *v, size_t n);
void clm_w_f64s(clm_wbuf *w, const double *v, size_t n);

/* Starts a state of `family` (the header, with the length filled in by
 * clm_state_finish). */
void clm_state_begin(clm_wbuf *w, clm_state_family family);
/* Patches the length, appends the checksum and hands the buffer to the
 * caller; on failure frees it. */
clm_status clm_state_finish(clm_wbuf *w, uint8_t **buf, size_t *len,
                            clm_error *err);

/* A bounded reader over a payload. Reading past the end sets `bad` and
 * yields 0; callers check sizes with clm_r_left before allocating. */
typedef struct clm_rbuf {
  const uint8_t *p;
  size_t len, pos;
  int bad;
} clm_rbuf;

uint32_t clm_r_u32(clm_rbuf *r);
int32_t clm_r_i32(clm_rbuf *r);
uint64_t clm_r_u64(clm_rbuf *r);
double clm_r_f64(clm_rbuf *r);
void clm_r_u64s(clm_rbuf *r, uint64_t *out, size_t n);
void clm_r_f64s(clm_rbuf *r, double *out, size_t n);
static inline size_t clm_r_left(const clm_rbuf *r) {
  return r->len - r->pos;
}

/* Checks magic, version, length and checksum and that the buffer holds a
 * `family` state; sets *payload to read its payload. */
clm_status clm_state_open(const uint8_t *buf, size_t len,
                          clm_state_family family, clm_rbuf *payload,
                          clm_error *err);
/* After decoding: CLM_ERR_FORMAT unless the payload was read exactly to
 * its end ("what" names the family for the message). */
clm_status clm_state_close(const clm_rbuf *r, const char *what, clm_error *err);
/* A payload that cannot hold what its sizes declare: CLM_ERR_FORMAT naming
 * the field, its value and the bytes present. */
clm_status clm_state_size_error(clm_error *err, const char *what,
                                const char *field, uint64_t value,
                                const clm_rbuf *r);

#endif
