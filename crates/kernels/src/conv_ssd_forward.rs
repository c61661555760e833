//! The fused conv + SSD forward kernel: one cube per sequence convolves the sequence's rows
//! of the conv's input into shared memory (the SSD's input; x read from device memory, as the
//! conv kernel reads it) and runs the staged SSD forward on that, so the post-conv tensor [R, B, L, E + 2N] never goes through device
//! memory. The same sums in the same order as the conv kernel followed by the staged SSD
//! forward, so the same bits.

use cubecl::prelude::*;

use crate::conv_silu::{load_column, load_taps, pre_activations, silu};
use crate::ssd_common::decay_prefix;
use crate::ssd_staged_forward::{staged_scores, staged_y};

/// One cube per sequence p = r * B + b (CUBE_POS_X). L, E, N and the taps K are comptime:
/// they size the shared arrays (the sequence's L rows of E + 2N + 1, and S).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_ssd_forward_kernel<F: Float>(
    x: &Array<F>,     // [R, B, L, E + 2N]: the conv's input, token rows `row` apart
    w: &Array<F>,     // [R, E + 2N, K]
    bias: &Array<F>,  // [R, E + 2N]
    dt: &Array<F>,    // [R, B, L]
    a: &Array<F>,     // [R]
    d: &Array<F>,     // [R]
    y: &mut Array<F>, // [R, B, L, E]
    batch: u32,
    row: u32,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
    #[comptime] k: usize,
) {
    let p = CUBE_POS_X as usize;
    let r = p / (batch as usize);
    let ch = comptime!(e + 2 * n);
    let mut seq = SharedMemory::<F>::new(comptime!(l * (e + 2 * n + 1))); // SiLU(conv(x))
    let mut cs = SharedMemory::<F>::new(l);
    let mut dts = SharedMemory::<F>::new(l);
    let mut sm = SharedMemory::<F>::new(comptime!(l * l));
    decay_prefix(dt, a[r], p, &mut cs, &mut dts, l);
    sync_cube();
    post_conv(x, row as usize, w, bias, p, r, &mut seq, l, ch, k);
    sync_cube();
    // nothing kept for a backward (the fused backward forms S again): y stands in for S's array
    staged_scores(&seq, &cs, &dts, &mut sm, y, p, l, e, n, false);
    sync_cube();
    staged_y(&seq, &sm, d[r], y, p, l, e, n);
}

/// seq[t, c] = SiLU(conv(x)[t, c] + bias[c]) of sequence p (x's token rows `row` apart; seq's
/// rows C + 1 apart): a unit per channel, its L tokens in registers, as the conv kernel. The
/// caller syncs the cube before reading seq.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn post_conv<F: Float>(
    x: &Array<F>,
    row: usize,
    w: &Array<F>,
    bias: &Array<F>,
    p: usize,
    r: usize,
    seq: &mut SharedMemory<F>,
    #[comptime] l: usize,
    #[comptime] ch: usize,
    #[comptime] k: usize,
) {
    let pitch = comptime!(ch + 1);
    let mut c = UNIT_POS_X as usize;
    while c < ch {
        let taps = load_taps(w, bias, r, c, ch, k);
        let pre = pre_activations(&taps, &load_column(x, p, c, row, l), l, k);
        #[unroll]
        for t in 0..l {
            seq[t * pitch + c] = silu::<F>(pre[t]);
        }
        c += CUBE_DIM_X as usize;
    }
}
