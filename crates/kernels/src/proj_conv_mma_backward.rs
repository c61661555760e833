//! The conv backward of the tensor-core form ([`crate::proj_conv_mma`]), forming xbc = u W^T
//! again on the tensor cores instead of reading it: the forward then writes no xbc, and the
//! backward reads u (D = 32 floats a token) where it read xbc (C = 320).
//!
//! Why: at fig3's size an xbc of a layer is 755 MB at R = 36, written once forward and read
//! once backward, about 0.4 ms a layer at 4 TB/s on an H200, where forming it again from u
//! is 80 tensor-core instructions a 16-token tile.
//!
//! Same bits as [`crate::conv_silu::conv_silu_backward`] on the forward's xbc: xbc is formed
//! by the same fragments in the same order (proj_conv_mma's `xbc_tile`), and each
//! unit takes one channel over its cube's sequences in the order that kernel takes them, with
//! its token groups ([`ConvShape::groups`]), so that dx, and the per-group partial sums of the
//! taps' and bias's gradients, are the same sums (tests/proj_conv_mma_cuda.rs compares them).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;
use crate::conv_silu::{ConvGrads, ConvShape, column_backward, load_taps};
use crate::proj_conv::{ProjConvInputs, ProjConvShape};
use crate::proj_conv_mma::{group_tokens, load_u_rows, u_share, warps, wt_fragments, xbc_tile};

/// One cube per (replica, conv token group: B / G sequences), CubeDim (32, warps); unit ch
/// takes channel ch (the form fits only where the units cover C). T: tf32.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn proj_conv_mma_backward_kernel<T: Float>(
    u: &Array<f32>,           // [R, B, L, D], token rows `u_row` apart
    wt: &Array<f32>,          // [R, D, C], rounded to TF32
    w: &Array<f32>,           // [R, C, K]
    bias: &Array<f32>,        // [R, C]
    g: &Array<f32>,           // [R, B, L, C], the upstream gradient
    dx: &mut Array<f32>,      // [R, B, L, C]
    dw_part: &mut Array<f32>, // [R, G, C, K]
    db_part: &mut Array<f32>, // [R, G, C]
    batch: u32,
    groups: u32,
    u_row: u32,
    #[comptime] l: usize,
    #[comptime] d: usize,
    #[comptime] c: usize,
    #[comptime] k: usize,
    #[comptime] tm: usize,
    #[comptime] per: usize,
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let (r, grp) = (rg / gs, rg % gs);
    let seqs = batch as usize / gs; // a group's sequences
    let p0 = r * batch as usize + grp * seqs; // its first sequence
    let ch = UNIT_POS as usize;
    let bp = comptime!(c + crate::proj_conv_mma::PAD_WIDE);
    let wf = wt_fragments::<T>(&wt.slice(r * comptime!(d * c), comptime!(d * c) * (r + 1)), c, d, per);
    let mut us = SharedMemory::<T>::new_aligned(comptime!(tm * (d + crate::proj_conv_mma::PAD_U)), 32usize);
    let mut buf = SharedMemory::<f32>::new_aligned(comptime!(tm * bp), 32usize);
    let mut dw = Array::<f32>::new(k);
    #[unroll]
    for kk in 0..k {
        dw[kk] = 0.0f32;
    }
    let mut db = 0.0f32;
    // units past C (none at fig3's sizes) take channel 0's taps and write nothing
    let taps = load_taps(w, bias, r, ch % c, c, k);
    let per_group = comptime!(tm / l);
    let rounds = seqs / per_group;
    let mut vals = Array::<f32>::new(comptime!(u_share(d, c, tm, per)));
    load_u_rows(u, u_row as usize, p0 * l, &mut vals, d, c, tm, per);
    for round in 0..rounds {
        let p = p0 + round * per_group; // the group's first sequence
        // the group's upstream gradient first: its loads go out before the barriers
        let mut gcols = Array::<f32>::new(comptime!(per_group * l));
        if ch < c {
            #[unroll]
            for s in 0..per_group {
                #[unroll]
                for t in 0..l {
                    gcols[comptime!(s * l + t)] = g[((p + s) * l + t) * c + ch];
                }
            }
        }
        xbc_tile::<T>(&vals, &mut us, &mut buf, &wf, d, c, tm, per);
        if round + 1 < rounds {
            load_u_rows(u, u_row as usize, (p + per_group) * l, &mut vals, d, c, tm, per);
        }
        if ch < c {
            #[unroll]
            for s in 0..per_group {
                let mut xs = Array::<f32>::new(l);
                let mut gcol = Array::<f32>::new(l);
                #[unroll]
                for t in 0..l {
                    xs[t] = buf[comptime!((s * l + t) * bp) + ch];
                    gcol[t] = gcols[comptime!(s * l + t)];
                }
                let dxs = column_backward(&taps, &xs, &gcol, &mut dw, &mut db, l, k);
                #[unroll]
                for t in 0..l {
                    dx[((p + s) * l + t) * c + ch] = dxs[t];
                }
            }
        }
    }
    if ch < c {
        let part = rg * c + ch;
        #[unroll]
        for kk in 0..k {
            dw_part[part * k + kk] = dw[kk];
        }
        db_part[part] = db;
    }
}

/// The gradients of sum(g * out) for the tensor-core forward of `shape`: dx (= dxbc, the
/// product's output gradient) and the taps' and bias's per-group partials, as
/// [`crate::conv_silu::conv_silu_backward`] gives them. `inp.wt` is the forward's rounded W^T
/// ([`crate::proj_conv::Kept::RoundedWt`]); g [R, B, L, C] contiguous. The caller checks
/// [`crate::proj_conv_mma::fits`]. Panics where a handle holds less than `shape` reads.
pub fn proj_conv_mma_backward<R: Runtime>(
    client: &ComputeClient<R>,
    shape: &ProjConvShape,
    inp: &ProjConvInputs,
    g: &Handle,
) -> ConvGrads {
    let s: &ConvShape = &shape.conv;
    inp.assert_sizes(shape, 4);
    crate::assert_holds(g, s.x_len(), 4, "g");
    let groups = s.groups();
    let parts = s.replicas * groups * s.channels;
    let grads = ConvGrads {
        dx: client.empty(s.x_len() * 4),
        dw_part: client.empty(parts * s.taps * 4),
        db_part: client.empty(parts * 4),
    };
    let warps = warps(s.channels);
    // SAFETY: a cube reads replica r's W^T, its group's token rows of u and g, w and bias of
    // replica r, and writes its group's rows of dx and its partials; every handle holds those
    // lengths (asserted above, or made here); the shared indices stay below the sizes the
    // kernel declares.
    unsafe {
        proj_conv_mma_backward_kernel::launch_unchecked::<tf32, R>(
            client,
            CubeCount::Static((s.replicas * groups) as u32, 1, 1),
            CubeDim::new_2d(32, warps as u32),
            array_arg(&inp.u, shape.u_extent(inp.u_row)),
            array_arg(&inp.wt, shape.wt_len()),
            array_arg(&inp.w, s.w_len()),
            array_arg(&inp.bias, s.bias_len()),
            array_arg(g, s.x_len()),
            array_arg(&grads.dx, s.x_len()),
            array_arg(&grads.dw_part, parts * s.taps),
            array_arg(&grads.db_part, parts),
            s.batch as u32,
            groups as u32,
            inp.u_row as u32,
            s.len,
            shape.d_model,
            s.channels,
            s.taps,
            group_tokens(s.len),
            s.channels / 16 / warps,
        );
    }
    grads
}
