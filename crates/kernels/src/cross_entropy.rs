//! The loss at the last position as two kernels: per row (replica r, sample b) of the logits
//! x [R, B, V], nll = lse - x[label] with lse = log sum_v exp(x_v), and its gradient
//! dx_v = g (exp(x_v - lse) - [v = label]) for an upstream gradient g of nll. In place of
//! burn's log_softmax, gather and their backward (`trainer::loss`): 34 kernels a step
//! between the head's products, most of them passes over [R, B, V] one element a unit
//! (V = 201 is odd), 1.0 ms of the step at depth 4, R = 36 on an H200, and 34 launches of an
//! R = 1 step that is bound by the host (ncu, results/bench/session18-h200-2026-11-28/call4).
//! x is read as it lies where its rows are evenly apart (CUDA pitches the head's rows of 201
//! floats): packing it first was a second copy of the logits, 51 us at depth 4, R = 36
//! (results/bench/session19-h200-2026-11-28/call2).
//!
//! Forward: a row a plane of [`ROW_UNITS`] units, [`ROWS_PER_CUBE`] rows a cube. Unit j of a
//! row takes v = j, j + ROW_UNITS, ... in turn (coalesced); its partial maximum and then its
//! partial sum of exp(x_v - max) go through shared memory, and the row's first unit combines
//! them in unit order, so a run repeats its bits. lse = max + ln(sum). The forward also
//! writes lse, which the backward reads.
//!
//! Backward: one unit an element of [R, B, V].
//!
//! Labels are i32 (burn's int element on the CubeCL backends this project builds); a label
//! outside 0..V takes no logit (nll = lse, no -1 in the gradient). The model's data never
//! holds one: anchor-data checks its labels against the vocabulary.

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// Units that share one row's sums.
pub const ROW_UNITS: usize = 32;

/// Rows a cube of the forward takes.
pub const ROWS_PER_CUBE: usize = 8;

/// Units a cube of the backward.
const BACKWARD_UNITS: usize = 256;

/// The sizes of one launch. x [R, B, V] (rows = R B) has its rows `x_row >= V` elements apart;
/// dx [R, B, V] is contiguous, as are labels, nll, lse and g [R, B].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CeShape {
    pub rows: usize,
    pub vocab: usize,
    pub x_row: usize,
}

impl CeShape {
    /// Elements of dx (and of a contiguous x).
    pub fn x_len(&self) -> usize {
        self.rows * self.vocab
    }
    /// Elements of x the kernels may read: the last row ends at its V-th element.
    pub fn x_extent(&self) -> usize {
        self.rows.saturating_sub(1) * self.x_row + self.vocab
    }
}

/// Cube c, unit u: row c ROWS_PER_CUBE + u / ROW_UNITS, unit j = u % ROW_UNITS of that row.
#[cube(launch)]
fn ce_forward_kernel<F: Float>(
    x: &Array<F>,        // [rows, V], rows x_row apart
    labels: &Array<i32>, // [rows]
    nll: &mut Array<F>,  // [rows]
    lse: &mut Array<F>,  // [rows]
    rows: u32,
    vocab: u32,
    x_row: u32,
) {
    let u = UNIT_POS_X as usize;
    let k = u / ROW_UNITS;
    let j = u % ROW_UNITS;
    let row = CUBE_POS_X as usize * ROWS_PER_CUBE + k;
    let live = row < rows as usize;
    let v_n = vocab as usize;
    let at = row * x_row as usize;
    let mut part = SharedMemory::<F>::new(comptime!(ROWS_PER_CUBE * ROW_UNITS));
    let mut whole = SharedMemory::<F>::new(ROWS_PER_CUBE);
    // the unit's maximum, the lowest finite value where it holds no element (an infinite
    // literal is no WGSL constant)
    let mut m = F::min_value();
    if live {
        let mut v = j;
        while v < v_n {
            m = F::max(m, x[at + v]);
            v += ROW_UNITS;
        }
    }
    part[u] = m;
    sync_cube();
    if j == 0 {
        let mut mm = part[k * ROW_UNITS];
        for q in 1..ROW_UNITS {
            mm = F::max(mm, part[k * ROW_UNITS + q]);
        }
        whole[k] = mm;
    }
    sync_cube();
    let mx = whole[k];
    let mut s = F::new(0.0);
    if live {
        let mut v = j;
        while v < v_n {
            s += F::exp(x[at + v] - mx);
            v += ROW_UNITS;
        }
    }
    // the row's first unit read the maxima before the barrier above: part is free again
    part[u] = s;
    sync_cube();
    if j == 0 && live {
        let mut total = F::new(0.0);
        for q in 0..ROW_UNITS {
            total += part[k * ROW_UNITS + q];
        }
        let l = mx + F::ln(total);
        let label = labels[row];
        let mut picked = l;
        if label >= 0 && (label as u32) < vocab {
            picked = l - x[at + label as usize];
        }
        lse[row] = l;
        nll[row] = picked;
    }
}

/// Unit an element (row, v) of dx: g[row] (exp(x - lse[row]) - [v = label]).
#[cube(launch)]
fn ce_backward_kernel<F: Float>(
    x: &Array<F>,        // [rows, V], rows x_row apart
    labels: &Array<i32>, // [rows]
    lse: &Array<F>,      // [rows]
    g: &Array<F>,        // [rows], the upstream gradient of nll
    dx: &mut Array<F>,   // [rows, V], contiguous
    n: u32,
    vocab: u32,
    x_row: u32,
) {
    let idx = CUBE_POS_X as usize * BACKWARD_UNITS + UNIT_POS_X as usize;
    if idx < n as usize {
        let row = idx / vocab as usize;
        let v = idx % vocab as usize;
        let mut p = F::exp(x[row * x_row as usize + v] - lse[row]);
        if labels[row] == v as i32 {
            p -= F::new(1.0);
        }
        dx[idx] = g[row] * p;
    }
}

/// What [`ce_forward`] returns: nll [rows] and lse [rows] (the backward's input).
#[derive(Debug)]
pub struct CeOut {
    pub nll: Handle,
    pub lse: Handle,
}

/// nll = logsumexp(x[row]) - x[row, label[row]] for every row of x [rows, V]. `x` holds F,
/// `labels` i32; the handles must hold the sizes of `shape`.
pub fn ce_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &CeShape,
    x: &Handle,
    labels: &Handle,
) -> CeOut {
    assert!(
        shape.vocab > 0 && shape.x_row >= shape.vocab,
        "cross-entropy: V = {} and rows {} apart (need 0 < V <= the distance)",
        shape.vocab,
        shape.x_row
    );
    let f = core::mem::size_of::<F>();
    let (nll, lse) = (client.empty(shape.rows * f), client.empty(shape.rows * f));
    ce_forward_kernel::launch::<F, R>(
        client,
        CubeCount::Static(shape.rows.div_ceil(ROWS_PER_CUBE) as u32, 1, 1),
        CubeDim::new_1d((ROWS_PER_CUBE * ROW_UNITS) as u32),
        array_arg(x, shape.x_extent()),
        array_arg(labels, shape.rows),
        array_arg(&nll, shape.rows),
        array_arg(&lse, shape.rows),
        shape.rows as u32,
        shape.vocab as u32,
        shape.x_row as u32,
    );
    CeOut { nll, lse }
}

/// The gradient of sum(g * nll) with respect to x: dx [rows, V].
pub fn ce_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &CeShape,
    x: &Handle,
    labels: &Handle,
    lse: &Handle,
    g: &Handle,
) -> Handle {
    let n = shape.x_len();
    let dx = client.empty(n * core::mem::size_of::<F>());
    ce_backward_kernel::launch::<F, R>(
        client,
        CubeCount::Static(n.div_ceil(BACKWARD_UNITS) as u32, 1, 1),
        CubeDim::new_1d(BACKWARD_UNITS as u32),
        array_arg(x, shape.x_extent()),
        array_arg(labels, shape.rows),
        array_arg(lse, shape.rows),
        array_arg(g, shape.rows),
        array_arg(&dx, n),
        n as u32,
        shape.vocab as u32,
        shape.x_row as u32,
    );
    dx
}
