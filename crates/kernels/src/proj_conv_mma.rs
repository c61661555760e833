//! The tensor-core form of [`crate::proj_conv`]'s forward: xbc = u W^T as TF32 16 x 16 x 8
//! matrix products (CubeCL's cmma, CUDA's wmma), then the same conv + SiLU, writing out (and
//! xbc only where asked: the backward forms it again, [`crate::proj_conv_mma_backward`]).
//!
//! Why: the CUDA-core form ran 0.70 ms a layer at depth 4, R = 36 on an H200, bound by issuing
//! its instructions: 500.6 M warp instructions a launch, half of them FFMA, 0.48 ms at full
//! issue (ncu, results/bench/session22-h200-2026-11-28, call 6). A tensor-core product of the
//! same 16 x 320 x 32 block is 80 warp instructions where FFMAs take 5120. What is left is
//! the bytes: u in, xbc and out written (about 0.38 ms a layer at 4 TB/s).
//!
//! Rounding: u and W are rounded to TF32 (CUDA's `__float_to_tf32`, to nearest) as they are
//! staged, and the products summed in f32 on the tensor cores, as burn's own product on this
//! backend does for f32 inputs. The same fragments in the same order as that product: on an
//! H200 five epochs of nine fig3 cells were equal to the last bit with and without this form,
//! which ran 0.46 ms a layer forward and 0.63 backward at depth 4, R = 36, where the product,
//! the conv and its backward apart took 0.46 + 0.43 + 0.59 (session 23, call 4).
//!
//! W^T is first rounded to TF32 into a copy (a small kernel). A cube then takes `rounds`
//! groups of TM tokens of one replica in turn (TM = lcm(L, 16): whole sequences and whole
//! 16-row tiles); each warp owns a few 16-channel columns of the output and holds their
//! fragments of W^T in registers throughout. A group: its u rows into shared memory, each
//! warp's output tiles into a shared buffer, then one unit a (sequence, channel) runs the conv
//! over the buffer's column. The first form staged W^T in shared memory in each cube (65 KB a
//! cube, 4 warps): 0.93 ms a layer at depth 4, R = 36 on an H200, slower than the CUDA-core
//! form's 0.70 (results/bench/session23-h200-2026-11-28, call 1).

use cubecl::ir::features::MmaConfig;
use cubecl::ir::{ElemType, FloatKind};
use cubecl::prelude::*;

use cubecl::server::Handle;

use crate::array_arg;
use crate::conv_silu::ConvShape;
use crate::proj_conv::{ProjConvInputs, ProjConvShape, conv_column_out};

/// Rows, columns and depth of one tensor-core product (TF32's one shape on CUDA).
pub(crate) const TILE: usize = 16;
pub(crate) const DEPTH: usize = 8;

/// Padding of the shared rows, in floats: rows a multiple of 32 floats apart put a tile's
/// rows in the same banks; 8 more (the buffer, C wide) or 4 more (u, D = 32 wide) spread a
/// fragment's rows over all 32. Rows stay 32-byte aligned, as the matrix loads require.
pub(crate) const PAD_WIDE: usize = 8;
pub(crate) const PAD_U: usize = 4;

/// Whether `client` runs TF32 16 x 16 x 8 products on tensor cores (CUDA from sm_80; not
/// wgpu, not lavapipe).
pub fn supported<R: Runtime>(client: &ComputeClient<R>) -> bool {
    let tf32 = || ElemType::Float(FloatKind::TF32).into();
    client.features().matmul.cmma.contains(&MmaConfig {
        a_type: tf32(),
        b_type: tf32(),
        cd_type: ElemType::Float(FloatKind::F32).into(),
        m: TILE as u32,
        k: DEPTH as u32,
        n: TILE as u32,
    })
}

/// Whether the forward of `shape` takes this form on `client`: [`crate::PROJ_CONV_MMA`] on
/// (the default), TF32 products [`supported`], and the shape [`fits`].
pub fn chosen<R: Runtime>(client: &ComputeClient<R>, shape: &ProjConvShape) -> bool {
    crate::PROJ_CONV_MMA.load(core::sync::atomic::Ordering::Relaxed) && supported(client) && fits(shape)
}

/// Tokens a group: the least multiple of both L and 16.
pub(crate) fn group_tokens(l: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    l / gcd(l, TILE) * TILE
}

/// Whether `shape` fits the tensor-core form, forward and backward: D a multiple of 8, C of
/// 16, a group at most 64 tokens (the buffer's shared memory), the conv backward's token
/// groups ([`ConvShape::groups`]) in whole groups, and at most 2 output tiles a warp (so that
/// the backward's cube has a unit for each channel).
pub fn fits(shape: &ProjConvShape) -> bool {
    let s = &shape.conv;
    let tm = group_tokens(s.len);
    shape.d_model.is_multiple_of(DEPTH)
        && s.channels.is_multiple_of(TILE)
        && tm <= 64
        && (s.batch / s.groups() * s.len).is_multiple_of(tm)
        && tiles_a_warp(s.channels / TILE) <= 2
}

/// Output tiles a warp: the least divisor of the C / 16 tiles that leaves at most 16 warps
/// (fig3's 20 tiles: 2 a warp, 10 warps). Each warp keeps its tiles' fragments of W^T in
/// registers for all its cube's groups.
fn tiles_a_warp(tiles: usize) -> usize {
    (1..=tiles)
        .find(|p| tiles.is_multiple_of(*p) && tiles / p <= 16)
        .unwrap_or(tiles)
}

/// Groups a cube (MSYM_PROJ_CONV_ROUNDS, [`crate::PROJ_CONV_ROUNDS`]; default 16: 256 tokens
/// at fig3's L = 8, so that a cube's loads of W^T's fragments, 40 KB, serve 256 tokens; 4, 64
/// and 1 were slower on an H200, session 23 call 2).
fn rounds() -> usize {
    crate::PROJ_CONV_ROUNDS.get().map_or(16, |k| k as usize)
}

/// W^T rounded to TF32 (to nearest, CUDA's `__float_to_tf32`), kept as f32: the main
/// kernel loads its fragments straight from device memory, and a fragment load does not round.
#[cube(launch_unchecked)]
fn tf32_round_kernel<T: Float>(x: &Array<f32>, out: &mut Array<f32>, len: u32) {
    let i = ABSOLUTE_POS;
    if i < len as usize {
        out[i] = f32::cast_from(T::cast_from(x[i]));
    }
}

/// One cube per (replica, run of `rounds` groups); CubeDim (32, warps): UNIT_POS_Y is the
/// warp, which owns output tiles (columns of 16 channels) warp * per .. (warp + 1) * per for
/// every group, and holds their fragments of W^T in registers from the start.
/// T: the products' input type (tf32; generic because the cube macro takes a named `tf32`'s
/// cast as ambiguous).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn proj_conv_mma_forward_kernel<T: Float>(
    u: &Array<f32>,       // [R, B, L, D], token rows `u_row` apart
    wt: &Array<f32>,      // [R, D, C], rounded to TF32
    w: &Array<f32>,       // [R, C, K]
    bias: &Array<f32>,    // [R, C]
    xbc: &mut Array<f32>, // [R, B, L, C]
    out: &mut Array<f32>, // [R, B, L, C]
    groups: u32,          // groups a replica: B L / TM
    rounds: u32,          // groups a cube
    u_row: u32,
    #[comptime] l: usize,
    #[comptime] d: usize,
    #[comptime] c: usize,
    #[comptime] k: usize,
    #[comptime] tm: usize,
    #[comptime] per: usize,
    #[comptime] keep: bool,
) {
    let units = comptime!(cube_units(c, per));
    let unit = UNIT_POS as usize;
    let cubes = (groups as usize).div_ceil(rounds as usize);
    let r = CUBE_POS_X as usize / cubes;
    let first = (CUBE_POS_X as usize % cubes) * rounds as usize;
    let mut last = first + rounds as usize;
    if last > groups as usize {
        last = groups as usize;
    }
    let bp = comptime!(c + PAD_WIDE);
    let wf = wt_fragments::<T>(&wt.slice(r * comptime!(d * c), comptime!(d * c) * (r + 1)), c, d, per);
    let mut us = SharedMemory::<T>::new_aligned(comptime!(tm * (d + PAD_U)), 32usize);
    let mut buf = SharedMemory::<f32>::new_aligned(comptime!(tm * bp), 32usize);
    let mut vals = Array::<f32>::new(comptime!(u_share(d, c, tm, per)));
    load_u_rows(
        u,
        u_row as usize,
        (r * groups as usize + first) * tm,
        &mut vals,
        d,
        c,
        tm,
        per,
    );
    for g in first..last {
        let tok0 = (r * groups as usize + g) * tm; // the group's first token row
        xbc_tile::<T>(&vals, &mut us, &mut buf, &wf, d, c, tm, per);
        if g + 1 < last {
            load_u_rows(u, u_row as usize, tok0 + tm, &mut vals, d, c, tm, per);
        }
        // the conv: one unit a (sequence of the group, channel), channels adjacent in a warp
        let columns = comptime!(tm / l * c);
        #[unroll]
        for j in 0..comptime!(columns.div_ceil(units)) {
            let q = unit + j * units;
            if q < columns {
                let (s, ch) = (q / c, q % c);
                let mut xs = Array::<f32>::new(l);
                #[unroll]
                for t in 0..l {
                    xs[t] = buf[(s * l + t) * bp + ch];
                }
                conv_column_out(&xs, w, bias, xbc, out, r, ch, c, tok0 + s * l, l, k, keep);
            }
        }
    }
}

/// This warp's fragments of one replica's W^T (rounded to TF32; `w`: its [D, C] rows, `row`
/// floats apart): for each of its `per` output tiles (16 channels from (warp per + j) 16), the
/// D / 8 steps, at j D/8 + kk.
#[cube]
pub(crate) fn wt_fragments<T: Float>(
    w: &Slice<f32>,
    #[comptime] row: usize,
    #[comptime] d: usize,
    #[comptime] per: usize,
) -> Sequence<cmma::Matrix<T>> {
    let warp = UNIT_POS_Y as usize;
    let mut wf = Sequence::<cmma::Matrix<T>>::new();
    #[unroll]
    for j in 0..per {
        #[unroll]
        for kk in 0..comptime!(d / DEPTH) {
            let n = warp * per + j;
            // SAFETY: loaded on the next line, before any use
            let b = unsafe {
                cmma::Matrix::<T>::uninitialized(cmma::MatrixIdent::B, TILE, TILE, DEPTH, cmma::MatrixLayout::RowMajor)
            };
            // f32 values already rounded to TF32: the load takes them as they are
            cmma::load(
                &b,
                &w.slice(kk * comptime!(DEPTH * row) + n * TILE, comptime!(d * row)),
                comptime!(row as u32),
            );
            wf.push(b);
        }
    }
    wf
}

/// A unit's share of the TM token rows of u from tok0 into `vals` (registers): the loads of
/// the next group go out before the conv of this one, so that their latency is hidden
/// behind it (the cube waits at a barrier for its slowest load each group).
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn load_u_rows(
    u: &Array<f32>,
    u_row: usize,
    tok0: usize,
    vals: &mut Array<f32>,
    #[comptime] d: usize,
    #[comptime] c: usize,
    #[comptime] tm: usize,
    #[comptime] per: usize,
) {
    let units = comptime!(cube_units(c, per));
    let unit = UNIT_POS as usize;
    #[unroll]
    for j in 0..comptime!(u_share(d, c, tm, per)) {
        let i = unit + j * units;
        if i < comptime!(tm * d) {
            vals[j] = u[(tok0 + i / d) * u_row + i % d];
        }
    }
}

/// xbc = u W^T of a group into `buf` (rows C + 8 apart), by the cube: the units' u values
/// `vals` ([`load_u_rows`]) rounded to TF32 into `us` (rows D + 4 apart), a barrier, each
/// warp's output tiles from its fragments `wf` ([`wt_fragments`]), a barrier. The caller's
/// reads of `us` and `buf` from the group before must precede the call.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn xbc_tile<T: Float>(
    vals: &Array<f32>,
    us: &mut SharedMemory<T>,
    buf: &mut SharedMemory<f32>,
    wf: &Sequence<cmma::Matrix<T>>,
    #[comptime] d: usize,
    #[comptime] c: usize,
    #[comptime] tm: usize,
    #[comptime] per: usize,
) {
    let units = comptime!(cube_units(c, per));
    let unit = UNIT_POS as usize;
    let warp = UNIT_POS_Y as usize;
    let (up, bp) = comptime!((d + PAD_U, c + PAD_WIDE));
    #[unroll]
    for j in 0..comptime!(u_share(d, c, tm, per)) {
        let i = unit + j * units;
        if i < comptime!(tm * d) {
            us[i / d * up + i % d] = T::cast_from(vals[j]);
        }
    }
    sync_cube();
    #[unroll]
    for m in 0..comptime!(tm / TILE) {
        let mut a = Sequence::<cmma::Matrix<T>>::new();
        #[unroll]
        for kk in 0..comptime!(d / DEPTH) {
            a.push(cmma::Matrix::<T>::from_slice(
                cmma::MatrixIdent::A,
                TILE,
                TILE,
                DEPTH,
                cmma::MatrixLayout::RowMajor,
                &us.slice(comptime!(m * TILE * up + kk * DEPTH), comptime!(tm * up)),
                comptime!(up as u32),
            ));
        }
        #[unroll]
        for j in 0..per {
            let acc = cmma::Matrix::<f32>::from_value(
                cmma::MatrixIdent::Accumulator,
                TILE,
                TILE,
                DEPTH,
                cmma::MatrixLayout::Undefined,
                0.0,
            );
            #[unroll]
            for kk in 0..comptime!(d / DEPTH) {
                cmma::execute::<T, T, f32, f32>(a.index(kk), wf.index(comptime!(j * (d / DEPTH) + kk)), &acc, &acc);
            }
            let n = warp * per + j;
            cmma::store(
                &mut buf.slice_mut(comptime!(m * TILE * bp) + n * TILE, comptime!(tm * bp)),
                &acc,
                comptime!(bp as u32),
                cmma::MatrixLayout::RowMajor,
            );
        }
    }
    sync_cube();
}

/// What the tensor-core forward writes: out [R, B, L, C], xbc [R, B, L, C] where asked for
/// (the tests; the backward forms it again), and W^T rounded to TF32 [R, D, C] (the backward's).
#[derive(Debug)]
pub struct MmaForward {
    pub out: Handle,
    pub xbc: Option<Handle>,
    pub wt: Handle,
}

/// W^T of `inp` rounded to TF32, as a new handle of `shape.wt_len()` f32s.
pub(crate) fn rounded_wt<R: Runtime>(client: &ComputeClient<R>, shape: &ProjConvShape, wt: &Handle) -> Handle {
    let len = shape.wt_len();
    let out = client.empty(len * 4);
    // SAFETY: reads and writes below `len`; the input was asserted to hold it (assert_sizes),
    // the output is made here
    unsafe {
        tf32_round_kernel::launch_unchecked::<tf32, R>(
            client,
            CubeCount::Static(len.div_ceil(256) as u32, 1, 1),
            CubeDim::new_1d(256),
            array_arg(wt, len),
            array_arg(&out, len),
            len as u32,
        );
    }
    out
}

/// Units a cube of the tensor-core kernels for C channels at `per` output tiles a warp.
pub(crate) const fn cube_units(c: usize, per: usize) -> usize {
    32 * (c / TILE / per)
}

/// u values a unit stages a group ([`load_u_rows`]): the group's TM D over the cube's units.
pub(crate) const fn u_share(d: usize, c: usize, tm: usize, per: usize) -> usize {
    (tm * d).div_ceil(cube_units(c, per))
}

/// The cube's warps for C channels: (C / 16) / [`tiles_a_warp`] (fig3: 10).
pub(crate) fn warps(channels: usize) -> usize {
    channels / TILE / tiles_a_warp(channels / TILE)
}

/// out of `shape` on tensor cores, and xbc where `keep_xbc`; the caller checks [`supported`]
/// and [`fits`]. Panics where an input handle holds less than `shape` reads (unchecked launch).
pub fn forward<R: Runtime>(
    client: &ComputeClient<R>,
    shape: &ProjConvShape,
    inp: &ProjConvInputs,
    keep_xbc: bool,
) -> MmaForward {
    let s: &ConvShape = &shape.conv;
    let tm = group_tokens(s.len);
    let groups = s.batch * s.len / tm;
    let rounds = rounds().min(groups);
    inp.assert_sizes(shape, core::mem::size_of::<f32>());
    let wt = rounded_wt(client, shape, &inp.wt);
    let out = client.empty(s.x_len() * 4);
    let xbc = client.empty(if keep_xbc { s.x_len() * 4 } else { 4 });
    // SAFETY: a cube reads replica r's W^T (D C elements), its groups' token rows of u (below
    // u_extent: g < groups), w and bias of replica r, and writes its groups' rows of out (and
    // of xbc where kept: else xbc's one element is never written); every handle holds those
    // lengths (asserted above, or made here). The shared indices stay below the sizes the
    // kernel declares (tests/proj_conv_mma_cuda.rs runs part-empty last cubes).
    unsafe {
        proj_conv_mma_forward_kernel::launch_unchecked::<tf32, R>(
            client,
            CubeCount::Static((s.replicas * groups.div_ceil(rounds)) as u32, 1, 1),
            CubeDim::new_2d(32, warps(s.channels) as u32),
            array_arg(&inp.u, shape.u_extent(inp.u_row)),
            array_arg(&wt, shape.wt_len()),
            array_arg(&inp.w, s.w_len()),
            array_arg(&inp.bias, s.bias_len()),
            array_arg(&xbc, if keep_xbc { s.x_len() } else { 1 }),
            array_arg(&out, s.x_len()),
            groups as u32,
            rounds as u32,
            inp.u_row as u32,
            s.len,
            shape.d_model,
            s.channels,
            s.taps,
            tm,
            tiles_a_warp(s.channels / TILE),
            keep_xbc,
        );
    }
    MmaForward {
        out,
        xbc: keep_xbc.then_some(xbc),
        wt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_whole_sequences_and_whole_tiles() {
        assert_eq!(group_tokens(8), 16);
        assert_eq!(group_tokens(16), 16);
        assert_eq!(group_tokens(32), 32);
        assert_eq!(group_tokens(3), 48);
        assert_eq!(group_tokens(12), 48);
        assert_eq!(group_tokens(5), 80);
    }

    #[test]
    fn a_warp_takes_few_tiles_and_a_cube_at_most_16_warps() {
        assert_eq!(tiles_a_warp(20), 2); // fig3's 320 channels: 10 warps
        assert_eq!(tiles_a_warp(2), 1);
        assert_eq!(tiles_a_warp(32), 2);
        assert_eq!(tiles_a_warp(17), 17); // prime: one warp, which does not fit
        assert!(!fits(&ProjConvShape::new(1, 4, 8, 17 * 16, 4, 32)));
    }

    #[test]
    fn fig3_fits_and_odd_shapes_do_not() {
        assert!(fits(&ProjConvShape::new(36, 2048, 8, 320, 4, 32)));
        // D not a multiple of 8; C not of 16; groups of 80 tokens; 3 sequences of 8 tokens
        assert!(!fits(&ProjConvShape::new(1, 4, 8, 320, 4, 12)));
        assert!(!fits(&ProjConvShape::new(1, 4, 8, 72, 4, 32)));
        assert!(!fits(&ProjConvShape::new(1, 16, 5, 320, 4, 32)));
        assert!(!fits(&ProjConvShape::new(1, 3, 8, 320, 4, 32)));
    }
}
