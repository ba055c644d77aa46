/* Shared definitions for the clmetrics kernels (OpenCL C 1.2).
 * Every knob is a macro with a default so each file compiles alone; the host
 * passes -D values chosen from the device. */
#ifndef CLM_VW
#define CLM_VW 8 /* floats per vector: 1, 2, 4, 8 or 16 */
#endif
#ifndef CLM_ITEMS
#define CLM_ITEMS 16 /* vectors per work-item per tile */
#endif
#ifndef CLM_STRIDED
#define CLM_STRIDED 0 /* 1: work-items interleave (GPU coalescing) */
#endif

#define CLM_CAT_(a, b) a##b
#define CLM_CAT(a, b) CLM_CAT_(a, b)

#if CLM_VW == 1
typedef float floatv;
typedef int intv;
typedef uchar ucharv;
#define VLOADF(p) (*(p))
#define VLOADU(p) (*(p))
#define VLOADI(p) (*(p))
#define VSTOREF(v, p) (*(p) = (v))
#define VSTOREI(v, p) (*(p) = (v))
#define TO_INTV(x) ((int)(x))
#define TO_FLOATV(x) ((float)(x))
#define CLM_TRUE 1 /* scalar relational ops yield 1 */
#define ANYV(m) ((m) != 0)
#else
typedef CLM_CAT(float, CLM_VW) floatv;
typedef CLM_CAT(int, CLM_VW) intv;
typedef CLM_CAT(uchar, CLM_VW) ucharv;
#define VLOADF(p) CLM_CAT(vload, CLM_VW)(0, p)
#define VLOADU(p) CLM_CAT(vload, CLM_VW)(0, p)
#define VLOADI(p) CLM_CAT(vload, CLM_VW)(0, p)
#define VSTOREF(v, p) CLM_CAT(vstore, CLM_VW)(v, 0, p)
#define VSTOREI(v, p) CLM_CAT(vstore, CLM_VW)(v, 0, p)
#define TO_INTV(x) CLM_CAT(convert_int, CLM_VW)(x)
#define TO_FLOATV(x) CLM_CAT(convert_float, CLM_VW)(x)
#define CLM_TRUE (-1) /* vector relational ops yield -1 */
#define ANYV(m) any(m)
#endif

/* Horizontal sums in a fixed order, so results are reproducible. */
inline float clm_hsum_f(floatv v) {
#if CLM_VW == 1
  return v;
#elif CLM_VW == 2
  return v.x + v.y;
#elif CLM_VW == 4
  float2 b = v.lo + v.hi;
  return b.x + b.y;
#elif CLM_VW == 8
  float4 a = v.lo + v.hi;
  float2 b = a.lo + a.hi;
  return b.x + b.y;
#else
  float8 c = v.lo + v.hi;
  float4 a = c.lo + c.hi;
  float2 b = a.lo + a.hi;
  return b.x + b.y;
#endif
}

inline uint clm_hsum_i(intv v) {
#if CLM_VW == 1
  return (uint)v;
#elif CLM_VW == 2
  return (uint)(v.x + v.y);
#elif CLM_VW == 4
  int2 b = v.lo + v.hi;
  return (uint)(b.x + b.y);
#elif CLM_VW == 8
  int4 a = v.lo + v.hi;
  int2 b = a.lo + a.hi;
  return (uint)(b.x + b.y);
#else
  int8 c = v.lo + v.hi;
  int4 a = c.lo + c.hi;
  int2 b = a.lo + a.hi;
  return (uint)(b.x + b.y);
#endif
}

/* ---- Vector math for the binary kernel --------------------------------
 * PoCL 3.1's exp/log1p on vectors cost about as much as the rest of the
 * pass together; these cover only the domains the kernel needs, stay
 * within ~2.5 ulp of the double reference and keep IEEE behaviour (no
 * -cl-fast-relaxed-math): denormal results are produced, not flushed, and
 * arguments beyond the float range give exact 0. The accuracy is checked
 * by tests/test_math.c over a dense sweep of logits. */
#if CLM_VW == 1
#define CLM_AS_INTV(x) as_int(x)
#define CLM_AS_FLOATV(x) as_float(x)
#else
#define CLM_AS_INTV(x) CLM_CAT(as_int, CLM_VW)(x)
#define CLM_AS_FLOATV(x) CLM_CAT(as_float, CLM_VW)(x)
#endif
#ifdef FP_FAST_FMAF
#define CLM_FMA(a, b, c) fma(a, b, c)
#else
#define CLM_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* exp(x) for x <= 0 (or NaN, which gives 0): <= 1 ulp, exact 1 at +-0,
 * gradual underflow below -87.3, exact 0 below -103.98. Cody-Waite
 * reduction x = n ln2 + r with a 9-bit ln2_hi (n * ln2_hi is exact even
 * without FMA), Cephes' degree-6 polynomial for exp(r) on |r| <= ln2/2, and
 * the scale 2^n applied as 2^(n+64) * 2^-64 so that a denormal result is
 * rounded only once. */
inline floatv clm_exp_nonpos(floatv x) {
  x = fmax(x, -110.0f); /* exp(-110) rounds to 0; NaN -> -110 */
  const floatv t = CLM_FMA(x, 1.44269504088896341f, 12582912.0f);
  const floatv n = t - 12582912.0f;            /* round(x / ln2) */
  const intv ni = CLM_AS_INTV(t) - 0x4B400000; /* same, as an integer */
  floatv r = CLM_FMA(n, -0.693359375f, x);
  r = CLM_FMA(n, 2.12194440e-4f, r);
  floatv p = CLM_FMA(1.9875691500e-4f, r, 1.3981999507e-3f);
  p = CLM_FMA(p, r, 8.3334519073e-3f);
  p = CLM_FMA(p, r, 4.1665795894e-2f);
  p = CLM_FMA(p, r, 1.6666665459e-1f);
  p = CLM_FMA(p, r, 5.0000001201e-1f);
  p = CLM_FMA(p, r * r, r) + 1.0f;
  /* n in [-159, 0]: 2^(n+64) is a normal float, p * 2^(n+64) is exact. */
  const floatv scale = CLM_AS_FLOATV((ni + (127 + 64)) << 23);
  return (p * scale) * 0x1p-64f;
}

/* log1p(x) for x in [0, 1]: <= 2 ulp, exact for tiny and denormal x
 * (returns x). x * (1 + x * Q(x)) with Q a degree-8 relative-minimax fit of
 * (log1p(x)/x - 1)/x (Remez, float coefficients). */
inline floatv clm_log1p_unit(floatv x) {
  floatv q = CLM_FMA(-0.00324402517f, x, 0.0198514623f);
  q = CLM_FMA(q, x, -0.0569595342f);
  q = CLM_FMA(q, x, 0.106036549f);
  q = CLM_FMA(q, x, -0.153055926f);
  q = CLM_FMA(q, x, 0.196759393f);
  q = CLM_FMA(q, x, -0.249541337f);
  q = CLM_FMA(q, x, 0.333299624f);
  q = CLM_FMA(q, x, -0.499999024f);
  return CLM_FMA(x * q, x, x);
}
