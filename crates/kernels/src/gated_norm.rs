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
//! One cube per (replica, token group), one unit per channel of each of [`NormShape::lanes`]
//! tokens at a time: the units read the tokens' rows together (coalesced), and each token's
//! two means over E go through shared memory, where every unit of the token's lane sums the
//! same E values in the same order (so every unit gets the same bits, and a run repeats its
//! bits). The lanes take consecutive tokens, and the backward adds their dw terms to the
//! partial sum in token order, so the number of lanes changes no bit (tests/norm_wgpu.rs):
//! it only shortens the cube's walk, a chain of per-token serial sums of E (1.08x at depth 2,
//! R = 9 against the build before, same H200; ncu at depth 4, R = 36: forward 1.92 -> 1.33 ms,
//! backward 2.77 -> 2.34 ms a step, calls 3 and 4 on different H200s;
//! results/bench/session18-h200-2026-11-28).

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
    /// Tokens a cube takes at once: the most, up to [`MAX_LANES`], whose E units each fit
    /// one cube ([`MAX_E`] units) and that divide a group's tokens.
    pub fn lanes(&self) -> usize {
        let per = self.tokens / self.groups().max(1);
        (1..=MAX_LANES)
            .rev()
            .find(|k| k * self.e <= MAX_E && per.is_multiple_of(*k))
            .unwrap_or(1)
    }
}

/// The most tokens a cube of the norm kernels takes at once.
pub const MAX_LANES: usize = 8;

/// sum_j shared[lane E + j] for j < E, in one fixed order, after the cube has written them all.
#[cube]
fn lane_sum<F: Float>(shared: &SharedMemory<F>, lane: usize, #[comptime] e: usize) -> F {
    let mut acc = F::new(0.0);
    for j in 0..e {
        acc += shared[lane * e + j];
    }
    acc
}

/// Cube (replica r, group g) = CUBE_POS_X, unit UNIT_POS_X = lane E + i (channel i of the
/// lane's token); it walks the group's tokens `lanes` at a time.
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
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let per = tokens as usize / gs;
    let lane = UNIT_POS_X as usize / e;
    let i = UNIT_POS_X as usize % e;
    let mut sq = SharedMemory::<F>::new(comptime!(lanes * e));
    let wi = w[r * e + i];
    let first = r * (tokens as usize) + (rg % gs) * per;
    let mut base = first;
    while base < first + per {
        let at = (base + lane) * e + i;
        let mut v = y[at];
        if gated {
            let zi = z[at];
            v = v * zi / (F::new(1.0) + F::exp(-zi));
        }
        sq[lane * e + i] = v * v;
        sync_cube();
        let inv = F::new(1.0) / F::sqrt(lane_sum(&sq, lane, e) / F::cast_from(e) + F::cast_from(eps));
        sync_cube(); // every unit has read sq before the next tokens overwrite it
        out[at] = v * inv * wi;
        base += lanes;
    }
}

/// The same cubes: per token, the two means over E, then dy, dz and the term g v inv of dw;
/// lane 0's units add the lanes' terms to their channel's partial dw in token order.
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
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let per = tokens as usize / gs;
    let lane = UNIT_POS_X as usize / e;
    let i = UNIT_POS_X as usize % e;
    let mut sq = SharedMemory::<F>::new(comptime!(lanes * e)); // v_j^2
    let mut gv = SharedMemory::<F>::new(comptime!(lanes * e)); // gw_j v_j
    // dw's term g_i v_i inv as its two factors: lane 0 forms dw += (g v) inv as one unit
    // with one lane writes it, which CUDA's compiler contracts into one fused multiply-add (a
    // stored product g v inv, added after, gave other bits on an H200 than one lane)
    let mut gvi = SharedMemory::<F>::new(comptime!(lanes * e)); // g_i v_i
    let mut invs = SharedMemory::<F>::new(comptime!(lanes * e)); // the lane's inv
    let wi = w[r * e + i];
    let n = F::cast_from(e);
    let mut dwi = F::new(0.0);
    let first = r * (tokens as usize) + (rg % gs) * per;
    let mut base = first;
    while base < first + per {
        let at = (base + lane) * e + i;
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
        sq[lane * e + i] = v * v;
        gv[lane * e + i] = gw * v;
        sync_cube();
        if lane == 0 && base > first {
            // the previous tokens' terms, written before this sync
            for k in 0..lanes {
                dwi += gvi[k * e + i] * invs[k * e + i];
            }
        }
        let inv = F::new(1.0) / F::sqrt(lane_sum(&sq, lane, e) / n + F::cast_from(eps));
        let mean_gv = lane_sum(&gv, lane, e) / n;
        sync_cube();
        let dv = inv * (gw - v * inv * inv * mean_gv);
        if gated {
            dy[at] = dv * zi * s;
            dz[at] = dv * yi * s * (F::new(1.0) + zi * (F::new(1.0) - s));
        } else {
            dy[at] = dv;
        }
        gvi[lane * e + i] = gi * v;
        invs[lane * e + i] = inv;
        base += lanes;
    }
    sync_cube();
    if lane == 0 {
        for k in 0..lanes {
            dwi += gvi[k * e + i] * invs[k * e + i];
        }
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

fn launch_dims(s: &NormShape, lanes: usize) -> (CubeCount, CubeDim) {
    assert!(s.fits(), "gated norm: E = {} is not in 1..={MAX_E}", s.e);
    let per = s.tokens / s.groups();
    assert!(
        lanes >= 1 && lanes * s.e <= MAX_E && per.is_multiple_of(lanes),
        "gated norm: {lanes} lanes of E = {} do not fit a cube or divide a group's {per} tokens",
        s.e
    );
    crate::token_group_cubes(s.replicas, s.tokens, lanes * s.e)
}

/// out = RMSNorm(y * SiLU(z)) * w [R, T, E] (RMSNorm(y) * w without the gate). The input handles must hold the sizes of
/// `shape` (the launch is bounds-checked: a short handle reads zeros, not another buffer).
pub fn gated_norm_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    eps: f32,
) -> Handle {
    gated_norm_forward_lanes::<R, F>(client, shape, inp, eps, shape.lanes())
}

/// [`gated_norm_forward`] with the tokens a cube takes at once chosen by the caller (for the
/// tests that show the lanes change no bit).
pub fn gated_norm_forward_lanes<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    eps: f32,
    lanes: usize,
) -> Handle {
    let out = client.empty(shape.x_len() * core::mem::size_of::<F>());
    let (count, dim) = launch_dims(shape, lanes);
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
        lanes,
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

/// The gradients of sum(g * out) with respect to y, z (with the gate) and w.
pub fn gated_norm_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    g: &Handle,
    eps: f32,
) -> NormGrads {
    gated_norm_backward_lanes::<R, F>(client, shape, inp, g, eps, shape.lanes())
}

/// [`gated_norm_backward`] with the tokens a cube takes at once chosen by the caller.
pub fn gated_norm_backward_lanes<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &NormShape,
    inp: &NormInputs,
    g: &Handle,
    eps: f32,
    lanes: usize,
) -> NormGrads {
    let f = core::mem::size_of::<F>();
    let parts = shape.replicas * shape.groups() * shape.e;
    let dy = client.empty(shape.x_len() * f);
    // without the gate the kernel writes no dz: one element stands in for the argument
    let dz = client.empty(if shape.gated { shape.x_len() * f } else { f });
    let dw_part = client.empty(parts * f);
    let (count, dim) = launch_dims(shape, lanes);
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
        lanes,
    );
    NormGrads {
        dy,
        dz: shape.gated.then_some(dz),
        dw_part,
    }
}
