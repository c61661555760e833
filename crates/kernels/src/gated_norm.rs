//! The Mamba2 block's gated RMSNorm as two kernels, forward and backward:
//! out = RMSNorm(y * SiLU(z)) * w, in place of about 12 element-wise kernels forward and
//! twice that backward a layer (`models::ops::rms_norm` of `y.mul(silu(z))`; 0.95 ms a layer
//! forward at R = 36 on an H200, results/bench/session11-h200-2026-11-27), each a pass over
//! [R, B, L, E] through device memory. Without the gate ([`NormShape::gated`] false) the
//! same kernels are the plain RMSNorm(y) * w, the block's input norm (about 30 kernels a
//! layer backward, 1.1 ms at R = 36, results/bench/session12-h200-2026-11-27).
//!
//! Per token, over its E channels i, with s = sigmoid(z):
//!   v_i = y_i z_i s_i (gated) or y_i (not),   inv = 1 / sqrt(mean_i v_i^2 + eps),
//!   out_i = v_i inv w_i.
//! Backward, with g the upstream gradient and gw_i = g_i w_i:
//!   dv_i = inv (gw_i - v_i inv^2 mean_j(gw_j v_j)),
//!   gated: dy_i = dv_i z_i s_i,   dz_i = dv_i y_i s_i (1 + z_i (1 - s_i));  not: dy_i = dv_i,
//!   dw_i = sum over the replica's tokens of g_i v_i inv.
//! dw is a sum over every token of a replica: the kernel writes one partial sum per group of
//! tokens ([R, G, E]) and the caller sums over G, as the conv kernels do.
//!
//! One cube per (replica, token group), one unit per channel of each of [`NormTiling::lanes`]
//! tokens; the cube walks its group a batch of [`NormTiling::batch`] tokens at a time, each
//! unit taking [`NormTiling::per_unit`] of them (the units read the batch's rows together,
//! coalesced). Each token's two sums over E run in one unit, a warp's units taking one token
//! each, over a padded row of shared memory (no bank conflicts), in channel order; the backward
//! adds the tokens' dw terms to the partial sum in token order. So the tiling changes no bit
//! (tests/norm_wgpu.rs): it only sets how many tokens the cube's walk takes between barriers.
//!
//! Why one unit a sum: until session 19 every unit of a token summed the same E values (so
//! that each got the sum without a broadcast), 2 x E shared loads and adds per unit and token:
//! by my count about 500 warp instructions a token of fig3's gated backward. By the bytes each
//! moves, ncu's times at depth 4, R = 36 (results/bench/session18-h200-2026-11-28/call4) put
//! every norm kernel at 1.7-1.9 TB/s, under 40% of the H200's bandwidth, whatever its size: the
//! gated backward (5 arrays of E = 64) at 432 us, the input norm's (3 of D = 32) at 120 us.
//! One unit a sum (session 19, results/bench/session19-h200-2026-11-28/call1): the same bits
//! on the H200, 1.05x at depth 2, R = 9 against the build before; ncu, against that call 4 on
//! another machine: the input norm 78 -> 39 us forward and 120 -> 59 us backward, the gated
//! norm 234 -> 143 us and 432 -> 345 us. The lanes form (4 or 8 tokens between barriers,
//! 1.08x at depth 2, R = 9, session 18) was the step before.

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// The sizes of one launch. Arrays are contiguous, row-major: y, z, out, dy, dz [R, T, E]
/// (T = B L tokens a replica); w [R, E].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormShape {
    pub replicas: usize,
    pub tokens: usize,
    pub e: usize,
    /// RMSNorm(y * SiLU(z)) * w where true; RMSNorm(y) * w (no z) where false.
    pub gated: bool,
}

/// The widest E one cube takes (one unit a channel).
pub const MAX_E: usize = 256;

impl NormShape {
    /// Elements of y (and z, out, dy, dz).
    pub fn x_len(&self) -> usize {
        self.replicas * self.tokens * self.e
    }
    /// Elements of w.
    pub fn w_len(&self) -> usize {
        self.replicas * self.e
    }
    /// Token groups a replica (cubes of the launch per replica; [`crate::token_groups`]).
    pub fn groups(&self) -> usize {
        crate::token_groups(self.tokens)
    }
    /// Whether one cube can take a token (E units).
    pub fn fits(&self) -> bool {
        self.e > 0 && self.e <= MAX_E
    }
    /// How a cube walks its tokens: [`NormTiling::lanes`] rows of E units, the most up to
    /// [`MAX_LANES`] that fit [`MAX_E`] units and divide a group's tokens, each unit taking
    /// the most tokens a batch that [`NormShape::allows`] (at most [`MAX_BATCH`] a batch).
    pub fn tiling(&self) -> NormTiling {
        self.tiling_at_most(MAX_BATCH)
    }

    /// [`NormShape::tiling`] with each unit taking at most `cap` tokens a batch (the most
    /// that [`NormShape::allows`]; 1 where none does).
    pub fn tiling_at_most(&self, cap: usize) -> NormTiling {
        let per = self.tokens / self.groups().max(1);
        let lanes = (1..=MAX_LANES)
            .rev()
            .find(|k| k * self.e <= MAX_E && per.is_multiple_of(*k))
            .unwrap_or(1);
        let per_unit = (1..=cap.min(MAX_BATCH))
            .rev()
            .find(|k| self.allows(NormTiling { lanes, per_unit: *k }))
            .unwrap_or(1);
        NormTiling { lanes, per_unit }
    }

    /// The backward's walk: [`NormShape::tiling_at_most`] the tokens a unit that
    /// [`crate::NORM_BACKWARD_PER_UNIT`] set, else [`BACKWARD_PER_UNIT`]. Why apart from
    /// the forward's: the backward keeps six values a token in each unit's registers, the
    /// forward one.
    pub fn backward_tiling(&self) -> NormTiling {
        let cap = crate::NORM_BACKWARD_PER_UNIT
            .get()
            .map_or(BACKWARD_PER_UNIT, |k| k as usize);
        self.tiling_at_most(cap)
    }

    /// Whether the kernels can walk this shape's groups so: lanes x E units fit a cube, the
    /// batch divides a group's tokens, has a unit for each token's sums (per_unit <= E), is at
    /// most [`MAX_BATCH`] tokens and its padded rows fit [`MAX_SHARED_ROWS`].
    pub fn allows(&self, t: NormTiling) -> bool {
        let per = self.tokens / self.groups().max(1);
        t.lanes >= 1
            && t.lanes * self.e <= MAX_E
            && t.per_unit >= 1
            && t.per_unit <= self.e
            && per.is_multiple_of(t.batch())
            && t.batch() <= MAX_BATCH
            && t.batch() * stride(self.e) <= MAX_SHARED_ROWS
    }
}

/// The most tokens a unit of the backward takes a batch, by default. ncu at depth 4, R = 36 on
/// an H200 (results/bench/session21-h200-2026-11-28, call 1), fig3's gated norm backward
/// (E = 64, 4 lanes) a launch: 8 tokens a unit (the forward's walk) 351 us at 76 registers and
/// 36% of the warps an SM can hold; 4 tokens 258 us at 47 registers and 61%; 2 tokens 284 us;
/// 1 token 273 us. The input norm's backward (D = 32, 8 lanes) takes 4 either way (61 us).
pub const BACKWARD_PER_UNIT: usize = 4;

/// The most token rows a cube of the norm kernels holds units for.
pub const MAX_LANES: usize = 8;

/// The most tokens a batch of the norm kernels' walk: a warp's units, one a token's sums.
pub const MAX_BATCH: usize = 32;

/// The most floats of one shared array of a batch (its padded rows): three of them, 27 KB,
/// fit the backward's cube on lavapipe (where 40 KB of shared memory did not, session 18)
/// and on CUDA. fig3's E = 64 takes 32 tokens (2080 floats).
pub const MAX_SHARED_ROWS: usize = 2304;

/// How a cube of the norm kernels walks its group's tokens (see [`NormShape::tiling`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormTiling {
    /// Token rows of E units: the cube has lanes x E units.
    pub lanes: usize,
    /// Tokens each unit takes a batch, token lane + k lanes for k < per_unit.
    pub per_unit: usize,
}

impl NormTiling {
    /// Tokens a batch: lanes x per_unit.
    pub fn batch(&self) -> usize {
        self.lanes * self.per_unit
    }
}

/// The padded row of a token in the kernels' shared sums: an odd stride, so that the batch's
/// summing units (a token each, in one warp) read different banks.
fn stride(e: usize) -> usize {
    e | 1
}

/// sum_j shared[row stride + j] for j < E, in channel order, after the cube has written them.
#[cube]
fn row_sum<F: Float>(shared: &SharedMemory<F>, row: usize, #[comptime] e: usize) -> F {
    let mut acc = F::new(0.0);
    let at = row * comptime!(stride(e));
    #[unroll]
    for j in 0..e {
        acc += shared[at + j];
    }
    acc
}

/// Cube (replica r, group g) = CUBE_POS_X, unit UNIT_POS_X = lane E + i (channel i); a batch's
/// token t = lane + k lanes (k < per_unit) is the group's token base + t.
#[cube(launch)]
fn gated_norm_forward_kernel<F: Float>(
    y: &Array<F>,       // [R, T, E]
    z: &Array<F>,       // [R, T, E] (not read without the gate)
    w: &Array<F>,       // [R, E]
    out: &mut Array<F>, // [R, T, E]
    tokens: u32,
    groups: u32,
    eps: f32,
    #[comptime] e: usize,
    #[comptime] gated: bool,
    #[comptime] lanes: usize,
    #[comptime] per_unit: usize,
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let per = tokens as usize / gs;
    let u = UNIT_POS_X as usize;
    let lane = u / e;
    let i = u % e;
    let batch = comptime!(lanes * per_unit);
    let row = comptime!(stride(e));
    let mut sq = SharedMemory::<F>::new(comptime!(lanes * per_unit * stride(e))); // v^2
    let mut invs = SharedMemory::<F>::new(comptime!(lanes * per_unit)); // each token's inv
    let wi = w[r * e + i];
    let first = r * (tokens as usize) + (rg % gs) * per;
    let mut base = first;
    while base < first + per {
        let mut vs = Array::<F>::new(per_unit);
        #[unroll]
        for k in 0..per_unit {
            let t = lane + k * lanes;
            let at = (base + t) * e + i;
            let mut v = y[at];
            if gated {
                let zi = z[at];
                v = v * zi / (F::new(1.0) + F::exp(-zi));
            }
            vs[k] = v;
            sq[t * row + i] = v * v;
        }
        sync_cube();
        if u < batch {
            invs[u] = F::new(1.0) / F::sqrt(row_sum(&sq, u, e) / F::cast_from(e) + F::cast_from(eps));
        }
        sync_cube(); // the invs are written, and every sum has read sq before the next batch
        #[unroll]
        for k in 0..per_unit {
            let t = lane + k * lanes;
            out[(base + t) * e + i] = vs[k] * invs[t] * wi;
        }
        base += batch;
    }
}

/// The same cubes: per token, the two means over E, then dy, dz and the term g v inv of dw;
/// the units of lane 0 add the batch's terms to their channel's partial dw in token order.
#[cube(launch)]
fn gated_norm_backward_kernel<F: Float>(
    y: &Array<F>,           // [R, T, E]
    z: &Array<F>,           // [R, T, E] (not read without the gate)
    w: &Array<F>,           // [R, E]
    g: &Array<F>,           // [R, T, E], the upstream gradient
    dy: &mut Array<F>,      // [R, T, E]
    dz: &mut Array<F>,      // [R, T, E] (not written without the gate)
    dw_part: &mut Array<F>, // [R, G, E]
    tokens: u32,
    groups: u32,
    eps: f32,
    #[comptime] e: usize,
    #[comptime] gated: bool,
    #[comptime] lanes: usize,
    #[comptime] per_unit: usize,
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let per = tokens as usize / gs;
    let u = UNIT_POS_X as usize;
    let lane = u / e;
    let i = u % e;
    let batch = comptime!(lanes * per_unit);
    let row = comptime!(stride(e));
    let mut sq = SharedMemory::<F>::new(comptime!(lanes * per_unit * stride(e))); // v_j^2
    let mut gv = SharedMemory::<F>::new(comptime!(lanes * per_unit * stride(e))); // gw_j v_j
    // dw's term g_i v_i inv as its two factors: lane 0's units form dw += (g v) inv as one
    // multiply-add, which CUDA's compiler contracts (a stored product g v inv, added after,
    // gave other bits on an H200 than one lane, session 18)
    let mut gvi = SharedMemory::<F>::new(comptime!(lanes * per_unit * stride(e))); // g_i v_i
    let mut invs = SharedMemory::<F>::new(comptime!(lanes * per_unit)); // each token's inv
    let mut means = SharedMemory::<F>::new(comptime!(lanes * per_unit)); // mean_j gw_j v_j
    let wi = w[r * e + i];
    let n = F::cast_from(e);
    let mut dwi = F::new(0.0);
    let first = r * (tokens as usize) + (rg % gs) * per;
    let mut base = first;
    while base < first + per {
        let mut ys = Array::<F>::new(per_unit);
        let mut zs = Array::<F>::new(per_unit);
        let mut ss = Array::<F>::new(per_unit);
        let mut vs = Array::<F>::new(per_unit);
        let mut gis = Array::<F>::new(per_unit);
        let mut gws = Array::<F>::new(per_unit);
        #[unroll]
        for k in 0..per_unit {
            let t = lane + k * lanes;
            let at = (base + t) * e + i;
            let (yi, gi) = (y[at], g[at]);
            let mut zi = F::new(0.0);
            let mut s = F::new(1.0);
            let mut v = yi;
            if gated {
                zi = z[at];
                s = F::new(1.0) / (F::new(1.0) + F::exp(-zi));
                v = yi * zi * s;
            }
            let gw = gi * wi;
            sq[t * row + i] = v * v;
            gv[t * row + i] = gw * v;
            ys[k] = yi;
            zs[k] = zi;
            ss[k] = s;
            vs[k] = v;
            gis[k] = gi;
            gws[k] = gw;
        }
        sync_cube();
        if u < batch {
            invs[u] = F::new(1.0) / F::sqrt(row_sum(&sq, u, e) / n + F::cast_from(eps));
            means[u] = row_sum(&gv, u, e) / n;
        }
        sync_cube();
        #[unroll]
        for k in 0..per_unit {
            let t = lane + k * lanes;
            let at = (base + t) * e + i;
            let (inv, v, s, zi) = (invs[t], vs[k], ss[k], zs[k]);
            let dv = inv * (gws[k] - v * inv * inv * means[t]);
            if gated {
                dy[at] = dv * zi * s;
                dz[at] = dv * ys[k] * s * (F::new(1.0) + zi * (F::new(1.0) - s));
            } else {
                dy[at] = dv;
            }
            gvi[t * row + i] = gis[k] * v;
        }
        sync_cube(); // the batch's terms are written; the next sums overwrite invs after a barrier
        if lane == 0 {
            for t in 0..batch {
                dwi += gvi[t * row + i] * invs[t];
            }
        }
        base += batch;
    }
    if lane == 0 {
        dw_part[rg * e + i] = dwi;
    }
}

/// The device arrays of one launch (sizes in [`NormShape`]); z is None without the gate.
#[derive(Debug, Clone)]
pub struct NormInputs {
    pub y: Handle,
    pub z: Option<Handle>,
    pub w: Handle,
}

impl NormInputs {
    fn args<R: Runtime>(&self, s: &NormShape) -> [ArrayArg<R>; 3] {
        assert_eq!(self.z.is_some(), s.gated, "gated norm: z is given exactly when gated");
        [
            array_arg(&self.y, s.x_len()),
            // without the gate the kernels never read z: y stands in for the argument
            array_arg(self.z.as_ref().unwrap_or(&self.y), s.x_len()),
            array_arg(&self.w, s.w_len()),
        ]
    }
}

fn launch_dims(s: &NormShape, tiling: NormTiling) -> (CubeCount, CubeDim) {
    assert!(s.fits(), "gated norm: E = {} is not in 1..={MAX_E}", s.e);
    assert!(
        s.allows(tiling),
        "gated norm: {tiling:?} of E = {} does not fit a cube or divide a group's {} tokens",
        s.e,
        s.tokens / s.groups()
    );
    crate::token_group_cubes(s.replicas, s.tokens, tiling.lanes * s.e)
}

/// out = RMSNorm(y * SiLU(z)) * w [R, T, E] (RMSNorm(y) * w without the gate). The input handles must hold the sizes of
/// `shape` (the launch is bounds-checked: a short handle reads zeros, not another buffer).
pub fn gated_norm_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    eps: f32,
) -> Handle {
    gated_norm_forward_tiled::<R, F>(client, shape, inp, eps, shape.tiling())
}

/// [`gated_norm_forward`] with the cube's walk chosen by the caller (for the tests that show
/// the tiling changes no bit).
pub fn gated_norm_forward_tiled<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    eps: f32,
    tiling: NormTiling,
) -> Handle {
    let out = client.empty(shape.x_len() * core::mem::size_of::<F>());
    let (count, dim) = launch_dims(shape, tiling);
    let [y, z, w] = inp.args::<R>(shape);
    gated_norm_forward_kernel::launch::<F, R>(
        client,
        count,
        dim,
        y,
        z,
        w,
        array_arg(&out, shape.x_len()),
        shape.tokens as u32,
        shape.groups() as u32,
        eps,
        shape.e,
        shape.gated,
        tiling.lanes,
        tiling.per_unit,
    );
    out
}

/// What [`gated_norm_backward`] returns: dy, dz [R, T, E] whole (dz None without the gate),
/// dw as partial sums over the G = [`NormShape::groups`] token groups ([R, G, E]).
#[derive(Debug)]
pub struct NormGrads {
    pub dy: Handle,
    pub dz: Option<Handle>,
    pub dw_part: Handle,
}

/// The gradients of sum(g * out) with respect to y, z (with the gate) and w, the cube's walk
/// [`NormShape::backward_tiling`].
pub fn gated_norm_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    g: &Handle,
    eps: f32,
) -> NormGrads {
    gated_norm_backward_tiled::<R, F>(client, shape, inp, g, eps, shape.backward_tiling())
}

/// [`gated_norm_backward`] with the cube's walk chosen by the caller.
pub fn gated_norm_backward_tiled<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    g: &Handle,
    eps: f32,
    tiling: NormTiling,
) -> NormGrads {
    let f = core::mem::size_of::<F>();
    let parts = shape.replicas * shape.groups() * shape.e;
    let dy = client.empty(shape.x_len() * f);
    // without the gate the kernel writes no dz: one element stands in for the argument
    let dz = client.empty(if shape.gated { shape.x_len() * f } else { f });
    let dw_part = client.empty(parts * f);
    let (count, dim) = launch_dims(shape, tiling);
    let [y, z, w] = inp.args::<R>(shape);
    gated_norm_backward_kernel::launch::<F, R>(
        client,
        count,
        dim,
        y,
        z,
        w,
        array_arg(g, shape.x_len()),
        array_arg(&dy, shape.x_len()),
        array_arg(&dz, if shape.gated { shape.x_len() } else { 1 }),
        array_arg(&dw_part, parts),
        shape.tokens as u32,
        shape.groups() as u32,
        eps,
        shape.e,
        shape.gated,
        tiling.lanes,
        tiling.per_unit,
    );
    NormGrads {
        dy,
        dz: shape.gated.then_some(dz),
        dw_part,
    }
}
