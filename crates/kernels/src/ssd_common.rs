//! The parts of the SSD kernels that forward and backward share.

use cubecl::prelude::*;

/// dt_t and cs_t = sum_{r<=t} A dt_r of sequence p into shared memory (unit 0 alone: L is 8,
/// so a serial prefix sum costs less than a barrier-separated parallel one). The caller
/// syncs the cube before reading them.
#[cube]
pub(crate) fn decay_prefix<F: Float>(
    dt: &Array<F>,
    av: F,
    p: usize,
    cs: &mut SharedMemory<F>,
    dts: &mut SharedMemory<F>,
    #[comptime] l: usize,
) {
    if UNIT_POS_X == 0 {
        let mut acc = F::new(0.0);
        for t in 0..l {
            let v = dt[p * l + t];
            dts[t] = v;
            acc += av * v;
            cs[t] = acc;
        }
    }
}

/// C_t . B_s of sequence p (rows of N in [R, B, L, N]).
#[cube]
pub(crate) fn c_dot_b<F: Float>(
    b: &Array<F>,
    c: &Array<F>,
    p: usize,
    t: usize,
    s: usize,
    n: usize,
    #[comptime] l: usize,
) -> F {
    let mut g = F::new(0.0);
    for k in 0..n {
        g += c[(p * l + t) * n + k] * b[(p * l + s) * n + k];
    }
    g
}
