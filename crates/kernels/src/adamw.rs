//! The optimizer's tail as two kernels (issue 8: at R = 1 a step is bound by the host's work
//! per kernel, about 13-18 us on an H200, results/bench/NOTES.md):
//!
//! - [`gather_row`]: the K gradients [R, n_k] laid out in one row per replica [R, P] (end
//!   to end, or each at its own column; zeros in the gaps and after the last), in one launch
//!   where burn's `cat` takes one fill and one slice_assign a tensor (23 kernels at depth 2,
//!   41 at depth 4);
//! - [`adamw_row`]: per-replica global-norm clipping and the AdamW update of that row, in one
//!   launch where the plain ops take about 26 (trainer::clip and trainer::adamw).
//!
//! Both are elementwise over the row, one unit an element. The update keeps the plain ops'
//! order of operations (trainer::adamw's `step_math`), so it differs from them only where the
//! compiler contracts a multiply and an add (tests/adamw_wgpu.rs checks it against that code).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// Units a cube.
const UNITS: u32 = 256;

/// Sizes of one launch: rows [R, P], P = `row_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowShape {
    pub replicas: usize,
    pub row_len: usize,
}

impl RowShape {
    fn len(&self) -> usize {
        self.replicas * self.row_len
    }

    fn cubes(&self) -> (CubeCount, CubeDim) {
        let cubes = self.len().div_ceil(UNITS as usize).max(1) as u32;
        (CubeCount::Static(cubes, 1, 1), CubeDim::new_1d(UNITS))
    }
}

/// Unit (r, j) of the row's columns first..first + width: part k's entry j - starts[k] where
/// j falls in part k, else 0.
#[cube(launch)]
fn gather_row_kernel<F: Float>(
    parts: &Sequence<Array<F>>, // K arrays, part k [R, n_k]
    starts: Sequence<u32>,      // where part k begins in a row
    sizes: Sequence<u32>,       // n_k
    row: &mut Array<F>,         // [R, P]
    row_len: u32,
    first: u32,
    width: u32,
) {
    let pos = ABSOLUTE_POS;
    let w = width as usize;
    let p = row_len as usize;
    let r = pos / w;
    let j = first as usize + pos % w;
    if r * p < row.len() {
        let mut x = F::new(0.0);
        #[unroll]
        for k in 0..parts.len() {
            let start = starts[k] as usize;
            let n = sizes[k] as usize;
            if j >= start && j < start + n {
                x = parts[k][r * n + j - start];
            }
        }
        row[r * p + j] = x;
    }
}

/// One part of a row: a contiguous f32 handle of R `len` elements, laid at column `start`
/// of each replica's row.
#[derive(Debug, Clone)]
pub struct RowPart {
    pub handle: Handle,
    pub start: usize,
    pub len: usize,
}

/// Rows [R, total] from `parts` (in increasing, non-overlapping column order); every column
/// no part covers (the gaps between parts and the entries after the last) is 0. `total`
/// must hold them all. One launch for up to the runtime's bindings less two parts (wgpu's
/// limit is small, CUDA's 1024), each over its parts' columns and the gaps up to the next
/// launch's first part; the last one also writes the zeros after.
pub fn gather_row<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    replicas: usize,
    parts: &[RowPart],
    total: usize,
) -> Handle {
    let per_launch = (client.properties().hardware.max_bindings as usize).saturating_sub(2);
    gather_row_by::<R, F>(client, replicas, parts, total, per_launch)
}

/// [`gather_row`] with at most `per_launch` parts a launch (at least 1).
pub fn gather_row_by<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    replicas: usize,
    parts: &[RowPart],
    total: usize,
    per_launch: usize,
) -> Handle {
    let mut end = 0;
    for p in parts {
        assert!(
            p.start >= end,
            "gather_row: a part starts at column {} before the last one ends at {end}",
            p.start
        );
        end = p.start + p.len;
    }
    assert!(
        end <= total,
        "gather_row: the parts end at column {end} of a row, after its {total}"
    );
    let row = client.empty(replicas * total * core::mem::size_of::<F>());
    let chunks: Vec<&[RowPart]> = parts.chunks(per_launch.max(1)).collect();
    for (c, chunk) in chunks.iter().enumerate() {
        // this launch's columns: from its first part (column 0 for the first launch) up to
        // the next launch's first part (the row's end for the last)
        let first = if c == 0 { 0 } else { chunk[0].start };
        let last = chunks.get(c + 1).map_or(total, |next| next[0].start);
        let (mut arrays, mut starts, mut sizes) = (SequenceArg::new(), SequenceArg::new(), SequenceArg::new());
        for p in chunk.iter() {
            arrays.push(array_arg(&p.handle, replicas * p.len));
            starts.push(p.start as u32);
            sizes.push(p.len as u32);
        }
        let shape = RowShape {
            replicas,
            row_len: last - first,
        };
        if shape.len() == 0 {
            continue;
        }
        let (count, dim) = shape.cubes();
        gather_row_kernel::launch::<F, R>(
            client,
            count,
            dim,
            arrays,
            starts,
            sizes,
            array_arg(&row, replicas * total),
            total as u32,
            first as u32,
            (last - first) as u32,
        );
    }
    row
}

/// The scalars of one AdamW update, as f32 the way the plain ops hand them to their kernels
/// (each computed in f64 first, as trainer::adamw does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamScalars {
    pub beta1: f32,
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    /// -weight_decay
    pub neg_weight_decay: f32,
    /// sqrt(1 - beta2^t)
    pub sqrt_bc2: f32,
    /// 1 - beta1^t
    pub bc1: f32,
    pub eps: f32,
    /// The clipping norm; 0 turns clipping off.
    pub max_norm: f32,
}

/// One unit an element of the row; replica r = pos / P reads its own lr, norm and active.
/// The scalars are [`AdamScalars`]' fields, in order.
#[allow(clippy::too_many_arguments)]
#[cube(launch)]
fn adamw_row_kernel<F: Float>(
    p: &Array<F>,      // [R, P]
    g: &Array<F>,      // [R, P], unclipped
    m: &Array<F>,      // [R, P]
    v: &Array<F>,      // [R, P]
    lr: &Array<F>,     // [R]
    norm: &Array<F>,   // [R], the gradient's global norm per replica
    active: &Array<F>, // [R], 1 where the replica trains, 0 where it stopped
    p_out: &mut Array<F>,
    m_out: &mut Array<F>,
    v_out: &mut Array<F>,
    row_len: u32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    neg_weight_decay: f32,
    sqrt_bc2: f32,
    bc1: f32,
    eps: f32,
    max_norm: f32,
    #[comptime] clip: bool,
) {
    let pos = ABSOLUTE_POS;
    if pos < p.len() {
        let r = pos / row_len as usize;
        let mut gc = g[pos];
        if clip {
            // trainer::clip's coefficient min(1, max_norm / (norm + 1e-6)): add, recip, mul, clamp
            let inv = F::new(1.0) / (norm[r] + F::cast_from(1e-6f32));
            gc *= F::min(inv * F::cast_from(max_norm), F::new(1.0));
        }
        let lr_r = lr[r];
        let m_new = m[pos] * F::cast_from(beta1) + gc * F::cast_from(one_minus_beta1);
        let v_new = v[pos] * F::cast_from(beta2) + gc * gc * F::cast_from(one_minus_beta2);
        let decayed = p[pos] * (lr_r * F::cast_from(neg_weight_decay) + F::new(1.0));
        let denom = F::sqrt(v_new) / F::cast_from(sqrt_bc2) + F::cast_from(eps);
        let p_new = decayed - m_new / denom * (lr_r / F::cast_from(bc1));
        if active[r] > F::new(0.5) {
            p_out[pos] = p_new;
            m_out[pos] = m_new;
            v_out[pos] = v_new;
        } else {
            p_out[pos] = p[pos];
            m_out[pos] = m[pos];
            v_out[pos] = v[pos];
        }
    }
}

/// The AdamW rows' inputs on the device (contiguous f32): p, g, m, v [R, P]; lr, norm and
/// active [R] (active 1.0 or 0.0).
#[derive(Debug, Clone)]
pub struct AdamRowInputs {
    pub p: Handle,
    pub g: Handle,
    pub m: Handle,
    pub v: Handle,
    pub lr: Handle,
    pub norm: Handle,
    pub active: Handle,
}

/// The new p, m and v [R, P]: g clipped to `max_norm` per replica (where it is above 0), then
/// one AdamW update; rows of inactive replicas are copied unchanged.
pub fn adamw_row<R: Runtime>(
    client: &ComputeClient<R>,
    shape: &RowShape,
    x: &AdamRowInputs,
    s: &AdamScalars,
) -> [Handle; 3] {
    let bytes = shape.len() * core::mem::size_of::<f32>();
    let out = [client.empty(bytes), client.empty(bytes), client.empty(bytes)];
    let (count, dim) = shape.cubes();
    let (n, rs) = (shape.len(), shape.replicas);
    adamw_row_kernel::launch::<f32, R>(
        client,
        count,
        dim,
        array_arg(&x.p, n),
        array_arg(&x.g, n),
        array_arg(&x.m, n),
        array_arg(&x.v, n),
        array_arg(&x.lr, rs),
        array_arg(&x.norm, rs),
        array_arg(&x.active, rs),
        array_arg(&out[0], n),
        array_arg(&out[1], n),
        array_arg(&out[2], n),
        shape.row_len as u32,
        s.beta1,
        s.one_minus_beta1,
        s.beta2,
        s.one_minus_beta2,
        s.neg_weight_decay,
        s.sqrt_bc2,
        s.bc1,
        s.eps,
        s.max_norm,
        s.max_norm > 0.0,
    );
    out
}
