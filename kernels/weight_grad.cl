/* Output-layer weight gradient: per work-group partial sums over a block of
 * `rows` rows of g_i * x_ij for every column j. Each column's partial is a
 * sequential sum over the rows, so the result does not depend on the
 * work-group size. No barriers, no local memory. */
__kernel void clm_weight_grad(__global const float *restrict g,
                              __global const float *restrict x, const uint n,
                              const uint d, const uint rows,
                              __global float *restrict partials) {
  const uint lid = get_local_id(0);
  const uint ls = get_local_size(0);
  const uint grp = get_group_id(0);
  const uint r0 = grp * rows;
  const uint r1 = min(r0 + rows, n);
  for (uint j = lid; j < d; j += ls) {
    float acc = 0.0f;
    for (uint r = r0; r < r1; ++r)
      acc += g[r] * x[(ulong)r * d + j];
    partials[(ulong)grp * d + j] = acc;
  }
}
