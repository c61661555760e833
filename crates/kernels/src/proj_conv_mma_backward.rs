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
//!
//! [`backward_product`] goes on through the product: each warp forms du and its part of dW^T
//! on the tensor cores from the dx its own lanes just wrote into shared memory, so dx (= dxbc,
//! 755 MB a layer at R = 36) is neither written nor read by burn's two products (session 19's
//! profile: 0.39 + 0.41 ms a layer). Those sums differ from burn's, so the bits of du and dW
//! do (MSYM_PROJ_CONV_GRADS=0 keeps the products apart).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;
use crate::conv_silu::{ConvGrads, ConvShape, column_backward, load_taps};
use crate::proj_conv::{ProjConvInputs, ProjConvShape};
use crate::proj_conv_mma::{
    DEPTH, PAD_U, PAD_WIDE, TILE, group_tokens, load_u_rows, u_share, warps, wt_fragments, xbc_tile,
};

/// One cube per (replica, conv token group: B / G sequences), CubeDim (32, warps); unit ch
/// takes channel ch (the form fits only where the units cover C). T: tf32.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn proj_conv_mma_backward_kernel<T: Float>(
    u: &Array<f32>,            // [R, B, L, D], token rows `u_row` apart
    wt: &Array<f32>,           // [R, D, C], rounded to TF32
    w: &Array<f32>,            // [R, C, K]
    bias: &Array<f32>,         // [R, C]
    g: &Array<f32>,            // [R, B, L, C], the upstream gradient
    dx: &mut Array<f32>,       // [R, B, L, C]; one element where `product`
    du: &mut Array<f32>,       // [R, B, L, D] where `product`, else one element
    dwt_part: &mut Array<f32>, // [R, G, D, C] where `product`, else one element
    dw_part: &mut Array<f32>,  // [R, G, C, K]
    db_part: &mut Array<f32>,  // [R, G, C]
    batch: u32,
    groups: u32,
    u_row: u32,
    #[comptime] l: usize,
    #[comptime] d: usize,
    #[comptime] c: usize,
    #[comptime] k: usize,
    #[comptime] tm: usize,
    #[comptime] per: usize,
    #[comptime] product: bool,
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let (r, grp) = (rg / gs, rg % gs);
    let seqs = batch as usize / gs; // a group's sequences
    let p0 = r * batch as usize + grp * seqs; // its first sequence
    let ch = UNIT_POS as usize;
    let bp = comptime!(c + PAD_WIDE);
    let dc = comptime!(d * c);
    // W^T's fragments for the whole cube in registers, as the forward keeps them, where the
    // backward writes dx. Through the product they would not fit beside its gradients' (166
    // and 168 registers a unit with them in registers, or read from device memory, whose
    // loads the compiler hoists out of the loop: one cube an SM, 2.7x slower, session 24
    // calls 1-2), so there W^T is copied into shared memory (rows C + 8 apart) and its
    // fragments loaded from there each group
    let wf = wt_fragments::<T>(
        &wt.slice(r * dc, dc * (r + 1)),
        c,
        d,
        comptime!(if product { 0 } else { per }),
    );
    let mut ws = SharedMemory::<f32>::new_aligned(comptime!(if product { d * bp } else { 8 }), 32usize);
    let mut us = SharedMemory::<T>::new_aligned(comptime!(tm * (d + PAD_U)), 32usize);
    let mut buf = SharedMemory::<f32>::new_aligned(comptime!(tm * bp), 32usize);
    let mut dw = Array::<f32>::new(k);
    #[unroll]
    for kk in 0..k {
        dw[kk] = 0.0f32;
    }
    let mut db = 0.0f32;
    // dW^T [D, C] summed over the cube's tokens ([`product_grads`]), rows C + 8 apart, in
    // shared memory rather than in the warps' registers (for the same reason)
    let mut dwt = SharedMemory::<f32>::new_aligned(comptime!(if product { d * bp } else { 8 }), 32usize);
    let units = comptime!(crate::proj_conv_mma::cube_units(c, per));
    if product {
        // dwt is first read after the first group's barriers; ws before them (the group's
        // fragments of W^T, below), hence the barrier after the copy. Without it the copy
        // raced the first loads: session 24 call 4's GPU test failed at 20 warps a cube.
        for j in 0..comptime!((d * bp).div_ceil(units)) {
            let i = UNIT_POS as usize + j * units;
            if i < comptime!(d * bp) {
                dwt[i] = 0.0f32;
            }
        }
        for j in 0..comptime!(dc.div_ceil(units)) {
            let i = UNIT_POS as usize + j * units;
            if i < dc {
                ws[i / c * bp + i % c] = wt[r * dc + i];
            }
        }
        sync_cube();
    }
    // units past C (through the product: warps C / 32 and on) take channel 0's taps, write nothing
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
        if product {
            let wf_group = wt_fragments::<T>(&ws.slice(0, comptime!(d * bp)), bp, d, per);
            xbc_tile::<T>(&vals, &mut us, &mut buf, &wf_group, d, c, tm, per);
        } else {
            xbc_tile::<T>(&vals, &mut us, &mut buf, &wf, d, c, tm, per);
        }
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
                    if product {
                        // over the unit's own column of xbc: the warp's products read it
                        buf[comptime!((s * l + t) * bp) + ch] = f32::cast_from(T::cast_from(dxs[t]));
                    } else {
                        dx[((p + s) * l + t) * c + ch] = dxs[t];
                    }
                }
            }
        }
        if product {
            product_grads::<T>(&us, &mut buf, &mut dwt, &ws, d, c, tm);
            sync_cube();
            // du = the sum of the warps' partials, in warp order
            #[unroll]
            for j in 0..comptime!((tm * d).div_ceil(units)) {
                let i = UNIT_POS as usize + j * units;
                if i < comptime!(tm * d) {
                    let (t, e) = (i / d, i % d);
                    let mut sum = 0.0f32;
                    #[unroll]
                    for v in 0..comptime!(c / COLUMNS) {
                        sum += buf[t * bp + comptime!(v * COLUMNS) + e];
                    }
                    du[(p * l + t) * d + e] = sum;
                }
            }
        }
    }
    if product {
        // the last group's barrier above ordered every warp's part of dwt before these reads
        for j in 0..comptime!(dc.div_ceil(units)) {
            let i = UNIT_POS as usize + j * units;
            if i < dc {
                dwt_part[rg * dc + i] = dwt[i / c * bp + i % c];
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

/// Channels a warp's units hold (unit ch takes channel ch): the dx columns, two tiles wide,
/// whose product gradients that warp forms ([`product_grads`]).
const COLUMNS: usize = 32;

/// `n` zeroed accumulator tiles: a warp's part of a group's du (D / 16 tiles).
#[cube]
fn zeroed(#[comptime] n: usize) -> Sequence<cmma::Matrix<f32>> {
    let mut acc = Sequence::<cmma::Matrix<f32>>::new();
    #[unroll]
    for _ in 0..n {
        acc.push(cmma::Matrix::<f32>::from_value(
            cmma::MatrixIdent::Accumulator,
            TILE,
            TILE,
            DEPTH,
            cmma::MatrixLayout::Undefined,
            0.0,
        ));
    }
    acc
}

/// The xBC product's two gradients from a group's dx, on the tensor cores. Warp w < C / 32
/// takes the 32 columns of dx that its own lanes wrote into `buf` (rounded to TF32, over
/// their xbc), so it waits only for its own lanes:
/// - dW^T[:, columns] += u^T dx[:, columns], into the same columns of `dwt` (shared, rows
///   C + 8 apart; summed over the cube's groups); A = u^T, the group's rounded u in `us` read
///   column-major;
/// - its partial du = dx[:, columns] W[columns, :] (`ws`: W^T rounded, rows C + 8 apart, read
///   column-major), stored
///   over the same columns of `buf` (D <= 32 of them) once the warp has read them; the cube
///   sums the warps' partials after a barrier.
#[cube]
#[allow(clippy::too_many_arguments)]
fn product_grads<T: Float>(
    us: &SharedMemory<T>,
    buf: &mut SharedMemory<f32>,
    dwt: &mut SharedMemory<f32>,
    ws: &SharedMemory<f32>,
    #[comptime] d: usize,
    #[comptime] c: usize,
    #[comptime] tm: usize,
) {
    let warp = UNIT_POS_Y as usize;
    let (up, bp) = comptime!((d + PAD_U, c + PAD_WIDE));
    let col0 = warp * COLUMNS;
    if warp < comptime!(c / COLUMNS) {
        sync_plane(); // the lanes' dx, written above, before the warp's loads
        #[unroll]
        for nj in 0..comptime!(COLUMNS / TILE) {
            let col = col0 + comptime!(nj * TILE);
            let mut bs = Sequence::<cmma::Matrix<T>>::new();
            #[unroll]
            for kk in 0..comptime!(tm / DEPTH) {
                // SAFETY: loaded on the next line, before any use
                let b = unsafe {
                    cmma::Matrix::<T>::uninitialized(
                        cmma::MatrixIdent::B,
                        TILE,
                        TILE,
                        DEPTH,
                        cmma::MatrixLayout::RowMajor,
                    )
                };
                cmma::load(
                    &b,
                    &buf.slice(comptime!(kk * DEPTH * bp) + col, comptime!(tm * bp)),
                    comptime!(bp as u32),
                );
                bs.push(b);
            }
            #[unroll]
            for mt in 0..comptime!(d / TILE) {
                // SAFETY: loaded on the next line, before any use
                let acc = unsafe {
                    cmma::Matrix::<f32>::uninitialized(
                        cmma::MatrixIdent::Accumulator,
                        TILE,
                        TILE,
                        DEPTH,
                        cmma::MatrixLayout::Undefined,
                    )
                };
                cmma::load_with_layout(
                    &acc,
                    &dwt.slice(comptime!(mt * TILE * bp) + col, comptime!(d * bp)),
                    comptime!(bp as u32),
                    cmma::MatrixLayout::RowMajor,
                );
                #[unroll]
                for kk in 0..comptime!(tm / DEPTH) {
                    let a = cmma::Matrix::<T>::from_slice(
                        cmma::MatrixIdent::A,
                        TILE,
                        TILE,
                        DEPTH,
                        cmma::MatrixLayout::ColMajor,
                        &us.slice(comptime!(kk * DEPTH * up + mt * TILE), comptime!(tm * up)),
                        comptime!(up as u32),
                    );
                    cmma::execute::<T, T, f32, f32>(&a, bs.index(kk), &acc, &acc);
                }
                cmma::store(
                    &mut dwt.slice_mut(comptime!(mt * TILE * bp) + col, comptime!(d * bp)),
                    &acc,
                    comptime!(bp as u32),
                    cmma::MatrixLayout::RowMajor,
                );
            }
        }
        #[unroll]
        for m in 0..comptime!(tm / TILE) {
            let mut part = zeroed(comptime!(d / TILE));
            #[unroll]
            for kk in 0..comptime!(COLUMNS / DEPTH) {
                // SAFETY: loaded on the next line, before any use
                let a = unsafe {
                    cmma::Matrix::<T>::uninitialized(
                        cmma::MatrixIdent::A,
                        TILE,
                        TILE,
                        DEPTH,
                        cmma::MatrixLayout::RowMajor,
                    )
                };
                cmma::load(
                    &a,
                    &buf.slice(
                        comptime!(m * TILE * bp) + col0 + comptime!(kk * DEPTH),
                        comptime!(tm * bp),
                    ),
                    comptime!(bp as u32),
                );
                #[unroll]
                for dt in 0..comptime!(d / TILE) {
                    // SAFETY: loaded on the next line, before any use
                    let b = unsafe {
                        cmma::Matrix::<T>::uninitialized(
                            cmma::MatrixIdent::B,
                            TILE,
                            TILE,
                            DEPTH,
                            cmma::MatrixLayout::ColMajor,
                        )
                    };
                    cmma::load(
                        &b,
                        &ws.slice(comptime!(dt * TILE * bp + kk * DEPTH) + col0, comptime!(d * bp)),
                        comptime!(bp as u32),
                    );
                    let acc = part.index_mut(dt);
                    cmma::execute::<T, T, f32, f32>(&a, &b, acc, acc);
                }
            }
            sync_plane(); // every lane's reads of these rows before the stores over them
            #[unroll]
            for dt in 0..comptime!(d / TILE) {
                cmma::store(
                    &mut buf.slice_mut(comptime!(m * TILE * bp + dt * TILE) + col0, comptime!(tm * bp)),
                    part.index(dt),
                    comptime!(bp as u32),
                    cmma::MatrixLayout::RowMajor,
                );
            }
        }
    }
}

/// Whether the backward of `shape` also forms the product's gradients ([`backward_product`]):
/// the tensor-core form [`fits`](crate::proj_conv_mma::fits), D is 16 or 32 (a warp's 32
/// columns of the buffer hold its partial du), C a multiple of 32 (whole warps) and at most
/// 512 (a warp a 16-channel tile, at most 1024 units a cube).
pub fn product_fits(shape: &ProjConvShape) -> bool {
    crate::proj_conv_mma::fits(shape)
        && shape.d_model.is_multiple_of(TILE)
        && shape.d_model <= COLUMNS
        && shape.conv.channels.is_multiple_of(COLUMNS)
        && shape.conv.channels <= 32 * TILE
}

/// Whether the tensor-core backward of `shape` goes through the product: [`product_fits`],
/// unless [`crate::PROJ_CONV_GRADS`] is off (MSYM_PROJ_CONV_GRADS=0).
pub fn product_chosen(shape: &ProjConvShape) -> bool {
    crate::PROJ_CONV_GRADS.load(core::sync::atomic::Ordering::Relaxed) && product_fits(shape)
}

/// What [`backward_product`] writes: du [R, B, L, D] (contiguous), the cubes' partial sums of
/// dW^T [R, G, D, C] and of the taps' and bias's gradients ([R, G, C, K], [R, G, C]), G the
/// conv backward's token groups ([`ConvShape::groups`]).
#[derive(Debug)]
pub struct ProductGrads {
    pub du: Handle,
    pub dwt_part: Handle,
    pub dw_part: Handle,
    pub db_part: Handle,
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
    let out = launch(client, shape, inp, g, false);
    ConvGrads {
        dx: out.dx,
        dw_part: out.dw_part,
        db_part: out.db_part,
    }
}

/// The same backward carried through the product: du and the partials of dW^T in place of
/// dx, formed on the tensor cores from the dx each cube holds ([`product_grads`]), so that dx
/// ([R, B, L, C], 755 MB a layer at fig3's R = 36) is never written or read again. Other bits
/// than burn's two products on dx (other sums). The caller checks [`product_fits`].
pub fn backward_product<R: Runtime>(
    client: &ComputeClient<R>,
    shape: &ProjConvShape,
    inp: &ProjConvInputs,
    g: &Handle,
) -> ProductGrads {
    let out = launch(client, shape, inp, g, true);
    ProductGrads {
        du: out.du,
        dwt_part: out.dwt_part,
        dw_part: out.dw_part,
        db_part: out.db_part,
    }
}

/// Every output of the kernel; those of the other form hold one element.
struct Outputs {
    dx: Handle,
    du: Handle,
    dwt_part: Handle,
    dw_part: Handle,
    db_part: Handle,
}

fn launch<R: Runtime>(
    client: &ComputeClient<R>,
    shape: &ProjConvShape,
    inp: &ProjConvInputs,
    g: &Handle,
    product: bool,
) -> Outputs {
    let s: &ConvShape = &shape.conv;
    inp.assert_sizes(shape, 4);
    crate::assert_holds(g, s.x_len(), 4, "g");
    let groups = s.groups();
    let parts = s.replicas * groups * s.channels;
    let d = shape.d_model;
    // the lengths of dx, du and dwt_part: one element for the form's unused outputs
    let lens = if product {
        [1, s.replicas * s.batch * s.len * d, parts * d]
    } else {
        [s.x_len(), 1, 1]
    };
    let out = Outputs {
        dx: client.empty(lens[0] * 4),
        du: client.empty(lens[1] * 4),
        dwt_part: client.empty(lens[2] * 4),
        dw_part: client.empty(parts * s.taps * 4),
        db_part: client.empty(parts * 4),
    };
    // Through the product, one 16-channel tile a warp: twice the warps (fig3: 20, 640 units),
    // so that the compiler's register bound, 65536 / units (CubeCL declares only the units a
    // cube), is 102: with 10 warps it took 166 and 168 a unit, one cube of 10 warps an SM
    // (session 24, calls 1-3; the form that writes dx takes 96)
    let per = if product {
        1
    } else {
        s.channels / TILE / warps(s.channels)
    };
    let warps = s.channels / TILE / per;
    // SAFETY: a cube reads replica r's W^T, its group's token rows of u and g, w and bias of
    // replica r, and writes its group's rows of dx (or of du) and its partials; every handle
    // holds those lengths (asserted above, or made here; the form's unused outputs are never
    // written); the shared indices stay below the sizes the kernel declares.
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
            array_arg(&out.dx, lens[0]),
            array_arg(&out.du, lens[1]),
            array_arg(&out.dwt_part, lens[2]),
            array_arg(&out.dw_part, parts * s.taps),
            array_arg(&out.db_part, parts),
            s.batch as u32,
            groups as u32,
            inp.u_row as u32,
            s.len,
            d,
            s.channels,
            s.taps,
            group_tokens(s.len),
            per,
            product,
        );
    }
    out
}
