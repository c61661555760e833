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

/// Copies `rows` rows of `width` elements, `src_row` apart in `src` from `start` (`width` for
/// contiguous rows; more for CUDA's pitched rows), into `dst` with rows `width + 1` apart: the
/// cube's units read consecutive elements (coalesced), and the pad puts the same column of
/// different rows in different shared-memory banks, where the kernels' (t, s) units read C_t
/// and B_s at one k. `units` is the cube's size (comptime, so that each unit's share is
/// known): each unit loads all of its elements into registers before it stores any, so that
/// they are in flight together. A loop that waited for each load before issuing the next was
/// the staged SSD backward's largest stall (40% of its stall cycles, ncu at depth 4, R = 36,
/// session 20 call 2); loading at once took the backward from 1.08 to 0.90 ms a layer and the
/// forward from 0.51 to 0.43 (call 3).
///
/// Unit u's j-th element is i = u + j units, at row i / width and column i % width. One
/// division a unit gives the first; each next one moves `units` elements on (a whole number
/// of rows and a remainder of columns, both comptime). Why not a division an element: the
/// staging was then most of the staged SSD forward's instructions before its first barrier
/// (2239 of 4941 a cube with the prologue, about 28 an element; ncu's per-instruction counts,
/// depth 4, R = 36, session 21 call 1); without it 1092 of 3660 (call 3). The caller syncs
/// the cube before reading.
#[cube]
#[allow(clippy::if_same_then_else)] // the first test is comptime (no test in the kernel), the second the kernel's
pub(crate) fn stage_rows<F: Float>(
    src: &Array<F>,
    start: usize,
    src_row: usize,
    dst: &mut SharedMemory<F>,
    #[comptime] rows: usize,
    #[comptime] width: usize,
    #[comptime] units: usize,
) {
    let per = comptime!((rows * width).div_ceil(units));
    // every unit's every element lies inside the rows where the units divide them (fig3's
    // 8 x 320 and 8 x 64 by 256): no test then, since a predicated load or store made CUDA's
    // compiler form the array's address and the shared window's base anew under each predicate
    // (ncu's per-instruction counts, session 21 call 2: still about 20 instructions an element)
    let exact = comptime!((rows * width).is_multiple_of(units));
    let (row_step, col_step) = comptime!((units / width, units % width));
    let u = UNIT_POS_X as usize;
    let (row0, col0) = (u / width, u % width);
    let mut vals = Array::<F>::new(per);
    let mut row = row0;
    let mut col = col0;
    let mut at = start + row0 * src_row + col0;
    #[unroll]
    for j in 0..per {
        if comptime!(exact) {
            vals[j] = src[at];
        } else if row < rows {
            vals[j] = src[at];
        }
        row += row_step;
        col += col_step;
        at += row_step * src_row + col_step;
        if col >= width {
            row += 1;
            col -= width;
            at += src_row - width;
        }
    }
    let pitch = comptime!(width + 1);
    let mut row = row0;
    let mut col = col0;
    let mut to = row0 * pitch + col0;
    #[unroll]
    for j in 0..per {
        if comptime!(exact) {
            dst[to] = vals[j];
        } else if row < rows {
            dst[to] = vals[j];
        }
        row += row_step;
        col += col_step;
        to += comptime!(row_step * pitch + col_step);
        if col >= width {
            row += 1;
            col -= width;
            to += 1;
        }
    }
}

/// C_t . B_s from a sequence staged by [`stage_rows`] (rows E + 2N + 1 apart), summed over k
/// in the same order as [`c_dot_b`], so the staged kernels give the same bits as the others.
/// Unrolled over the N terms (comptime). CUDA's compiler unrolled the loop by 16 on its own
/// but formed B_s's shared address anew for each term, about 2.5 instructions a term beside
/// the two loads and the multiply-add (ncu's per-instruction counts, session 21 call 1); the
/// full unroll did not remove that (call 2): the generated CUDA indexes shared memory with
/// 32-bit unsigned sums whose wrap-around the compiler keeps. Kept, as it changes no bit: the
/// sum starts from zero, so the first term's multiply-add is its product, unrolled or not.
#[cube]
pub(crate) fn c_dot_b_staged<F: Float>(
    seq: &SharedMemory<F>,
    t: usize,
    s: usize,
    #[comptime] e: usize,
    #[comptime] n: usize,
) -> F {
    let pitch = e + 2 * n + 1;
    let mut g = F::new(0.0);
    #[unroll]
    for k in 0..n {
        g += seq[t * pitch + e + n + k] * seq[s * pitch + e + k];
    }
    g
}

/// The backward's decay terms of sequence p (formulas in ssd_backward.rs): dcs_k and ddt_k's
/// term through u for each position k, one unit a position, into `dcs` and `via`; the caller
/// syncs the cube and lets one unit run [`decay_scan`]. One unit formed them all with the scan
/// until session 20: by my count about 8% of the staged backward's instructions (not measured
/// alone), in one warp, while the cube's other warps had finished. dts, xy and sm are the cube's dt, XY and S.
#[cube]
pub(crate) fn decay_terms<F: Float>(
    dts: &SharedMemory<F>,
    xy: &SharedMemory<F>,
    sm: &SharedMemory<F>,
    dcs: &mut SharedMemory<F>,
    via: &mut SharedMemory<F>,
    #[comptime] l: usize,
) {
    let mut k = UNIT_POS_X as usize;
    while k < l {
        dcs[k] = decay_dcs(dts, xy, sm, k, l);
        via[k] = decay_via(xy, sm, k, l);
        k += CUBE_DIM_X as usize;
    }
}

/// dcs_k = sum_{s<=k} dt_s XY[k, s] S[k, s] - sum_{t>=k} dt_k XY[t, k] S[t, k], in that order.
#[cube]
pub(crate) fn decay_dcs<F: Float>(
    dts: &SharedMemory<F>,
    xy: &SharedMemory<F>,
    sm: &SharedMemory<F>,
    k: usize,
    #[comptime] l: usize,
) -> F {
    let mut dcs = F::new(0.0);
    for s in 0..k + 1 {
        dcs += dts[s] * xy[k * l + s] * sm[k * l + s];
    }
    for t in k..l {
        dcs -= dts[k] * xy[t * l + k] * sm[t * l + k];
    }
    dcs
}

/// sum_{t>=k} S[t, k] XY[t, k]: ddt_k's term through u.
#[cube]
pub(crate) fn decay_via<F: Float>(xy: &SharedMemory<F>, sm: &SharedMemory<F>, k: usize, #[comptime] l: usize) -> F {
    let mut via_u = F::new(0.0);
    for t in k..l {
        via_u += sm[t * l + k] * xy[t * l + k];
    }
    via_u
}

/// The backward's serial tail, for one unit (L is 8: a serial pass costs less than
/// barrier-separated parallel ones), from the terms of [`decay_terms`]: from the last position
/// back, dcs_k's reverse cumulative sum `rev` gives ddt of sequence p, and its partial dA and
/// dD.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn decay_scan<F: Float>(
    dts: &SharedMemory<F>,
    xy: &SharedMemory<F>,
    dcs: &SharedMemory<F>,
    via: &SharedMemory<F>,
    av: F,
    p: usize,
    ddt: &mut Array<F>,
    da_part: &mut Array<F>,
    dd_part: &mut Array<F>,
    #[comptime] l: usize,
) {
    let mut rev = F::new(0.0);
    let mut da = F::new(0.0);
    let mut ddiag = F::new(0.0);
    for q2 in 0..l {
        let k = l - 1 - q2;
        rev += dcs[k];
        ddt[p * l + k] = via[k] + av * rev;
        da += dts[k] * rev;
        ddiag += xy[k * l + k];
    }
    da_part[p] = da;
    dd_part[p] = ddiag;
}
