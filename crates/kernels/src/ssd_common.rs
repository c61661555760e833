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

/// C_t . B_s of sequence p, from its rows of xbc [R, B, L, E + 2N].
#[cube]
pub(crate) fn c_dot_b<F: Float>(
    xbc: &Array<F>,
    p: usize,
    t: usize,
    s: usize,
    e: usize,
    n: usize,
    #[comptime] l: usize,
) -> F {
    let row = e + 2 * n;
    let mut g = F::new(0.0);
    for k in 0..n {
        g += xbc[(p * l + t) * row + e + n + k] * xbc[(p * l + s) * row + e + k];
    }
    g
}
