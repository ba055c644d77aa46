/* Saved states (clm_*_state_save / _load): every family's state from real
 * device updates (fixed seed) round-trips bit-identically, merging loaded
 * states equals merging the originals, and every corruption is refused:
 * each byte flipped, each truncation, a newer version, another family,
 * sizes the bytes cannot hold (without a large allocation). */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clmetrics.h"
#include "reference.h"

static clm_context *ctx;

static void setup(void) {
  clm_error err;
  clm_status st = clm_context_create(NULL, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
}
static void teardown(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

/* ---- states from real updates ---- */

static float *rand_f32(clm_rng *g, size_t n, double lo, double hi) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; ++i)
    v[i] = (float)(lo + (hi - lo) * clm_rng_uniform(g));
  return v;
}

static uint8_t *rand_u8(clm_rng *g, size_t n, double p1) {
  uint8_t *v = malloc(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = clm_rng_uniform(g) < p1;
  return v;
}

static int32_t *rand_class(clm_rng *g, size_t n, uint32_t k) {
  int32_t *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; ++i)
    v[i] = (int32_t)clm_rng_below(g, k);
  return v;
}

/* A weighted binary state with 3 features and pos_weight over n rows. */
static void make_binary(clm_binary_state *s, uint64_t seed, uint64_t n) {
  clm_rng g;
  clm_rng_seed(&g, seed);
  clm_binary_options o;
  clm_binary_options_init(&o);
  o.threshold = 0.3;
  o.pos_weight = 1.75;
  o.weighted = 1;
  o.n_features = 3;
  cr_assert_eq(clm_binary_state_init_ex(s, &o), CLM_OK);
  uint8_t *y = rand_u8(&g, n, 0.4);
  float *z = rand_f32(&g, n, -6, 6), *w = rand_f32(&g, n, 0, 3);
  float *x = rand_f32(&g, n * 3, -1, 1);
  clm_error err;
  cr_assert_eq(clm_binary_update_weighted(ctx, s, 0, y, z, w, n, x, NULL, &err),
               CLM_OK, "%s", err.message);
  free(y), free(z), free(w), free(x);
}

/* K classes from scores, weighted, with class weights, an ignored label,
 * smoothing and top-2. */
static void make_multiclass(clm_multiclass_state *s, uint64_t seed, uint64_t n,
                            uint32_t k) {
  clm_rng g;
  clm_rng_seed(&g, seed);
  double *cw = malloc(k * sizeof *cw);
  for (uint32_t c = 0; c < k; ++c)
    cw[c] = 0.5 + c;
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = k;
  o.top_k = 2;
  o.weighted = 1;
  o.class_weight = cw;
  o.has_ignore_index = 1;
  o.ignore_index = 1;
  o.label_smoothing = 0.1;
  cr_assert_eq(clm_multiclass_state_init_ex(s, &o), CLM_OK);
  int32_t *y = rand_class(&g, n, k);
  float *z = rand_f32(&g, n * k, -4, 4), *w = rand_f32(&g, n, 0, 2);
  clm_error err;
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, s, 0, y, z, w, n, CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK, "%s", err.message);
  free(y), free(z), free(w), free(cw);
}

static void make_calibration(clm_calibration_state *s, uint64_t seed,
                             uint64_t n, uint32_t k, uint32_t bins) {
  clm_rng g;
  clm_rng_seed(&g, seed);
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.n_bins = bins;
  o.weighted = 1;
  cr_assert_eq(clm_calibration_state_init(s, &o), CLM_OK);
  int32_t *y = rand_class(&g, n, k);
  float *z = rand_f32(&g, n * k, -3, 3), *w = rand_f32(&g, n, 0, 2);
  clm_error err;
  cr_assert_eq(clm_calibration_update_multiclass(ctx, s, 0, y, z, w, n,
                                                 CLM_SCORES_LOGITS, &err),
               CLM_OK, "%s", err.message);
  free(y), free(z), free(w);
}

/* kind 0: binary; 1: K = 3 softmax; 2: multilabel k = 4. */
static void make_ranking(clm_ranking_state *s, uint64_t seed, uint64_t n,
                         int kind, uint32_t bits) {
  clm_rng g;
  clm_rng_seed(&g, seed);
  const uint32_t k = kind == 0 ? 1 : kind == 1 ? 3 : 4;
  clm_status st =
      kind == 2 ? clm_ranking_state_init_multilabel(s, k, CLM_DTYPE_F32, bits)
                : clm_ranking_state_init(s, k, CLM_DTYPE_F32, kind == 1, bits);
  cr_assert_eq(st, CLM_OK);
  void *y = kind == 1 ? (void *)rand_class(&g, n, k)
                      : (void *)rand_u8(&g, n * (kind == 2 ? k : 1), 0.3);
  float *z = rand_f32(&g, n * k, -5, 5);
  clm_error err;
  cr_assert_eq(clm_ranking_update(ctx, s, 0, y, z, n, &err), CLM_OK, "%s",
               err.message);
  free(y), free(z);
}

static void make_multilabel(clm_multilabel_state *s, uint64_t seed, uint64_t n,
                            uint32_t L) {
  clm_rng g;
  clm_rng_seed(&g, seed);
  double *thr = malloc(L * sizeof *thr);
  for (uint32_t c = 0; c < L; ++c)
    thr[c] = 0.2 + 0.1 * c;
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = L;
  o.thresholds = thr;
  o.weighted = 1;
  cr_assert_eq(clm_multilabel_state_init(s, &o), CLM_OK);
  uint8_t *y = rand_u8(&g, n * L, 0.3);
  float *z = rand_f32(&g, n * L, -4, 4), *w = rand_f32(&g, n, 0, 2);
  clm_error err;
  cr_assert_eq(clm_multilabel_update(ctx, s, 0, y, z, w, n, NULL, &err), CLM_OK,
               "%s", err.message);
  free(y), free(z), free(w), free(thr);
}

/* ---- one table of families, so every test covers all of them ---- */

typedef struct family {
  const char *name;
  size_t size; /* of the state struct */
  void (*make)(void *s, uint64_t seed, int small);
  clm_status (*save)(const void *, uint8_t **, size_t *, clm_error *);
  clm_status (*load)(const uint8_t *, size_t, void *, clm_error *);
  clm_status (*merge)(void *, const void *);
  void (*release)(void *);
} family;

static void mk_bin(void *s, uint64_t seed, int small) {
  make_binary(s, seed, small ? 50 : 7777);
}
static void mk_mc(void *s, uint64_t seed, int small) {
  make_multiclass(s, seed, small ? 40 : 5001, small ? 3 : 6);
}
static void mk_cal(void *s, uint64_t seed, int small) {
  make_calibration(s, seed, small ? 40 : 4099, 3, small ? 4 : 15);
}
static void mk_rank1(void *s, uint64_t seed, int small) {
  make_ranking(s, seed, small ? 30 : 9000, 0, small ? 8 : 0);
}
static void mk_rank3(void *s, uint64_t seed, int small) {
  make_ranking(s, seed, small ? 30 : 3000, 1, small ? 8 : 12);
}
static void mk_rank_ml(void *s, uint64_t seed, int small) {
  make_ranking(s, seed, small ? 30 : 3000, 2, small ? 8 : 12);
}
static void mk_ml(void *s, uint64_t seed, int small) {
  make_multilabel(s, seed, small ? 30 : 3001, small ? 3 : 9);
}

#define FAM(n, T, mk, pre, mergefn)                                            \
  {                                                                            \
    n, sizeof(T), mk,                                                          \
        (clm_status(*)(const void *, uint8_t **, size_t *,                     \
                       clm_error *))pre##_state_save,                          \
        (clm_status(*)(const uint8_t *, size_t, void *,                        \
                       clm_error *))pre##_state_load,                          \
        (clm_status(*)(void *, const void *))mergefn,                          \
        (void (*)(void *))pre##_state_release                                  \
  }

static const family families[] = {
    FAM("binary", clm_binary_state, mk_bin, clm_binary, clm_binary_merge),
    FAM("multiclass", clm_multiclass_state, mk_mc, clm_multiclass,
        clm_multiclass_merge),
    FAM("calibration", clm_calibration_state, mk_cal, clm_calibration,
        clm_calibration_merge),
    FAM("ranking k=1", clm_ranking_state, mk_rank1, clm_ranking,
        clm_ranking_merge),
    FAM("ranking softmax", clm_ranking_state, mk_rank3, clm_ranking,
        clm_ranking_merge),
    FAM("ranking multilabel", clm_ranking_state, mk_rank_ml, clm_ranking,
        clm_ranking_merge),
    FAM("multilabel", clm_multilabel_state, mk_ml, clm_multilabel,
        clm_multilabel_merge),
};
#define N_FAMILIES (sizeof families / sizeof *families)

static uint8_t *save(const family *f, const void *s, size_t *len) {
  uint8_t *buf = NULL;
  clm_error err;
  cr_assert_eq(f->save(s, &buf, len, &err), CLM_OK, "%s: save: %s", f->name,
               err.message);
  return buf;
}

TestSuite(state, .init = setup, .fini = teardown);

/* Loading gives back every bit: the reloaded state saves to the same bytes
 * (the payload holds every field of the state), and its finalized metrics
 * match the original's bit for bit where compared. */
Test(state, round_trip_every_family) {
  for (size_t i = 0; i < N_FAMILIES; ++i) {
    const family *f = &families[i];
    void *a = calloc(1, f->size), *b = calloc(1, f->size);
    f->make(a, 1000 + i, 0);
    size_t len, len2;
    uint8_t *buf = save(f, a, &len);
    cr_assert_eq(memcmp(buf, "CLMS", 4), 0);
    clm_state_family fam;
    uint32_t version;
    clm_error err;
    cr_assert_eq(clm_state_info(buf, len, &fam, &version, &err), CLM_OK);
    cr_assert_eq(version, CLM_STATE_FORMAT_VERSION);
    cr_assert_eq(f->load(buf, len, b, &err), CLM_OK, "%s: load: %s", f->name,
                 err.message);
    uint8_t *buf2 = save(f, b, &len2);
    cr_assert_eq(len, len2, "%s", f->name);
    cr_assert_eq(memcmp(buf, buf2, len), 0, "%s: bytes differ", f->name);
    clm_state_buffer_free(buf);
    clm_state_buffer_free(buf2);
    f->release(a);
    f->release(b);
    free(a);
    free(b);
  }
}

/* Field-level spot checks that the bytes are what the state held. */
Test(state, loaded_fields_bit_identical) {
  clm_binary_state a, b;
  make_binary(&a, 7, 3000);
  size_t len;
  uint8_t *buf = save(&families[0], &a, &len);
  clm_error err;
  cr_assert_eq(clm_binary_state_load(buf, len, &b, &err), CLM_OK);
  cr_assert_eq(memcmp(&a.bce_sum, &b.bce_sum, sizeof(double)), 0);
  cr_assert_eq(memcmp(&a.w_tp, &b.w_tp, sizeof(double)), 0);
  cr_assert_eq(memcmp(a.weight_grad_sum, b.weight_grad_sum, 3 * sizeof(double)),
               0);
  cr_assert(a.tp == b.tp && a.fp == b.fp && a.tn == b.tn && a.fn == b.fn);
  cr_assert(a.threshold == b.threshold && a.pos_weight == b.pos_weight &&
            b.weighted == 1 && b.n_features == 3);
  clm_binary_result ra, rb;
  cr_assert_eq(clm_binary_finalize(&a, CLM_ZERO_DIVISION_ZERO, &ra, NULL),
               CLM_OK);
  cr_assert_eq(clm_binary_finalize(&b, CLM_ZERO_DIVISION_ZERO, &rb, NULL),
               CLM_OK);
  cr_assert_eq(memcmp(&ra.bce_mean, &rb.bce_mean, sizeof(double)), 0);
  cr_assert_eq(memcmp(&ra.mcc, &rb.mcc, sizeof(double)), 0);
  clm_state_buffer_free(buf);
  clm_binary_state_release(&a);
  clm_binary_state_release(&b);
}

/* merge(load(save(A)), load(save(B))) == merge(A, B), byte for byte. */
Test(state, merge_of_loaded_equals_merge_of_originals) {
  for (size_t i = 0; i < N_FAMILIES; ++i) {
    const family *f = &families[i];
    void *a = calloc(1, f->size), *b = calloc(1, f->size);
    void *la = calloc(1, f->size), *lb = calloc(1, f->size);
    f->make(a, 2000 + i, 0);
    f->make(b, 3000 + i, 0);
    size_t na, nb;
    uint8_t *ba = save(f, a, &na), *bb = save(f, b, &nb);
    clm_error err;
    cr_assert_eq(f->load(ba, na, la, &err), CLM_OK);
    cr_assert_eq(f->load(bb, nb, lb, &err), CLM_OK);
    cr_assert_eq(f->merge(a, b), CLM_OK, "%s", f->name);
    cr_assert_eq(f->merge(la, lb), CLM_OK, "%s", f->name);
    size_t n1, n2;
    uint8_t *m1 = save(f, a, &n1), *m2 = save(f, la, &n2);
    cr_assert(n1 == n2 && memcmp(m1, m2, n1) == 0, "%s: merged differ",
              f->name);
    clm_state_buffer_free(ba);
    clm_state_buffer_free(bb);
    clm_state_buffer_free(m1);
    clm_state_buffer_free(m2);
    f->release(a), f->release(b), f->release(la), f->release(lb);
    free(a), free(b), free(la), free(lb);
  }
}

/* The streaming ranking of a loaded state finalizes to the same
 * intervals. */
Test(state, ranking_finalize_after_load) {
  clm_ranking_state a, b;
  make_ranking(&a, 5, 20000, 1, 0);
  size_t len;
  uint8_t *buf = save(&families[4], &a, &len);
  clm_error err;
  cr_assert_eq(clm_ranking_state_load(buf, len, &b, &err), CLM_OK);
  clm_ranking_result ra, rb;
  cr_assert_eq(clm_ranking_finalize(&a, &ra), CLM_OK);
  cr_assert_eq(clm_ranking_finalize(&b, &rb), CLM_OK);
  for (uint32_t c = 0; c < 3; ++c) {
    cr_assert_eq(ra.classes[c].roc_auc_lo, rb.classes[c].roc_auc_lo);
    cr_assert_eq(ra.classes[c].roc_auc_hi, rb.classes[c].roc_auc_hi);
    cr_assert_eq(ra.classes[c].average_precision_lo,
                 rb.classes[c].average_precision_lo);
  }
  clm_ranking_result_release(&ra);
  clm_ranking_result_release(&rb);
  clm_state_buffer_free(buf);
  clm_ranking_state_release(&a);
  clm_ranking_state_release(&b);
}

/* Every single byte changed (three ways) and every truncation of a small
 * state of each family is refused with an error, and the target state is
 * left zeroed. */
Test(state, every_byte_flip_and_truncation_rejected) {
  for (size_t i = 0; i < N_FAMILIES; ++i) {
    const family *f = &families[i];
    void *a = calloc(1, f->size), *b = calloc(1, f->size);
    f->make(a, 4000 + i, 1);
    size_t len;
    uint8_t *buf = save(f, a, &len);
    uint8_t *copy = malloc(len);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    clm_error err;
    for (size_t at = 0; at < len; ++at)
      for (size_t m = 0; m < sizeof masks; ++m) {
        memcpy(copy, buf, len);
        copy[at] ^= masks[m];
        const clm_status st = f->load(copy, len, b, &err);
        cr_assert_neq(st, CLM_OK, "%s: byte %zu ^ 0x%02x accepted", f->name, at,
                      masks[m]);
        cr_assert(err.message[0] != '\0');
      }
    for (size_t cut = 0; cut < len; ++cut) {
      const clm_status st = f->load(buf, cut, b, &err);
      cr_assert_eq(st, CLM_ERR_FORMAT, "%s: %zu of %zu bytes: %s", f->name, cut,
                   len, err.message);
    }
    /* Bytes appended are refused too. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    cr_assert_eq(f->load(longer, len + 1, b, &err), CLM_ERR_FORMAT);
    free(longer);
    free(copy);
    clm_state_buffer_free(buf);
    f->release(a);
    free(a);
    free(b);
  }
}

/* ---- crafted headers and payloads (no device needed) ---- */

static void put_le(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the checksum after a deliberate change, so the check that
 * must catch it is the one after the checksum. */
static void reseal(uint8_t *buf, size_t len) {
  put_le(buf + len - 4, clm_crc32c(0, buf, len - 4), 4);
}

Test(state_format, crc32c_known_answer) {
  /* The standard CRC-32C check value of "123456789". */
  cr_assert_eq(clm_crc32c(0, "123456789", 9), 0xE3069283u);
  const uint32_t part = clm_crc32c(0, "1234", 4);
  cr_assert_eq(clm_crc32c(part, "56789", 5), 0xE3069283u);
}

/* A small state built without a device: an empty binary state. */
static uint8_t *empty_binary(size_t *len) {
  clm_binary_state s;
  cr_assert_eq(clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 0), CLM_OK);
  uint8_t *buf = NULL;
  cr_assert_eq(clm_binary_state_save(&s, &buf, len, NULL), CLM_OK);
  clm_binary_state_release(&s);
  return buf;
}

Test(state_format, newer_version_rejected_with_versions_named) {
  size_t len;
  uint8_t *buf = empty_binary(&len);
  put_le(buf + 4, CLM_STATE_FORMAT_VERSION + 1, 4);
  reseal(buf, len);
  clm_binary_state s;
  clm_error err;
  cr_assert_eq(clm_binary_state_load(buf, len, &s, &err), CLM_ERR_UNSUPPORTED);
  char want[160];
  snprintf(want, sizeof want,
           "written by a newer clmetrics: format version %u, this build "
           "reads up to %u",
           CLM_STATE_FORMAT_VERSION + 1, CLM_STATE_FORMAT_VERSION);
  cr_assert(strstr(err.message, want), "%s", err.message);
  clm_state_buffer_free(buf);
}

Test(state_format, wrong_magic_and_family_rejected) {
  size_t len;
  uint8_t *buf = empty_binary(&len);
  clm_multiclass_state m;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_load(buf, len, &m, &err),
               CLM_ERR_STATE_MISMATCH);
  cr_assert(strstr(err.message, "holds a binary state, not a multiclass"), "%s",
            err.message);
  buf[0] = 'X';
  clm_binary_state s;
  cr_assert_eq(clm_binary_state_load(buf, len, &s, &err), CLM_ERR_FORMAT);
  cr_assert(strstr(err.message, "not a clmetrics saved state"), "%s",
            err.message);
  cr_assert_eq(clm_binary_state_load(NULL, 0, &s, &err), CLM_ERR_FORMAT);
  clm_state_buffer_free(buf);
}

/* Sizes a payload cannot hold are refused before anything is allocated:
 * with the address space capped at 1 GiB (far below the declared sizes),
 * an attempt to allocate for the declared size would fail with
 * CLM_ERR_OUT_OF_MEMORY instead of CLM_ERR_FORMAT. */
static void cap_memory(void) {
  struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
  setrlimit(RLIMIT_AS, &rl);
}

/* Builds a buffer of `family` whose payload is `payload` (len bytes). */
static uint8_t *craft(clm_state_family family, const uint8_t *payload,
                      size_t plen, size_t *len) {
  *len = 24 + plen + 4;
  uint8_t *buf = calloc(1, *len);
  memcpy(buf, "CLMS", 4);
  put_le(buf + 4, CLM_STATE_FORMAT_VERSION, 4);
  put_le(buf + 8, family, 4);
  put_le(buf + 16, plen, 8);
  memcpy(buf + 24, payload, plen);
  reseal(buf, *len);
  return buf;
}

Test(state_format, huge_declared_sizes_rejected_without_allocating) {
  cap_memory();
  uint8_t p[256];
  clm_error err;
  size_t len;
  /* binary: n_features = 2^61 */
  memset(p, 0, sizeof p);
  put_le(p + 8, 0x3fe0000000000000ull, 8);  /* threshold 0.5 */
  put_le(p + 16, 0x3ff0000000000000ull, 8); /* pos_weight 1 */
  put_le(p + 24, (uint64_t)1 << 61, 8);
  uint8_t *buf = craft(CLM_STATE_BINARY, p, 32 + 96, &len);
  clm_binary_state b;
  cr_assert_eq(clm_binary_state_load(buf, len, &b, &err), CLM_ERR_FORMAT, "%s",
               err.message);
  cr_assert(strstr(err.message, "n_features"), "%s", err.message);
  free(buf);
  /* multiclass: K = 2^31 */
  memset(p, 0, sizeof p);
  put_le(p, (uint64_t)1 << 31, 4);
  buf = craft(CLM_STATE_MULTICLASS, p, 32 + 80 + 64, &len);
  clm_multiclass_state m;
  cr_assert_eq(clm_multiclass_state_load(buf, len, &m, &err), CLM_ERR_FORMAT,
               "%s", err.message);
  free(buf);
  /* calibration: 2^31 bins */
  memset(p, 0, sizeof p);
  put_le(p, 3, 4);
  put_le(p + 4, (uint64_t)1 << 31, 4);
  buf = craft(CLM_STATE_CALIBRATION, p, 48 + 128, &len);
  clm_calibration_state c;
  cr_assert_eq(clm_calibration_state_load(buf, len, &c, &err), CLM_ERR_FORMAT,
               "%s", err.message);
  free(buf);
  /* calibration: class-wise with K = 2^31 */
  put_le(p + 4, 1, 4);
  put_le(p, (uint64_t)1 << 31, 4);
  put_le(p + 8, 1, 4);
  buf = craft(CLM_STATE_CALIBRATION, p, 48 + 48, &len);
  cr_assert_eq(clm_calibration_state_load(buf, len, &c, &err), CLM_ERR_FORMAT,
               "%s", err.message);
  free(buf);
  /* ranking: k = 2^32 - 1 columns of 16 bits */
  memset(p, 0, sizeof p);
  put_le(p, 0xffffffffu, 4);
  put_le(p + 4, 16, 4);
  put_le(p + 8, CLM_DTYPE_F32, 4);
  buf = craft(CLM_STATE_RANKING, p, 24, &len);
  clm_ranking_state r;
  cr_assert_eq(clm_ranking_state_load(buf, len, &r, &err), CLM_ERR_FORMAT, "%s",
               err.message);
  free(buf);
  /* multilabel: L = 2^32 - 1 */
  memset(p, 0, sizeof p);
  put_le(p, 0xffffffffu, 4);
  buf = craft(CLM_STATE_MULTILABEL, p, 24 + 128 + 40, &len);
  clm_multilabel_state l;
  cr_assert_eq(clm_multilabel_state_load(buf, len, &l, &err), CLM_ERR_FORMAT,
               "%s", err.message);
  free(buf);
}

/* The header declares more payload than the buffer holds: truncation is
 * named with both sizes. */
Test(state_format, truncation_message) {
  size_t len;
  uint8_t *buf = empty_binary(&len);
  clm_binary_state s;
  clm_error err;
  cr_assert_eq(clm_binary_state_load(buf, len - 10, &s, &err), CLM_ERR_FORMAT);
  cr_assert(strstr(err.message, "truncated"), "%s", err.message);
  buf[20] ^= 1; /* corrupt, not truncate: the checksum catches it */
  cr_assert_eq(clm_binary_state_load(buf, len, &s, &err), CLM_ERR_FORMAT);
  clm_state_buffer_free(buf);
}

/* Payloads that pass the checksum but do not add up are refused. */
Test(state_format, inconsistent_counts_rejected) {
  clm_binary_state s0;
  cr_assert_eq(clm_binary_state_init(&s0, CLM_SCORES_LOGITS, 0.5, 0), CLM_OK);
  s0.n = 10;
  s0.tp = 4;
  s0.fp = 7; /* tp + fp > n */
  uint8_t *buf = NULL;
  size_t len;
  cr_assert_eq(clm_binary_state_save(&s0, &buf, &len, NULL), CLM_OK);
  clm_binary_state s;
  clm_error err;
  cr_assert_eq(clm_binary_state_load(buf, len, &s, &err), CLM_ERR_FORMAT);
  cr_assert(strstr(err.message, "tp + fp + tn + fn != n"), "%s", err.message);
  clm_state_buffer_free(buf);
  clm_binary_state_release(&s0);
}
