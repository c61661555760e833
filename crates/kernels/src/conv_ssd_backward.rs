//! The fused conv + SSD backward kernel: per sequence it recomputes the conv on chip (as the
//! forward), runs the staged SSD backward into a shared gradient of the SSD's input, and takes
//! that through SiLU' and the conv's transpose, writing only the conv input's gradient, the
//! per-sequence ddt, dA and dD of the SSD, and per-group partial sums of the conv's dw and
//! dbias. Formulas: ssd_backward.rs and conv_silu.rs. The same sums in the same order as the
//! staged SSD backward followed by the conv backward (with the conv's sequence groups), so
//! the same bits.

use cubecl::prelude::*;

use crate::conv_silu::{column_backward, load_column, load_taps};
use crate::conv_ssd_forward::post_conv;
use crate::ssd_common::{decay_prefix, decay_scan, decay_terms, stage_rows};
use crate::ssd_staged_backward::{staged_db, staged_dc, staged_dx, staged_wsxy};

/// One cube per (replica r, sequence group g) = CUBE_POS_X, walking the group's B / G
/// sequences in order; its units own the channels c = UNIT_POS_X + i CUBE_DIM_X in the conv's
/// steps, and add into their channels' partial dw and dbias in shared memory.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_ssd_backward_kernel<F: Float>(
    x: &Array<F>,           // [R, B, L, C], C = E + 2N, token rows `row` apart
    w: &Array<F>,           // [R, C, K]
    bias: &Array<F>,        // [R, C]
    dt: &Array<F>,          // [R, B, L]
    a: &Array<F>,           // [R]
    d: &Array<F>,           // [R]
    dy: &Array<F>,          // [R, B, L, E]
    dx: &mut Array<F>,      // [R, B, L, C], contiguous
    ddt: &mut Array<F>,     // [R, B, L]
    da_part: &mut Array<F>, // [R * B]
    dd_part: &mut Array<F>, // [R * B]
    dw_part: &mut Array<F>, // [R, G, C, K]
    db_part: &mut Array<F>, // [R, G, C]
    batch: u32,
    row: u32,
    groups: u32,
    #[comptime] l: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
    #[comptime] k: usize,
    #[comptime] units: usize, // CUBE_DIM_X
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let grp = rg % gs;
    let bsz = batch as usize;
    let per = bsz / gs;
    let xr = row as usize;
    let step = CUBE_DIM_X as usize;
    let ch = comptime!(e + 2 * n);
    let pitch = comptime!(e + 2 * n + 1);
    let av = a[r];
    let dv = d[r];
    let mut seq = SharedMemory::<F>::new(comptime!(l * (e + 2 * n + 1))); // SiLU(conv(x))
    let mut dseq = SharedMemory::<F>::new(comptime!(l * (e + 2 * n + 1))); // its gradient
    let mut dys = SharedMemory::<F>::new(comptime!(l * (e + 1)));
    let mut cs = SharedMemory::<F>::new(l);
    let mut dts = SharedMemory::<F>::new(l);
    let mut pm = SharedMemory::<F>::new(comptime!(l * l)); // P[t, s] = dt_s XY[t, s] W[t, s]
    let mut sm = SharedMemory::<F>::new(comptime!(l * l)); // S[t, s]
    let mut xy = SharedMemory::<F>::new(comptime!(l * l)); // XY[t, s]
    let mut dcs = SharedMemory::<F>::new(l); // the decay's terms (decay_terms)
    let mut via = SharedMemory::<F>::new(l);
    let mut dw = SharedMemory::<F>::new(comptime!((e + 2 * n) * k)); // partial dw[c, k]
    let mut db = SharedMemory::<F>::new(comptime!(e + 2 * n)); // partial dbias[c]
    let mut c = UNIT_POS_X as usize;
    while c < ch {
        db[c] = F::new(0.0);
        #[unroll]
        for kk in 0..k {
            dw[c * k + kk] = F::new(0.0);
        }
        c += step;
    }
    for b in grp * per..(grp + 1) * per {
        let p = r * bsz + b;
        stage_rows(dy, p * comptime!(l * e), e, &mut dys, l, e, units);
        decay_prefix(dt, av, p, &mut cs, &mut dts, l);
        sync_cube();
        post_conv(x, xr, w, bias, p, r, &mut seq, l, ch, k);
        sync_cube();
        staged_wsxy(&seq, &dys, &cs, &dts, &mut pm, &mut sm, &mut xy, l, e, n);
        sync_cube();
        decay_terms(&dts, &xy, &sm, &mut dcs, &mut via, l);
        // the SSD input's gradient into dseq: dx | dB | dC, as the staged backward writes dxbc
        let mut q = UNIT_POS_X as usize;
        while q < comptime!(l * e) {
            let s = q / e;
            let j = q % e;
            dseq[s * pitch + j] = staged_dx(&sm, &dys, &dts, dv, s, j, l, e);
            q += step;
        }
        let mut q = UNIT_POS_X as usize;
        while q < comptime!(l * n) {
            let t = q / n;
            let kn = q % n;
            dseq[t * pitch + e + n + kn] = staged_dc(&seq, &pm, t, kn, l, e, n);
            dseq[t * pitch + e + kn] = staged_db(&seq, &pm, t, kn, l, e, n);
            q += step;
        }
        sync_cube();
        if UNIT_POS_X == 0 {
            decay_scan(&dts, &xy, &dcs, &via, av, p, ddt, da_part, dd_part, l);
        }
        // the conv's backward, a unit per channel in registers (as the conv kernel), adding
        // into the channel's partial dw and dbias
        let mut c = UNIT_POS_X as usize;
        while c < ch {
            let taps = load_taps(w, bias, r, c, ch, k);
            let mut g = Array::<F>::new(l);
            #[unroll]
            for t in 0..l {
                g[t] = dseq[t * pitch + c];
            }
            let mut dwc = Array::<F>::new(k);
            #[unroll]
            for kk in 0..k {
                dwc[kk] = dw[c * k + kk];
            }
            let mut dbc = db[c];
            let dxc = column_backward(&taps, &load_column(x, p, c, xr, l), &g, &mut dwc, &mut dbc, l, k);
            #[unroll]
            for kk in 0..k {
                dw[c * k + kk] = dwc[kk];
            }
            db[c] = dbc;
            #[unroll]
            for t in 0..l {
                dx[(p * l + t) * ch + c] = dxc[t];
            }
            c += step;
        }
        sync_cube(); // the next sequence overwrites the shared arrays
    }
    let part = (r * gs + grp) * ch;
    let mut c = UNIT_POS_X as usize;
    while c < ch {
        db_part[part + c] = db[c];
        #[unroll]
        for kk in 0..k {
            dw_part[(part + c) * k + kk] = dw[c * k + kk];
        }
        c += step;
    }
}
