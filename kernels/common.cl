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
