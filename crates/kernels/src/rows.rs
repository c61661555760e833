//! The backward of a block of rows taken from a weight [R, rows, D] (kernels::burn_op_rows):
//! the block's gradient [R, len, D] laid into zeros of the weight's size, in one launch where
//! burn's slice backward takes a fill and a slice_assign. Why: in_proj's weight is read as
//! three row blocks (z, xBC, dt) a layer, and at R = 1 a step is bound by the host's work for
//! each launch (results/bench/NOTES.md, sessions 26-27).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// Units a cube.
const UNITS: u32 = 256;

/// A weight [R, rows, D] and its row block start..start + len.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowBlock {
    pub replicas: usize,
    pub rows: usize,
    pub width: usize,
    pub start: usize,
    pub len: usize,
}

impl RowBlock {
    /// Entries of the whole weight.
    pub fn full_len(&self) -> usize {
        self.replicas * self.rows * self.width
    }

    /// Entries of the block.
    pub fn block_len(&self) -> usize {
        self.replicas * self.len * self.width
    }
}

/// Unit pos of the weight [R, rows, D]: the block's entry where its row falls in the block,
/// else 0.
#[cube(launch)]
fn pad_rows_kernel<F: Float>(
    g: &Array<F>,       // [R, len, D]
    out: &mut Array<F>, // [R, rows, D]
    rows: u32,
    start: u32,
    len: u32,
    width: u32,
) {
    let pos = ABSOLUTE_POS;
    if pos < out.len() {
        let w = width as usize;
        let n = rows as usize;
        let (s, l) = (start as usize, len as usize);
        let i = (pos / w) % n;
        let r = pos / (w * n);
        let mut x = F::new(0.0);
        if i >= s && i < s + l {
            x = g[(r * l + i - s) * w + pos % w];
        }
        out[pos] = x;
    }
}

/// The weight-sized gradient [R, rows, D] of a row block whose gradient is `g` [R, len, D]
/// (a contiguous f32 handle): g's rows at start..start + len, zeros elsewhere.
pub fn pad_rows<R: Runtime>(client: &ComputeClient<R>, b: &RowBlock, g: &Handle) -> Handle {
    assert!(
        b.start + b.len <= b.rows,
        "pad_rows: rows {}..{} of a weight of {}",
        b.start,
        b.start + b.len,
        b.rows
    );
    let out = client.empty(b.full_len() * core::mem::size_of::<f32>());
    let cubes = b.full_len().div_ceil(UNITS as usize).max(1) as u32;
    pad_rows_kernel::launch::<f32, R>(
        client,
        CubeCount::Static(cubes, 1, 1),
        CubeDim::new_1d(UNITS),
        array_arg(g, b.block_len()),
        array_arg(&out, b.full_len()),
        b.rows as u32,
        b.start as u32,
        b.len as u32,
        b.width as u32,
    );
    out
}
