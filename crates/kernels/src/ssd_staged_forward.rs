//! SSD forward with the sequence staged in shared memory: the same sums as
//! [`crate::ssd_forward`]'s kernel in the same order (so the same bits), but every operand of
//! the sums comes from shared memory. The unstaged kernel reads C_t and B_s from device
//! memory (cached) in a chain of N dependent steps on the L(L+1)/2 units that own an entry of
//! S, while the cube's other units wait: at fig3's sizes (L = 8, N = 128) 36 of 256 units.
//! The fused conv + SSD forward (crate::conv_ssd_forward) runs the same two steps,
//! [`staged_scores`] and [`staged_y`], on the sequence it convolved on chip.
//!
//! With `keep` (comptime) the kernel also writes S [R, B, L, L] (without y's factor dt_s) to
//! device memory, for the staged backward: that backward otherwise forms every S[t, s] again,
//! a chain of N = 128 dependent steps on L(L+1)/2 = 36 of its 256 units while the others wait
//! at its second barrier (session 21's per-instruction samples: 17% of them there). The same
//! product as the backward's, so the same bits; 256 bytes a sequence, against its 10 KB of xbc.

use cubecl::prelude::*;

use crate::ssd_common::{c_dot_b_staged, decay_prefix, stage_rows};

/// One cube per sequence p = r * B + b (CUBE_POS_X). The cube first copies the sequence's
/// L rows of xbc (E + 2N each) into shared memory, then its units stride over the L x L
/// entries of S and over the L x E outputs y[t, j]. L, E and N are comptime: they size the
/// shared arrays. `scores` is written only with `keep` (else it may be any array).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ssd_forward_staged_kernel<F: Float>(
    xbc: &Array<F>,        // [R, B, L, E + 2N]
    dt: &Array<F>,         // [R, B, L]
    a: &Array<F>,          // [R]
    d: &Array<F>,          // [R]
    y: &mut Array<F>,      // [R, B, L, E]
    scores: &mut Array<F>, // [R, B, L, L]: S[t, s], zero above the diagonal (with `keep`)
    batch: u32,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
    #[comptime] units: usize, // CUBE_DIM_X
    #[comptime] keep: bool,
) {
    let p = CUBE_POS_X as usize;
    let r = p / (batch as usize);
    let row = comptime!(e + 2 * n);
    let mut seq = SharedMemory::<F>::new(comptime!(l * (e + 2 * n + 1))); // rows E + 2N + 1 apart
    let mut cs = SharedMemory::<F>::new(l); // cs_t = sum_{r<=t} A dt_r
    let mut dts = SharedMemory::<F>::new(l);
    let mut sm = SharedMemory::<F>::new(comptime!(l * l)); // S[t, s] dt_s, zero above the diagonal
    stage_rows(xbc, p * comptime!(l * (e + 2 * n)), row, &mut seq, l, row, units);
    decay_prefix(dt, a[r], p, &mut cs, &mut dts, l);
    sync_cube();
    staged_scores(&seq, &cs, &dts, &mut sm, scores, p, l, e, n, keep);
    sync_cube();
    staged_y(&seq, &sm, d[r], y, p, l, e, n);
}

/// S[t, s] = (C_t . B_s) exp(cs_t - cs_s) on and below the diagonal, 0 above, of a staged
/// sequence `seq` (rows E + 2N + 1 apart): the product that [`staged_scores`] multiplies by
/// dt_s and that the staged backward forms (or reads, where the forward kept it).
#[cube]
pub(crate) fn score<F: Float>(
    seq: &SharedMemory<F>,
    cs: &SharedMemory<F>,
    t: usize,
    s: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) -> F {
    let mut v = F::new(0.0);
    if s <= t {
        let g = c_dot_b_staged(seq, t, s, e, n);
        // cs_t - cs_s <= 0 on and below the diagonal (A < 0, dt > 0): exp cannot overflow
        v = g * F::exp(cs[t] - cs[s]);
    }
    v
}

/// S[t, s] dt_s, with S[t, s] = (C_t . B_s) exp(cs_t - cs_s), below and on the diagonal, 0
/// above, of a staged sequence `seq` (rows E + 2N + 1 apart), the cube's units striding over
/// the L x L entries. The factor dt_s is y's (formed once here, where each of the L E outputs
/// formed it again: the same product, so the same bits). With `keep`, S itself (before dt_s)
/// also goes to sequence p's L x L entries of `scores` [R, B, L, L], for the backward;
/// without, `scores` is never written (any array will do). The caller syncs the cube before
/// reading sm.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn staged_scores<F: Float>(
    seq: &SharedMemory<F>,
    cs: &SharedMemory<F>,
    dts: &SharedMemory<F>,
    sm: &mut SharedMemory<F>,
    scores: &mut Array<F>,
    p: usize,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
    #[comptime] keep: bool,
) {
    let mut i = UNIT_POS_X as usize;
    while i < comptime!(l * l) {
        let s = i % l;
        let w = score(seq, cs, i / l, s, e, n);
        if comptime!(keep) {
            scores[p * comptime!(l * l) + i] = w;
        }
        // (C_t . B_s) exp(cs_t - cs_s), then dt_s: the products in the order they always had
        sm[i] = w * dts[s];
        i += CUBE_DIM_X as usize;
    }
}

/// y_t[j] = D x_t[j] + sum_{s<=t} (S[t, s] dt_s) x_s[j] of sequence p into y [R, B, L, E]:
/// unit q owns y[t, j] (q = t E + j), so consecutive units write consecutive elements.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn staged_y<F: Float>(
    seq: &SharedMemory<F>,
    sm: &SharedMemory<F>,
    dv: F,
    y: &mut Array<F>,
    p: usize,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) {
    let pitch = comptime!(e + 2 * n + 1);
    let mut q = UNIT_POS_X as usize;
    while q < comptime!(l * e) {
        let t = q / e;
        let j = q % e;
        let mut acc = dv * seq[t * pitch + j];
        // not unrolled over all L (as the backward's sums are): the sum starts from the product
        // D x_t, and unrolled, CUDA's compiler may contract it with the first term's product
        // instead of that term's own (other bits: call 4's base-check, session 20)
        for s in 0..t + 1 {
            acc += sm[t * l + s] * seq[s * pitch + j];
        }
        y[p * comptime!(l * e) + q] = acc;
        q += CUBE_DIM_X as usize;
    }
}
