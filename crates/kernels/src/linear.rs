//! A linear map without bias, y = x W^T, as three small kernels in f32 on the CUDA cores: the
//! product of token rows with a small matrix kept in shared memory (the forward, and the
//! input's gradient dx = g W), the weight's gradient dW = g^T x as partial sums per token
//! group, and the sum over those groups.
//!
//! Why: at R = 1 the host's work for each launch sets the step, and burn's matmul is the
//! dearest launch there: cubek's strategy, views and layouts are set up again every call, about
//! 22-33 us of host time each against about 3 us for one of this crate's kernels (host profile
//! at depth 4, R = 1 on an H200, results/bench/session27-h200-2026-11-29, call 5). A linear
//! map took four such launches a step (the product, two products backward, and burn's sum of
//! the weight gradient's token groups); here it takes four cheap ones. The products are small
//! (fig3: d_model 32 against d_inner 64), so the CUDA cores keep up with the GPU's idle time
//! at R = 1; the sweep's many replicas keep cubek's tensor-core tiles (the caller chooses).
//!
//! Numerics: every sum runs in a fixed order (k order in a product, token order in a group,
//! group order over the groups), so the bits repeat. f32 throughout, where burn's matmul
//! rounds f32 inputs to TF32 on tensor-core cards: the values differ from burn's by that
//! rounding and the order of the sums.

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// The sizes of one map. Arrays are contiguous, row-major: x and dx [R, M, K], w and dw
/// [R, N, K] (PyTorch's layout: out x in), y and its gradient g [R, M, N].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearShape {
    pub replicas: usize,
    /// Tokens a replica.
    pub tokens: usize,
    /// In features.
    pub k: usize,
    /// Out features.
    pub n: usize,
}

/// The most tokens a group of the weight gradient's partial sums (one unit walks them).
pub const MAX_PER_GROUP: usize = 1024;

/// Units a cube of every kernel here.
const UNITS: usize = 256;

/// Token rows a cube of the products (each unit takes rows x width / 256 outputs, four rows
/// at a time): a multiple of 4.
const ROWS_PER_CUBE: usize = 32;

impl LinearShape {
    /// Elements of x (and dx).
    pub fn x_len(&self) -> usize {
        self.replicas * self.tokens * self.k
    }
    /// Elements of y (and g).
    pub fn y_len(&self) -> usize {
        self.replicas * self.tokens * self.n
    }
    /// Elements of w (and dw).
    pub fn w_len(&self) -> usize {
        self.replicas * self.n * self.k
    }
    /// Token groups a replica of the weight gradient's partial sums ([`crate::token_groups`]).
    pub fn groups(&self) -> usize {
        crate::token_groups(self.tokens)
    }
    /// Tokens a group.
    pub fn per_group(&self) -> usize {
        self.tokens / self.groups()
    }
    /// Whether the kernels take these sizes where a cube has `shared` bytes of shared memory
    /// (the client's `max_shared_memory_size`): an f32 weight that fits it (a cube of the
    /// products keeps the whole weight there), a group that one unit walks, nothing empty.
    pub fn fits(&self, shared: usize) -> bool {
        self.replicas > 0
            && self.tokens > 0
            && self.k > 0
            && self.n > 0
            && self.n * self.k * core::mem::size_of::<f32>() <= shared
            && self.per_group() <= MAX_PER_GROUP
    }
    /// [`Self::fits`] on `client`.
    pub fn fits_on<R: Runtime>(&self, client: &ComputeClient<R>) -> bool {
        self.fits(client.properties().hardware.max_shared_memory_size)
    }
    fn check<R: Runtime>(&self, client: &ComputeClient<R>) {
        assert!(
            self.fits_on(client),
            "linear: {self:?} does not fit the kernels (a weight within the shared memory, at most {MAX_PER_GROUP} tokens a group)"
        );
    }
}

/// out[r, m, c] = sum_j a[r, m, j] b[r, j, c] for the `rows` rows of a [R, rows, width_in],
/// with b read from w as [width_in, width_out] (`w_is_out_by_in` false: dx = g W) or as its
/// transpose (true: w is [width_out, width_in], y = x W^T). Cube CUBE_POS_X = (replica, block of
/// ROWS_PER_CUBE rows): the replica's b into shared memory, then each unit one column c of
/// four consecutive rows at a time (consecutive units on consecutive columns), each output a
/// sum in j order. Why four rows a unit: each b[j, c] read from shared memory serves four
/// products, and the four a[m, j] are one address across the warp (a broadcast); one row a
/// unit read b once a product: 21-24 us a fig3 product of 16384 rows and 92 us xBC's dx,
/// against 18-22 and 82 us four rows a unit (ncu on an H200, session 28, calls 2-3).
#[cube(launch)]
fn rows_by_weight_kernel<F: Float>(
    a: &Array<F>,       // [R, rows, width_in]
    w: &Array<F>,       // [R, width_out, width_in] or [R, width_in, width_out]
    out: &mut Array<F>, // [R, rows, width_out]
    rows: u32,
    cubes_per_replica: u32,
    #[comptime] width_in: usize,
    #[comptime] width_out: usize,
    #[comptime] w_is_out_by_in: bool,
) {
    let r = CUBE_POS_X as usize / cubes_per_replica as usize;
    let block = CUBE_POS_X as usize % cubes_per_replica as usize;
    let step = CUBE_DIM_X as usize;
    let size = comptime!(width_in * width_out);
    let mut b = SharedMemory::<F>::new(size); // [width_in, width_out]
    let mut q = UNIT_POS_X as usize;
    while q < size {
        let j = q / width_out;
        let c = q % width_out;
        if w_is_out_by_in {
            b[q] = w[r * size + c * width_in + j];
        } else {
            b[q] = w[r * size + q];
        }
        q += step;
    }
    sync_cube();
    let first = r * rows as usize + block * comptime!(ROWS_PER_CUBE);
    let last = (r + 1) * rows as usize;
    let mut q = UNIT_POS_X as usize;
    while q < comptime!(ROWS_PER_CUBE / 4 * width_out) {
        let m = first + 4 * (q / width_out);
        let c = q % width_out;
        // rows past the replica's read row m instead (in bounds) and are not written
        let m1 = select(m + 1 < last, m + 1, m);
        let m2 = select(m + 2 < last, m + 2, m);
        let m3 = select(m + 3 < last, m + 3, m);
        if m < last {
            let mut acc0 = F::new(0.0);
            let mut acc1 = F::new(0.0);
            let mut acc2 = F::new(0.0);
            let mut acc3 = F::new(0.0);
            #[unroll]
            for j in 0..width_in {
                let bj = b[j * width_out + c];
                acc0 += a[m * width_in + j] * bj;
                acc1 += a[m1 * width_in + j] * bj;
                acc2 += a[m2 * width_in + j] * bj;
                acc3 += a[m3 * width_in + j] * bj;
            }
            out[m * width_out + c] = acc0;
            if m + 1 < last {
                out[m1 * width_out + c] = acc1;
            }
            if m + 2 < last {
                out[m2 * width_out + c] = acc2;
            }
            if m + 3 < last {
                out[m3 * width_out + c] = acc3;
            }
        }
        q += step;
    }
}

/// part[r, grp, o, i] = sum over the group's tokens t (in order) of g[r, t, o] x[r, t, i].
/// Cube (CUBE_POS_X, CUBE_POS_Y) = ((replica, group), block of 256 outputs of [N, K]); unit
/// its output, consecutive units on consecutive i (x's row read whole by a warp, g's element
/// shared). One output a unit: four (o) a unit, which read each x[t, i] once for four
/// products, took 56 us where this took 29 for a fig3 weight of 64 x 32 (ncu on an H200,
/// session 28, calls 2-3): a quarter of the units, each with a chain four times longer.
#[cube(launch)]
fn weight_grad_parts_kernel<F: Float>(
    g: &Array<F>,        // [R, M, N]
    x: &Array<F>,        // [R, M, K]
    part: &mut Array<F>, // [R, G, N, K]
    tokens: u32,
    groups: u32,
    #[comptime] k: usize,
    #[comptime] n: usize,
    #[comptime] per: usize,
) {
    let rg = CUBE_POS_X as usize;
    let r = rg / groups as usize;
    let first = r * tokens as usize + (rg % groups as usize) * per;
    let q = CUBE_POS_Y as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    if q < comptime!(n * k) {
        let o = q / k;
        let i = q % k;
        let mut acc = F::new(0.0);
        for t in 0..per {
            acc += g[(first + t) * n + o] * x[(first + t) * k + i];
        }
        part[rg * comptime!(n * k) + q] = acc;
    }
}

/// out[r, j] = sum over g (in order) of part[r, g, j]; one unit an output.
#[cube(launch)]
fn sum_groups_kernel<F: Float>(
    part: &Array<F>,    // [R, G, J]
    out: &mut Array<F>, // [R, J]
    groups: u32,
    width: u32,
    total: u32,
) {
    let q = CUBE_POS_X as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    if q < total as usize {
        let r = q / width as usize;
        let j = q % width as usize;
        let base = r * groups as usize * width as usize + j;
        let mut acc = F::new(0.0);
        for grp in 0..groups as usize {
            acc += part[base + grp * width as usize];
        }
        out[q] = acc;
    }
}

/// out [R, rows, width_out] = a [R, rows, width_in] times the replica's weight, read from `w`
/// as described at [`rows_by_weight_kernel`].
#[allow(clippy::too_many_arguments)]
fn rows_by_weight<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    replicas: usize,
    rows: usize,
    width_in: usize,
    width_out: usize,
    a: &Handle,
    w: &Handle,
    w_is_out_by_in: bool,
) -> Handle {
    let out_len = replicas * rows * width_out;
    let out = client.empty(out_len * core::mem::size_of::<F>());
    let cubes_per_replica = rows.div_ceil(ROWS_PER_CUBE);
    rows_by_weight_kernel::launch::<F, R>(
        client,
        CubeCount::Static((replicas * cubes_per_replica) as u32, 1, 1),
        CubeDim::new_1d(UNITS as u32),
        array_arg(a, replicas * rows * width_in),
        array_arg(w, replicas * width_in * width_out),
        array_arg(&out, out_len),
        rows as u32,
        cubes_per_replica as u32,
        width_in,
        width_out,
        w_is_out_by_in,
    );
    out
}

/// y [R, M, N] = x W^T: y[r, t, o] = sum_i x[r, t, i] w[r, o, i], in i order.
pub fn linear_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &LinearShape,
    x: &Handle,
    w: &Handle,
) -> Handle {
    shape.check(client);
    rows_by_weight::<R, F>(client, shape.replicas, shape.tokens, shape.k, shape.n, x, w, true)
}

/// The gradients of sum(g * y): dx [R, M, K] = g W whole, and dw [R, N, K] = g^T x, summed
/// per token group (in token order) and then over the groups (in group order).
pub struct LinearGrads {
    pub dx: Handle,
    pub dw: Handle,
}

/// [`LinearGrads`] of the forward's inputs for the upstream gradient `g` [R, M, N].
pub fn linear_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &LinearShape,
    x: &Handle,
    w: &Handle,
    g: &Handle,
) -> LinearGrads {
    shape.check(client);
    let s = shape;
    let dx = rows_by_weight::<R, F>(client, s.replicas, s.tokens, s.n, s.k, g, w, false);
    let groups = s.groups();
    let part_len = s.replicas * groups * s.n * s.k;
    let part = client.empty(part_len * core::mem::size_of::<F>());
    weight_grad_parts_kernel::launch::<F, R>(
        client,
        CubeCount::Static((s.replicas * groups) as u32, (s.n * s.k).div_ceil(UNITS) as u32, 1),
        CubeDim::new_1d(UNITS as u32),
        array_arg(g, s.y_len()),
        array_arg(x, s.x_len()),
        array_arg(&part, part_len),
        s.tokens as u32,
        groups as u32,
        s.k,
        s.n,
        s.per_group(),
    );
    let dw = sum_groups::<R, F>(client, &part, s.replicas, groups, s.n * s.k);
    LinearGrads { dx, dw }
}

/// out [R, width] = the sum over G of part [R, G, width], each output in group order.
pub fn sum_groups<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    part: &Handle,
    replicas: usize,
    groups: usize,
    width: usize,
) -> Handle {
    let total = replicas * width;
    let out = client.empty(total * core::mem::size_of::<F>());
    sum_groups_kernel::launch::<F, R>(
        client,
        CubeCount::Static(total.div_ceil(UNITS) as u32, 1, 1),
        CubeDim::new_1d(UNITS as u32),
        array_arg(part, replicas * groups * width),
        array_arg(&out, total),
        groups as u32,
        width as u32,
        total as u32,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fig3s_maps_fit_and_a_wide_weight_or_long_group_does_not() {
        let s = |tokens, k, n| LinearShape {
            replicas: 1,
            tokens,
            k,
            n,
        };
        let shared = 48 * 1024; // a CUDA cube's static shared memory
        assert!(s(16384, 32, 64).fits(shared)); // z: d_model -> d_inner
        assert!(s(16384, 64, 32).fits(shared)); // out_proj
        assert!(s(16384, 32, 320).fits(shared)); // xBC's rows (the fused product + conv's backward)
        assert!(!s(16384, 32, 320).fits(32 * 1024));
        assert_eq!(s(16384, 64, 32).groups(), 128);
        assert!(!s(16384, 400, 1200).fits(shared)); // the Transformer's FFN weight
        assert!(!s(2 * 1031, 4, 4).fits(shared)); // a prime factor over 1024: groups of 1031
        assert!(!s(0, 4, 4).fits(shared));
    }
}
