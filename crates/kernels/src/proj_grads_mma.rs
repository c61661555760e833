//! The xBC product's two gradients on tensor cores, from the dxbc that the fused product +
//! conv's tensor-core backward writes ([`crate::proj_conv_mma_backward`]): du = dxbc W
//! [R, B L, D] and dW^T = u^T dxbc [R, D, C], in one kernel that reads dxbc once, where
//! burn's two products read it twice (0.39 + 0.41 ms a layer at depth 4, R = 36 on an H200,
//! session 19's profile). TF32 16 x 16 x 8 products, dxbc, u and W rounded to TF32 to nearest
//! as they are staged, as burn's TF32 products round them; the sums are others than burn's,
//! so the bits of du and dW differ (MSYM_PROJ_CONV_GRADS=1 turns it on; off by default).
//!
//! **Measured no faster** (depth 4, R = 36, an H200, session 24): 0.79 ms a layer with one
//! half (166 registers, one cube of 10 warps an SM), 0.90 ms with two (96 registers, 281 M
//! warp instructions a launch), where burn's two products take 0.80; a step 1.00x and 0.99x
//! at depth 2, R = 36 (calls 6-7). The wmma products of this form cost more instructions
//! than the bytes they save.
//!
//! Why not inside that backward (session 24, calls 1-5): formed there, from the dx each cube
//! holds, the kernel needed 166-168 registers a unit at 10 warps (one cube an SM) and, at 20
//! warps (96 registers), waited on its barriers: 1.60-1.85 ms a layer against 0.63 + 0.80
//! apart, 0.93-0.97x a step. Apart, this kernel has no conv and its cubes overlap.
//!
//! A cube takes `rounds` groups of 16 tokens of one replica, its two halves alternate groups;
//! W^T is copied into its shared memory once, and dW^T summed there over each half's groups,
//! then the halves' sums added and written as the cube's partial (summed over the cubes by the
//! caller).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;
use crate::proj_conv::{ProjConvInputs, ProjConvShape};
use crate::proj_conv_mma::{DEPTH, PAD_U, PAD_WIDE, TILE};

/// One cube per (replica, run of `rounds` groups of 16 tokens), CubeDim (32, 2 C / 32): two
/// halves of C / 32 warps, each with its own buffers, take alternate groups; unit i of a half
/// stages column i of each dxbc row. Two halves, not one: the compiler's register bound is
/// 65536 / units (CubeCL declares only the units a cube), and with one half (320 units) the
/// products took 166 registers a unit, one cube of 10 warps an SM (0.79 ms a layer, no faster
/// than burn's two products; session 24 call 6). T: tf32.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn product_grads_kernel<T: Float>(
    u: &Array<f32>,            // [R, B, L, D], token rows `u_row` apart
    wt: &Array<f32>,           // [R, D, C], rounded to TF32
    dxbc: &Array<f32>,         // [R, B, L, C]
    du: &mut Array<f32>,       // [R, B, L, D]
    dwt_part: &mut Array<f32>, // [R, cubes, D, C]
    groups: u32,               // groups a replica: B L / 16
    rounds: u32,               // groups a cube
    u_row: u32,
    #[comptime] d: usize,
    #[comptime] c: usize,
) {
    let (up, bp, dc) = comptime!((d + PAD_U, c + PAD_WIDE, d * c));
    let (us_len, buf_len, dwt_len) = comptime!((TILE * up, TILE * bp, d * bp));
    let half_warps = comptime!(c / COLUMNS);
    let half = UNIT_POS_Y as usize / half_warps;
    let warp = UNIT_POS_Y as usize % half_warps;
    let unit = UNIT_POS as usize - half * c; // within the half: one a column
    let cubes = (groups as usize).div_ceil(rounds as usize);
    let r = CUBE_POS_X as usize / cubes;
    let first = (CUBE_POS_X as usize % cubes) * rounds as usize;
    let mut last = first + rounds as usize;
    if last > groups as usize {
        last = groups as usize;
    }
    let mut us = SharedMemory::<T>::new_aligned(comptime!(2 * us_len), 32usize);
    let mut buf = SharedMemory::<f32>::new_aligned(comptime!(2 * buf_len), 32usize);
    let mut dwt = SharedMemory::<f32>::new_aligned(comptime!(2 * dwt_len), 32usize);
    let mut ws = SharedMemory::<f32>::new_aligned(dwt_len, 32usize);
    let (ub, bb, db0) = (half * us_len, half * buf_len, half * dwt_len);
    for j in 0..comptime!(dwt_len.div_ceil(c)) {
        let i = unit + j * c;
        if i < dwt_len {
            dwt[db0 + i] = 0.0f32;
        }
    }
    if half == 0 {
        for j in 0..d {
            ws[j * bp + unit] = wt[r * dc + j * c + unit];
        }
    }
    // a group's dxbc column (16 rows) and u values, loaded into registers one pair ahead
    let uv = comptime!((TILE * d).div_ceil(c));
    let mut xcol = Array::<f32>::new(TILE);
    let mut uvals = Array::<f32>::new(uv);
    let mut g = first + half;
    if g < last {
        load_group(
            u,
            dxbc,
            u_row as usize,
            (r * groups as usize + g) * TILE,
            unit,
            &mut xcol,
            &mut uvals,
            d,
            c,
        );
    }
    let pairs = (last - first).div_ceil(2);
    for _ in 0..pairs {
        // every unit reaches every barrier; a half past its last group skips the work
        let on = g < last;
        let tok0 = (r * groups as usize + g) * TILE;
        if on {
            #[unroll]
            for t in 0..TILE {
                buf[bb + comptime!(t * bp) + unit] = f32::cast_from(T::cast_from(xcol[t]));
            }
            #[unroll]
            for j in 0..uv {
                let i = unit + j * c;
                if i < comptime!(TILE * d) {
                    us[ub + i / d * up + i % d] = T::cast_from(uvals[j]);
                }
            }
        }
        sync_cube(); // ws and dwt's first writes too
        if g + 2 < last {
            load_group(
                u,
                dxbc,
                u_row as usize,
                tok0 + 2 * TILE,
                unit,
                &mut xcol,
                &mut uvals,
                d,
                c,
            );
        }
        if on {
            product_grads::<T>(&us, &mut buf, &mut dwt, &ws, warp, ub, bb, db0, d, c, TILE);
        }
        sync_cube();
        if on {
            // du = the sum of the half's warps' partials, in warp order
            #[unroll]
            for j in 0..uv {
                let i = unit + j * c;
                if i < comptime!(TILE * d) {
                    let (t, e) = (i / d, i % d);
                    let mut sum = 0.0f32;
                    #[unroll]
                    for v in 0..half_warps {
                        sum += buf[bb + t * bp + comptime!(v * COLUMNS) + e];
                    }
                    du[(tok0 + t) * d + e] = sum;
                }
            }
        }
        sync_cube(); // the sums' reads before the next pair's writes
        g += 2;
    }
    // the cube's dW^T: the two halves' sums added (the last barrier ordered their writes)
    if half == 0 {
        for j in 0..d {
            dwt_part[CUBE_POS_X as usize * dc + j * c + unit] = dwt[j * bp + unit] + dwt[dwt_len + j * bp + unit];
        }
    }
}

/// A unit's share of a group of 16 tokens from tok0: column `unit` (of its half) of the
/// group's dxbc rows, and its share of the rows of u.
#[cube]
#[allow(clippy::too_many_arguments)]
fn load_group(
    u: &Array<f32>,
    dxbc: &Array<f32>,
    u_row: usize,
    tok0: usize,
    unit: usize,
    xcol: &mut Array<f32>,
    uvals: &mut Array<f32>,
    #[comptime] d: usize,
    #[comptime] c: usize,
) {
    #[unroll]
    for t in 0..TILE {
        xcol[t] = dxbc[(tok0 + t) * c + unit];
    }
    #[unroll]
    for j in 0..comptime!((TILE * d).div_ceil(c)) {
        let i = unit + j * c;
        if i < comptime!(TILE * d) {
            uvals[j] = u[(tok0 + i / d) * u_row + i % d];
        }
    }
}

/// Columns of dxbc a warp takes (two tiles): fig3's C = 320 is 10 warps.
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

/// The xBC product's two gradients from a group's dx (= dxbc, in `buf`, rounded to TF32), on
/// the tensor cores. Warp w < C / 32 takes 32 columns of dx (the cube's barrier after their
/// loads comes first):
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
    warp: usize,
    ub: usize,
    bb: usize,
    db0: usize,
    #[comptime] d: usize,
    #[comptime] c: usize,
    #[comptime] tm: usize,
) {
    let (up, bp) = comptime!((d + PAD_U, c + PAD_WIDE));
    let col0 = warp * COLUMNS;
    if warp < comptime!(c / COLUMNS) {
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
                    &buf.slice(bb + comptime!(kk * DEPTH * bp) + col, bb + comptime!(tm * bp)),
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
                    &dwt.slice(db0 + comptime!(mt * TILE * bp) + col, db0 + comptime!(d * bp)),
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
                        &us.slice(ub + comptime!(kk * DEPTH * up + mt * TILE), ub + comptime!(tm * up)),
                        comptime!(up as u32),
                    );
                    cmma::execute::<T, T, f32, f32>(&a, bs.index(kk), &acc, &acc);
                }
                cmma::store(
                    &mut dwt.slice_mut(db0 + comptime!(mt * TILE * bp) + col, db0 + comptime!(d * bp)),
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
                        bb + comptime!(m * TILE * bp) + col0 + comptime!(kk * DEPTH),
                        bb + comptime!(tm * bp),
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
                    &mut buf.slice_mut(
                        bb + comptime!(m * TILE * bp + dt * TILE) + col0,
                        bb + comptime!(tm * bp),
                    ),
                    part.index(dt),
                    comptime!(bp as u32),
                    cmma::MatrixLayout::RowMajor,
                );
            }
        }
    }
}

/// Groups of 16 tokens a cube (256 tokens at 16, the default of MSYM_PROJ_CONV_ROUNDS as
/// the forward takes it): each cube copies W^T (40 KB at fig3's size) once for them, and
/// writes one partial dW^T.
fn rounds() -> usize {
    crate::PROJ_CONV_ROUNDS.get().map_or(16, |k| k as usize)
}

/// Whether this kernel takes `shape`: D 16 or 32 (a warp's 32 columns of the shared buffer
/// hold its partial du), C a multiple of 32 up to 512 (one unit a column in each of two
/// halves: at most 1024 units), and whole groups of 16 tokens.
pub fn fits(shape: &ProjConvShape) -> bool {
    let s = &shape.conv;
    shape.d_model.is_multiple_of(TILE)
        && shape.d_model <= COLUMNS
        && s.channels.is_multiple_of(COLUMNS)
        && s.channels <= 512
        && (s.batch * s.len).is_multiple_of(TILE)
}

/// Whether the fused product + conv's tensor-core backward leaves its product's gradients to
/// this kernel: [`fits`], and [`crate::PROJ_CONV_GRADS`] on (MSYM_PROJ_CONV_GRADS=1).
pub fn chosen(shape: &ProjConvShape) -> bool {
    crate::PROJ_CONV_GRADS.load(core::sync::atomic::Ordering::Relaxed) && fits(shape)
}

/// What [`product_grads_mma`] writes: du [R, B, L, D] and the cubes' partial sums of dW^T
/// [R, cubes, D, C] (`cubes` a replica).
#[derive(Debug)]
pub struct ProductGrads {
    pub du: Handle,
    pub dwt_part: Handle,
    pub cubes: usize,
}

/// du = dxbc W and the cubes' partials of dW^T = u^T dxbc for the product of `shape`: `inp.u`
/// and `inp.wt` (the forward's W^T rounded to TF32, [`crate::proj_conv::Kept::RoundedWt`]),
/// dxbc [R, B, L, C] contiguous. The caller checks [`fits`] and that the runtime has TF32
/// products ([`crate::proj_conv_mma::supported`]). Panics where a handle holds less than
/// `shape` reads.
pub fn product_grads_mma<R: Runtime>(
    client: &ComputeClient<R>,
    shape: &ProjConvShape,
    inp: &ProjConvInputs,
    dxbc: &Handle,
) -> ProductGrads {
    let s = &shape.conv;
    let d = shape.d_model;
    crate::assert_holds(&inp.u, shape.u_extent(inp.u_row), 4, "u");
    crate::assert_holds(&inp.wt, shape.wt_len(), 4, "wt");
    crate::assert_holds(dxbc, s.x_len(), 4, "dxbc");
    let groups = s.batch * s.len / TILE;
    let rounds = rounds().min(groups);
    let cubes = groups.div_ceil(rounds);
    let tokens = s.replicas * s.batch * s.len;
    let out = ProductGrads {
        du: client.empty(tokens * d * 4),
        dwt_part: client.empty(s.replicas * cubes * d * s.channels * 4),
        cubes,
    };
    // SAFETY: a cube reads replica r's W^T, its groups' token rows of u and dxbc (below
    // u_extent and x_len: g < groups), and writes those rows of du and its own partial; every
    // handle holds those lengths (asserted above, or made here); the shared indices stay below
    // the sizes the kernel declares.
    unsafe {
        product_grads_kernel::launch_unchecked::<tf32, R>(
            client,
            CubeCount::Static((s.replicas * cubes) as u32, 1, 1),
            CubeDim::new_2d(32, (2 * s.channels / COLUMNS) as u32),
            array_arg(&inp.u, shape.u_extent(inp.u_row)),
            array_arg(&inp.wt, shape.wt_len()),
            array_arg(dxbc, s.x_len()),
            array_arg(&out.du, tokens * d),
            array_arg(&out.dwt_part, s.replicas * cubes * d * s.channels),
            groups as u32,
            rounds as u32,
            inp.u_row as u32,
            d,
            s.channels,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fig3_fits_and_odd_shapes_do_not() {
        assert!(fits(&ProjConvShape::new(36, 2048, 8, 320, 4, 32)));
        assert!(fits(&ProjConvShape::new(1, 256, 3, 32, 3, 16)));
        // D 8 or 48; C not a multiple of 32; 3 sequences of 5 tokens
        assert!(!fits(&ProjConvShape::new(1, 64, 4, 64, 4, 8)));
        assert!(!fits(&ProjConvShape::new(1, 64, 8, 320, 4, 48)));
        assert!(!fits(&ProjConvShape::new(1, 64, 8, 336, 4, 32)));
        assert!(!fits(&ProjConvShape::new(1, 3, 5, 320, 4, 32)));
    }
}
