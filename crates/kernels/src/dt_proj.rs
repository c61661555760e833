//! Mamba2's step size dt = softplus(u . w_dt + dt_bias) as two kernels: in_proj's dt row (one
//! dot product of d_model terms a token), its bias and the softplus forward, and the three
//! gradients backward. In place of the plain ops (`models::grouped::row_product`, then
//! `shift_scalar` and `activation::softplus`), which are about 9 kernels forward and 15
//! backward a layer, each for a [R, B, L] or [R, B L, D] tensor: at R = 1 every launch costs
//! the host 14-17 us while the GPU idles (depth 4: 437 kernels, 2.9 ms of kernel time by ncu in
//! a step the bench times at 5.6-7.6 ms, of which 6.1-7.5 ms is the host's; H200,
//! results/bench/session26-h200-2026-11-29, calls 1-3).
//!
//! One cube per (replica, token group) as the embedding's and the gated norm's kernels, one
//! unit a token. Forward: the dot product in d order, then the bias, then the softplus as
//! max(x, 0) + log1p(exp(-|x|)) (no overflow for large x). Backward, with gx = g sigmoid(x):
//! du[t, k] = gx_t w[k] whole, and dw[k] = sum_t gx_t u[t, k] and dbias = sum_t gx_t as
//! partial sums per token group (each in token order, one unit a sum: the bits repeat), which
//! the caller sums over the groups. x is formed again from u, w and the bias (d FMAs a token)
//! rather than kept.
//!
//! The staged forms ([`DT_STAGED`], on by default) copy the group's rows of u into shared
//! memory a chunk of tokens at a time, consecutive units on consecutive elements, and take
//! every product from there: the plain forms' units each read their own row of d floats, a
//! warp's load touching 32 rows at once (at depth 4, R = 36 on an H200: forward 81 us for
//! 75 MB of u, backward 106 us; staged 50 and 75 us, results/bench/session29-h200-2026-11-29).
//! The same products and sums in the same order: the same bits. One launch kernel each way
//! takes either form (`chunk` 0: the plain one).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// The sizes of one launch. Arrays are contiguous, row-major: u and du [R, T, D] (T = B L
/// tokens a replica), w and dw [R, D], bias [R], dt and its gradient g [R, T].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtShape {
    pub replicas: usize,
    pub tokens: usize,
    pub d: usize,
}

/// The most tokens a group: the backward keeps gx of the group's tokens in shared memory.
pub const MAX_PER_GROUP: usize = 1024;

/// The most units a cube (one a token of the group, striding where the group is longer).
const MAX_UNITS: usize = 256;

/// The most floats of the staged kernels' shared copy of u's rows (32 KiB of f32).
const STAGE_FLOATS: usize = 8192;

/// Whether [`dt_forward`] and [`dt_backward`] run the staged kernels where a chunk of rows
/// fits (MSYM_DT_STAGED, models::launch_shape; on by default): the same bits either way
/// (tests/dt_wgpu.rs).
pub static DT_STAGED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);

impl DtShape {
    /// Elements of u (and du).
    pub fn u_len(&self) -> usize {
        self.dt_len() * self.d
    }
    /// Elements of dt (and g).
    pub fn dt_len(&self) -> usize {
        self.replicas * self.tokens
    }
    /// Elements of w (and dw).
    pub fn w_len(&self) -> usize {
        self.replicas * self.d
    }
    /// Token groups a replica ([`crate::token_groups`], as the embedding's).
    pub fn groups(&self) -> usize {
        crate::token_groups(self.tokens)
    }
    /// Tokens a group.
    pub fn per_group(&self) -> usize {
        self.tokens / self.groups()
    }
    /// Elements of dw_part [R, G, D].
    pub fn dw_part_len(&self) -> usize {
        self.replicas * self.groups() * self.d
    }
    /// Elements of db_part [R, G].
    pub fn db_part_len(&self) -> usize {
        self.replicas * self.groups()
    }
    /// Whether the kernels take these sizes (a group's gx fits the shared array).
    pub fn fits(&self) -> bool {
        self.d > 0 && self.tokens > 0 && self.replicas > 0 && self.per_group() <= MAX_PER_GROUP
    }
    /// Units a cube: a warp's multiple covering the group, at most [`MAX_UNITS`].
    fn units(&self) -> usize {
        self.per_group().next_multiple_of(32).min(MAX_UNITS)
    }
    /// Tokens the staged kernels copy at once: the cube's units, fewer (a multiple of 32)
    /// where their rows, padded to d + 1 floats against bank conflicts, would pass
    /// [`STAGE_FLOATS`]; None where not even 32 rows fit.
    pub fn chunk(&self) -> Option<usize> {
        let fit = STAGE_FLOATS / (self.d + 1) / 32 * 32;
        (fit >= 32).then(|| self.units().min(fit))
    }
    /// The chunk where [`DT_STAGED`] is on and the rows fit, else None (the plain kernels).
    fn staged(&self) -> Option<usize> {
        self.chunk()
            .filter(|_| DT_STAGED.load(core::sync::atomic::Ordering::Relaxed))
    }
}

/// x = u_t . w_r + bias_r: the d products summed in d order, then the bias.
#[cube]
fn pre<F: Float>(u: &Array<F>, w: &Array<F>, bias: F, r: usize, t: usize, #[comptime] d: usize) -> F {
    let mut x = F::new(0.0);
    #[unroll]
    for k in 0..d {
        x += u[t * d + k] * w[r * d + k];
    }
    x + bias
}

/// dt = softplus(x) as max(x, 0) + log1p(exp(-|x|)) (no overflow for large x).
#[cube]
fn softplus<F: Float>(x: F) -> F {
    F::max(x, F::new(0.0)) + F::log1p(F::exp(-F::abs(x)))
}

/// gx = g softplus'(x) = g sigmoid(x); exp(-x) = inf for very negative x gives 0, not NaN.
#[cube]
fn through_softplus<F: Float>(g: F, x: F) -> F {
    g / (F::new(1.0) + F::exp(-x))
}

/// du's rows of `n` tokens from token `from` (in [R, T]): du[t, k] = gx[t - from] w[r, k],
/// consecutive units on consecutive elements.
#[cube]
fn du_rows<F: Float>(
    gx: &SharedMemory<F>,
    w: &Array<F>,
    du: &mut Array<F>,
    r: usize,
    from: usize,
    n: usize,
    #[comptime] d: usize,
) {
    let mut q = UNIT_POS_X as usize;
    while q < n * d {
        du[from * d + q] = gx[q / d] * w[r * d + q % d];
        q += CUBE_DIM_X as usize;
    }
}

/// Cube (replica r, group) = CUBE_POS_X: (r, the group's first token in [R, T]).
#[cube]
fn group_start(tokens_per: u32, groups: u32, #[comptime] per: usize) -> (usize, usize) {
    let rg = CUBE_POS_X as usize;
    let r = rg / groups as usize;
    (r, r * tokens_per as usize + (rg % groups as usize) * per)
}

/// The forward: cube (replica r, group) = CUBE_POS_X; `chunk` 0 for the plain form, else
/// the staged form's tokens a chunk ([`DtShape::chunk`]).
#[cube(launch)]
fn dt_forward_kernel<F: Float>(
    u: &Array<F>,      // [R, T, D]
    w: &Array<F>,      // [R, D]
    bias: &Array<F>,   // [R]
    dt: &mut Array<F>, // [R, T]
    tokens_per: u32,
    groups: u32,
    #[comptime] d: usize,
    #[comptime] per: usize,
    #[comptime] chunk: usize,
) {
    if comptime!(chunk == 0) {
        forward_plain(u, w, bias, dt, tokens_per, groups, d, per);
    } else {
        forward_staged(u, w, bias, dt, tokens_per, groups, d, per, chunk);
    }
}

/// Unit i takes the group's tokens i, i + units, ..
#[cube]
#[allow(clippy::too_many_arguments)]
fn forward_plain<F: Float>(
    u: &Array<F>,
    w: &Array<F>,
    bias: &Array<F>,
    dt: &mut Array<F>,
    tokens_per: u32,
    groups: u32,
    #[comptime] d: usize,
    #[comptime] per: usize,
) {
    let (r, first) = group_start(tokens_per, groups, per);
    let mut i = UNIT_POS_X as usize;
    while i < per {
        dt[first + i] = softplus::<F>(pre(u, w, bias[r], r, first + i, d));
        i += CUBE_DIM_X as usize;
    }
}

/// The backward on the forward's cubes; `chunk` as [`dt_forward_kernel`]'s.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn dt_backward_kernel<F: Float>(
    u: &Array<F>,           // [R, T, D]
    w: &Array<F>,           // [R, D]
    bias: &Array<F>,        // [R]
    g: &Array<F>,           // [R, T]: the gradient of dt
    du: &mut Array<F>,      // [R, T, D]
    dw_part: &mut Array<F>, // [R, G, D]
    db_part: &mut Array<F>, // [R, G]
    tokens_per: u32,
    groups: u32,
    #[comptime] d: usize,
    #[comptime] per: usize,
    #[comptime] chunk: usize,
) {
    if comptime!(chunk == 0) {
        backward_plain(u, w, bias, g, du, dw_part, db_part, tokens_per, groups, d, per);
    } else {
        backward_staged(u, w, bias, g, du, dw_part, db_part, tokens_per, groups, d, per, chunk);
    }
}

/// gx of the group's tokens into shared memory (unit i its tokens), then du's rows
/// (consecutive units on consecutive elements), and the partial sums dw_part[r, g, k] (unit k)
/// and db_part[r, g] (unit d), each over the group's tokens in order.
#[cube]
#[allow(clippy::too_many_arguments)]
fn backward_plain<F: Float>(
    u: &Array<F>,
    w: &Array<F>,
    bias: &Array<F>,
    g: &Array<F>,
    du: &mut Array<F>,
    dw_part: &mut Array<F>,
    db_part: &mut Array<F>,
    tokens_per: u32,
    groups: u32,
    #[comptime] d: usize,
    #[comptime] per: usize,
) {
    let rg = CUBE_POS_X as usize;
    let (r, first) = group_start(tokens_per, groups, per);
    let step = CUBE_DIM_X as usize;
    let mut gx = SharedMemory::<F>::new(per);
    let mut i = UNIT_POS_X as usize;
    while i < per {
        gx[i] = through_softplus::<F>(g[first + i], pre(u, w, bias[r], r, first + i, d));
        i += step;
    }
    sync_cube();
    du_rows::<F>(&gx, w, du, r, first, per, d);
    let mut k = UNIT_POS_X as usize;
    while k <= d {
        let mut acc = F::new(0.0);
        if k < d {
            for j in 0..per {
                acc += gx[j] * u[(first + j) * d + k];
            }
            dw_part[rg * d + k] = acc;
        } else {
            for j in 0..per {
                acc += gx[j];
            }
            db_part[rg] = acc;
        }
        k += step;
    }
}

/// [`pre`] with the token's row in shared memory from `at` on.
#[cube]
fn pre_row<F: Float>(rows: &SharedMemory<F>, at: usize, w: &Array<F>, bias: F, r: usize, #[comptime] d: usize) -> F {
    let mut x = F::new(0.0);
    #[unroll]
    for k in 0..d {
        x += rows[at + k] * w[r * d + k];
    }
    x + bias
}

/// The `n` rows of u from token `from` (in [R, T]) into `rows`, pitched d + 1, consecutive
/// units on consecutive elements; the caller syncs.
#[cube]
fn stage_rows<F: Float>(u: &Array<F>, rows: &mut SharedMemory<F>, from: usize, n: usize, #[comptime] d: usize) {
    let mut q = UNIT_POS_X as usize;
    while q < n * d {
        rows[(q / d) * comptime!(d + 1) + q % d] = u[from * d + q];
        q += CUBE_DIM_X as usize;
    }
}

/// [`forward_plain`] with the rows staged, `chunk` tokens at a time (unit i its token i).
#[cube]
#[allow(clippy::too_many_arguments)]
fn forward_staged<F: Float>(
    u: &Array<F>,      // [R, T, D]
    w: &Array<F>,      // [R, D]
    bias: &Array<F>,   // [R]
    dt: &mut Array<F>, // [R, T]
    tokens_per: u32,
    groups: u32,
    #[comptime] d: usize,
    #[comptime] per: usize,
    #[comptime] chunk: usize,
) {
    let (r, first) = group_start(tokens_per, groups, per);
    let mut rows = SharedMemory::<F>::new(comptime!(chunk * (d + 1)));
    let i = UNIT_POS_X as usize;
    let mut base = 0usize;
    while base < per {
        let n = select(per - base < chunk, per - base, chunk);
        stage_rows(u, &mut rows, first + base, n, d);
        sync_cube();
        if i < n {
            dt[first + base + i] = softplus::<F>(pre_row(&rows, i * comptime!(d + 1), w, bias[r], r, d));
        }
        sync_cube();
        base += chunk;
    }
}

/// [`backward_plain`] with the rows staged, `chunk` tokens at a time: a chunk's gx, its rows
/// of du, then the partial sums carried on in shared memory (unit k owns entry k), so that
/// each still runs over the group's tokens in order.
#[cube]
#[allow(clippy::too_many_arguments)]
fn backward_staged<F: Float>(
    u: &Array<F>,           // [R, T, D]
    w: &Array<F>,           // [R, D]
    bias: &Array<F>,        // [R]
    g: &Array<F>,           // [R, T]: the gradient of dt
    du: &mut Array<F>,      // [R, T, D]
    dw_part: &mut Array<F>, // [R, G, D]
    db_part: &mut Array<F>, // [R, G]
    tokens_per: u32,
    groups: u32,
    #[comptime] d: usize,
    #[comptime] per: usize,
    #[comptime] chunk: usize,
) {
    let rg = CUBE_POS_X as usize;
    let (r, first) = group_start(tokens_per, groups, per);
    let step = CUBE_DIM_X as usize;
    let mut rows = SharedMemory::<F>::new(comptime!(chunk * (d + 1)));
    let mut gx = SharedMemory::<F>::new(chunk);
    let mut acc = SharedMemory::<F>::new(comptime!(d + 1));
    let mut k = UNIT_POS_X as usize;
    while k <= d {
        acc[k] = F::new(0.0);
        k += step;
    }
    let i = UNIT_POS_X as usize;
    let mut base = 0usize;
    while base < per {
        let n = select(per - base < chunk, per - base, chunk);
        stage_rows(u, &mut rows, first + base, n, d);
        sync_cube();
        if i < n {
            let x = pre_row(&rows, i * comptime!(d + 1), w, bias[r], r, d);
            gx[i] = through_softplus::<F>(g[first + base + i], x);
        }
        sync_cube();
        du_rows::<F>(&gx, w, du, r, first + base, n, d);
        let mut k = UNIT_POS_X as usize;
        while k <= d {
            let mut a = acc[k];
            if k < d {
                for j in 0..n {
                    a += gx[j] * rows[j * comptime!(d + 1) + k];
                }
            } else {
                for j in 0..n {
                    a += gx[j];
                }
            }
            acc[k] = a;
            k += step;
        }
        sync_cube();
        base += chunk;
    }
    let mut k = UNIT_POS_X as usize;
    while k <= d {
        if k < d {
            dw_part[rg * d + k] = acc[k];
        } else {
            db_part[rg] = acc[k];
        }
        k += step;
    }
}

fn launch_dims(s: &DtShape) -> (CubeCount, CubeDim) {
    assert!(
        s.fits(),
        "dt: {s:?} does not fit the kernels (at most {MAX_PER_GROUP} tokens a group)"
    );
    crate::token_group_cubes(s.replicas, s.tokens, s.units())
}

/// The step sizes dt [R, T] = softplus(u_t . w_r + bias_r). `u`, `w`, `bias` hold F and the
/// sizes of `shape`.
pub fn dt_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &DtShape,
    u: &Handle,
    w: &Handle,
    bias: &Handle,
) -> Handle {
    let dt = client.empty(shape.dt_len() * core::mem::size_of::<F>());
    let (count, dim) = launch_dims(shape);
    dt_forward_kernel::launch::<F, R>(
        client,
        count,
        dim,
        array_arg(u, shape.u_len()),
        array_arg(w, shape.w_len()),
        array_arg(bias, shape.replicas),
        array_arg(&dt, shape.dt_len()),
        shape.tokens as u32,
        shape.groups() as u32,
        shape.d,
        shape.per_group(),
        shape.staged().unwrap_or(0),
    );
    dt
}

/// The gradients of sum(g * dt): du [R, T, D] whole, dw and dbias as partial sums over the
/// G = [`DtShape::groups`] token groups, dw_part [R, G, D] and db_part [R, G].
pub struct DtGrads {
    pub du: Handle,
    pub dw_part: Handle,
    pub db_part: Handle,
}

/// [`DtGrads`] of the forward's inputs for the upstream gradient `g` [R, T].
pub fn dt_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &DtShape,
    u: &Handle,
    w: &Handle,
    bias: &Handle,
    g: &Handle,
) -> DtGrads {
    let size = core::mem::size_of::<F>();
    let du = client.empty(shape.u_len() * size);
    let dw_part = client.empty(shape.dw_part_len() * size);
    let db_part = client.empty(shape.db_part_len() * size);
    let (count, dim) = launch_dims(shape);
    dt_backward_kernel::launch::<F, R>(
        client,
        count,
        dim,
        array_arg(u, shape.u_len()),
        array_arg(w, shape.w_len()),
        array_arg(bias, shape.replicas),
        array_arg(g, shape.dt_len()),
        array_arg(&du, shape.u_len()),
        array_arg(&dw_part, shape.dw_part_len()),
        array_arg(&db_part, shape.db_part_len()),
        shape.tokens as u32,
        shape.groups() as u32,
        shape.d,
        shape.per_group(),
        shape.staged().unwrap_or(0),
    );
    DtGrads { du, dw_part, db_part }
}
