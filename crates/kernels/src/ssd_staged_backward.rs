//! SSD backward with the sequence and its upstream gradient staged in shared memory: the
//! formulas and summation orders of [`crate::ssd_backward`]'s kernel (so the same bits), with
//! every operand of the sums read from shared memory, and S, XY and P computed by different
//! units (each entry's dot product is still one unit's chain: N steps for S, E for XY).
//! dC and dB take the factor P[t, s] = dt_s XY[t, s] W[t, s] of their sums from a shared
//! L x L matrix, formed once a sequence by the unit that forms XY[t, s], where each of their
//! L N elements formed it again (two multiplies and two more shared loads a term): the same
//! products in the same order, so the same bits. The kernel issued instructions 79% of its
//! cycles at 32% of the memory bandwidth (ncu, depth 4, R = 36, session 20 call 1). With
//! that, the staging's loads in flight together and the unrolled sums below, the kernel went
//! from 1.07 to 0.76 ms a layer there (calls 1 and 4, H200; the same bits in base-check).
//! The fused conv + SSD backward (crate::conv_ssd_backward) runs the same steps
//! ([`staged_wsxy`], then [`staged_dx`], [`staged_dc`] and [`staged_db`] for each gradient
//! element) on the sequence it convolved on chip.
//!
//! With `kept` (comptime) the kernel reads S from the array the staged forward kept
//! (crate::ssd_staged_forward, `keep`) instead of forming it: its second phase is then XY and
//! P alone, whose chains are E = 64 steps long, where S's are N = 128, and dx (which needs S
//! and dy only) joins that phase, where it came after the next barrier.

use cubecl::prelude::*;

use crate::ssd_common::{decay_prefix, decay_scan, decay_terms, stage_rows};
use crate::ssd_staged_forward::score;

/// One cube per sequence p = r * B + b (CUBE_POS_X); see ssd_backward.rs for the formulas.
/// L, E and N are comptime: they size the shared arrays. `scores` is read only with `kept`
/// (else it may be any array).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ssd_backward_staged_kernel<F: Float>(
    xbc: &Array<F>,         // [R, B, L, E + 2N]
    dt: &Array<F>,          // [R, B, L]
    a: &Array<F>,           // [R]
    d: &Array<F>,           // [R]
    scores: &Array<F>,      // [R, B, L, L]: S, as the staged forward kept it (with `kept`)
    dy: &Array<F>,          // [R, B, L, E]
    dxbc: &mut Array<F>,    // [R, B, L, E + 2N]: dx | dB | dC
    ddt: &mut Array<F>,     // [R, B, L]
    da_part: &mut Array<F>, // [R * B]
    dd_part: &mut Array<F>, // [R * B]
    batch: u32,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
    #[comptime] units: usize, // CUBE_DIM_X
    #[comptime] kept: bool,
) {
    let p = CUBE_POS_X as usize;
    let r = p / (batch as usize);
    let step = CUBE_DIM_X as usize;
    let row = comptime!(e + 2 * n);
    let av = a[r];
    let mut seq = SharedMemory::<F>::new(comptime!(l * (e + 2 * n + 1)));
    let mut dys = SharedMemory::<F>::new(comptime!(l * (e + 1)));
    let mut cs = SharedMemory::<F>::new(l);
    let mut dts = SharedMemory::<F>::new(l);
    let mut pm = SharedMemory::<F>::new(comptime!(l * l)); // P[t, s] = dt_s XY[t, s] W[t, s]
    let mut sm = SharedMemory::<F>::new(comptime!(l * l)); // S[t, s]
    let mut xy = SharedMemory::<F>::new(comptime!(l * l)); // XY[t, s]
    let mut dcs = SharedMemory::<F>::new(l); // dcs_k, unit k's
    let mut via = SharedMemory::<F>::new(l); // ddt_k's term through u, unit k's
    stage_rows(xbc, p * comptime!(l * (e + 2 * n)), row, &mut seq, l, row, units);
    stage_rows(dy, p * comptime!(l * e), e, &mut dys, l, e, units);
    decay_prefix(dt, av, p, &mut cs, &mut dts, l);
    if comptime!(kept) {
        let mut i = UNIT_POS_X as usize;
        while i < comptime!(l * l) {
            sm[i] = scores[p * comptime!(l * l) + i];
            i += step;
        }
    }
    sync_cube();
    let dv = d[r];
    if comptime!(kept) {
        let mut i = UNIT_POS_X as usize;
        while i < comptime!(l * l) {
            staged_xyp(&seq, &dys, &cs, &dts, &mut pm, &mut xy, i, l, e, n);
            i += step;
        }
        // dx needs only S (kept) and dy: in this phase, the units without an XY chain (all
        // but L^2 of them) form it instead of waiting at the barrier below for those with one
        write_dx(&sm, &dys, &dts, dv, dxbc, p, l, e, n);
    } else {
        staged_wsxy(&seq, &dys, &cs, &dts, &mut pm, &mut sm, &mut xy, l, e, n);
    }
    sync_cube();
    // the decay's terms, a unit a position; unit 0 scans them after the barrier below
    decay_terms(&dts, &xy, &sm, &mut dcs, &mut via, l);
    if comptime!(!kept) {
        write_dx(&sm, &dys, &dts, dv, dxbc, p, l, e, n);
    }
    // unit q handles dC[t, k] and dB[s = t, k]
    let mut q = UNIT_POS_X as usize;
    while q < comptime!(l * n) {
        let t = q / n;
        let k = q % n;
        dxbc[(p * l + t) * row + e + n + k] = staged_dc(&seq, &pm, t, k, l, e, n);
        dxbc[(p * l + t) * row + e + k] = staged_db(&seq, &pm, t, k, l, e, n);
        q += step;
    }
    sync_cube();
    if UNIT_POS_X == 0 {
        decay_scan(&dts, &xy, &dcs, &via, av, p, ddt, da_part, dd_part, l);
    }
}

/// dx of sequence p into its rows of dxbc: unit q owns dx[s, j] (q = s E + j).
#[cube]
#[allow(clippy::too_many_arguments)]
fn write_dx<F: Float>(
    sm: &SharedMemory<F>,
    dys: &SharedMemory<F>,
    dts: &SharedMemory<F>,
    dv: F,
    dxbc: &mut Array<F>,
    p: usize,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) {
    let row = comptime!(e + 2 * n);
    let mut q = UNIT_POS_X as usize;
    while q < comptime!(l * e) {
        let s = q / e;
        let j = q % e;
        dxbc[(p * l + s) * row + j] = staged_dx(sm, dys, dts, dv, s, j, l, e);
        q += CUBE_DIM_X as usize;
    }
}

/// S[t, s] = (C_t . B_s) W[t, s], XY[t, s] = dy_t . x_s and P[t, s] = dt_s XY[t, s] W[t, s],
/// with W[t, s] = exp(cs_t - cs_s), on and below the diagonal (0 above) of a staged sequence
/// and its staged dy (rows E + 1 apart): items 0..L^2 are S at (t, s), items L^2..2L^2 XY and
/// P, the cube's units striding over them. The caller syncs the cube before reading.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn staged_wsxy<F: Float>(
    seq: &SharedMemory<F>,
    dys: &SharedMemory<F>,
    cs: &SharedMemory<F>,
    dts: &SharedMemory<F>,
    pm: &mut SharedMemory<F>,
    sm: &mut SharedMemory<F>,
    xy: &mut SharedMemory<F>,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) {
    let mut i = UNIT_POS_X as usize;
    while i < comptime!(2 * l * l) {
        let k = i % comptime!(l * l);
        if i < comptime!(l * l) {
            sm[k] = score(seq, cs, k / l, k % l, e, n);
        } else {
            staged_xyp(seq, dys, cs, dts, pm, xy, k, l, e, n);
        }
        i += CUBE_DIM_X as usize;
    }
}

/// XY[t, s] and P[t, s] of item k = t L + s (zero above the diagonal), as [`staged_wsxy`].
#[cube]
#[allow(clippy::too_many_arguments)]
fn staged_xyp<F: Float>(
    seq: &SharedMemory<F>,
    dys: &SharedMemory<F>,
    cs: &SharedMemory<F>,
    dts: &SharedMemory<F>,
    pm: &mut SharedMemory<F>,
    xy: &mut SharedMemory<F>,
    k: usize,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) {
    let pitch = comptime!(e + 2 * n + 1);
    let dpitch = comptime!(e + 1);
    let t = k / l;
    let s = k % l;
    let mut xyv = F::new(0.0);
    let mut pv = F::new(0.0);
    if s <= t {
        // unrolled over E (comptime), as C_t . B_s (ssd_common::c_dot_b_staged)
        #[unroll]
        for j in 0..e {
            xyv += dys[t * dpitch + j] * seq[s * pitch + j];
        }
        // the factor of dC's and dB's terms, in their old order: (dt_s XY) W
        pv = dts[s] * xyv * F::exp(cs[t] - cs[s]);
    }
    xy[k] = xyv;
    pm[k] = pv;
}

/// dx[s, j] = dt_s sum_{t>=s} S[t, s] dy_t[j] + D dy_s[j]. This and [`staged_dc`] and
/// [`staged_db`] run their sums over all L positions, unrolled, where S and P are zero off
/// their triangle: the zero terms come before the first or after the last of the triangle's,
/// so the sums keep their order and bits (a zero's sign aside), in fewer instructions than a
/// loop whose bounds depend on the position (the kernel issued instructions 83% of its
/// cycles, ncu, session 20 call 3).
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn staged_dx<F: Float>(
    sm: &SharedMemory<F>,
    dys: &SharedMemory<F>,
    dts: &SharedMemory<F>,
    dv: F,
    s: usize,
    j: usize,
    #[comptime] l: usize,
    #[comptime] e: usize,
) -> F {
    let dpitch = comptime!(e + 1);
    let mut du = F::new(0.0);
    #[unroll]
    for t in 0..l {
        du += sm[t * l + s] * dys[t * dpitch + j];
    }
    dts[s] * du + dv * dys[s * dpitch + j]
}

/// dC[t, k] = sum_{s<=t} P[t, s] B_s[k], P[t, s] = dt_s XY[t, s] W[t, s].
#[cube]
pub(crate) fn staged_dc<F: Float>(
    seq: &SharedMemory<F>,
    pm: &SharedMemory<F>,
    t: usize,
    k: usize,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) -> F {
    let pitch = comptime!(e + 2 * n + 1);
    let mut gc = F::new(0.0);
    #[unroll]
    for s in 0..l {
        gc += pm[t * l + s] * seq[s * pitch + e + k];
    }
    gc
}

/// dB[s, k] = sum_{t>=s} P[t, s] C_t[k] (here at s = `t`).
#[cube]
pub(crate) fn staged_db<F: Float>(
    seq: &SharedMemory<F>,
    pm: &SharedMemory<F>,
    t: usize,
    k: usize,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) -> F {
    let pitch = comptime!(e + 2 * n + 1);
    let mut gb = F::new(0.0);
    #[unroll]
    for t2 in 0..l {
        gb += pm[t2 * l + t] * seq[t2 * pitch + e + n + k];
    }
    gb
}
