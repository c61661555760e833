//! Every trainable parameter of a replica laid end to end in one row: [R, P].
//!
//! Why: the optimizer, the clipping and the guard did about 25 small kernels per parameter
//! tensor, which at R = 1 cost more than the forward and backward passes (burn pays about
//! 13 us of host work per kernel: 1214 kernels took 15.8 ms per step at depth 2 on an H200,
//! ncu, 2026-11-26, results/bench/NOTES.md). On one row they are one kernel per operation
//! whatever the number of parameters.
//!
//! The row is padded with zeros to a multiple of [`PAD`] so that its sums can be split into
//! groups (models::grouped says why that matters on CUDA); the padding's gradient and
//! moments stay 0, so the update leaves it 0.

use std::collections::BTreeMap;

use burn::tensor::{Tensor, TensorData, backend::Backend};
use models::grouped::groups;

/// The row length is a multiple of this.
pub const PAD: usize = 1024;

/// Where each parameter sits in the row, in name order.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatLayout {
    /// (name, entries per replica), in the order they are laid out.
    pub entries: Vec<(String, usize)>,
    /// The column of each entry's first value: a multiple of the layout's alignment.
    pub starts: Vec<usize>,
    /// Where the last entry ends ([`used`](Self::used)) rounded up to a multiple of PAD.
    pub total: usize,
}

impl FlatLayout {
    /// The entries end to end.
    pub fn new(entries: Vec<(String, usize)>) -> Self {
        Self::aligned(entries, 1)
    }

    /// Each entry from the next column that is a multiple of `align` (at least 1), zeros
    /// between: where each parameter must start at the memory alignment for
    /// models::fused_adam's row views (PAD is a multiple of every alignment used).
    pub fn aligned(entries: Vec<(String, usize)>, align: usize) -> Self {
        let align = align.max(1);
        let mut at = 0usize;
        let starts = entries
            .iter()
            .map(|(_, n)| {
                let start = at.next_multiple_of(align);
                at = start + n;
                start
            })
            .collect();
        let total = at.div_ceil(PAD).max(1) * PAD;
        Self { entries, starts, total }
    }

    /// Where the last entry ends.
    pub fn used(&self) -> usize {
        self.spans().last().map_or(0, |&(start, n)| start + n)
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|(n, _)| n.clone()).collect()
    }

    /// One row per replica from tensors [R, n] by name; a parameter missing from `parts`
    /// (no gradient this step) contributes zeros, as do the gaps. -> [R, total]. One kernel
    /// where models::fused_adam's gather applies, else burn's cat (a fill and a copy a tensor).
    pub fn cat<B: Backend>(
        &self,
        parts: &BTreeMap<String, Tensor<B, 2>>,
        r: usize,
        device: &B::Device,
    ) -> Tensor<B, 2> {
        let pieces: Vec<Tensor<B, 2>> = self
            .entries
            .iter()
            .map(|(name, n)| {
                parts
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| Tensor::zeros([r, *n], device))
            })
            .collect();
        if let Some(row) = models::fused_adam::gather_row(&pieces, &self.starts, self.total) {
            return row;
        }
        let mut laid = Vec::with_capacity(2 * pieces.len() + 1);
        let mut at = 0;
        for (piece, &start) in pieces.into_iter().zip(&self.starts) {
            if start > at {
                laid.push(Tensor::zeros([r, start - at], device));
            }
            at = start + piece.dims()[1];
            laid.push(piece);
        }
        if self.total > at {
            laid.push(Tensor::zeros([r, self.total - at], device));
        }
        Tensor::cat(laid, 1)
    }

    /// (start, entries) of each parameter, in layout order.
    fn spans(&self) -> Vec<(usize, usize)> {
        self.starts
            .iter()
            .zip(&self.entries)
            .map(|(&s, (_, n))| (s, *n))
            .collect()
    }

    /// The inverse of [`cat`](Self::cat): [R, total] -> tensors [R, n] by name. Views of
    /// the row where models::fused_adam's row views apply (no kernel), else one slice each.
    pub fn split<B: Backend>(&self, row: Tensor<B, 2>) -> BTreeMap<String, Tensor<B, 2>> {
        let spans = self.spans();
        let parts = models::fused_adam::row_views(&row, &spans).unwrap_or_else(|| {
            spans
                .iter()
                .map(|&(start, n)| row.clone().narrow(1, start, n))
                .collect()
        });
        self.entries.iter().map(|(name, _)| name.clone()).zip(parts).collect()
    }

    /// The 0/1 matrix that sums a row's entries per parameter, laid out for
    /// [`per_param_sums`](Self::per_param_sums): [G, total / G, K] for K parameters.
    pub fn indicator<B: Backend>(&self, device: &B::Device) -> Tensor<B, 3> {
        let k = self.entries.len();
        let mut m = vec![0.0f32; self.total * k];
        for (j, (start, n)) in self.spans().into_iter().enumerate() {
            for i in start..start + n {
                m[i * k + j] = 1.0;
            }
        }
        let g = groups(self.total);
        Tensor::from_data(TensorData::new(m, [g, self.total / g, k]), device)
    }

    /// Sum of each parameter's entries: row [R, total], indicator from
    /// [`indicator`](Self::indicator) -> [R, K]. A product per group of entries and then a sum
    /// over groups, not one long product (which burn-cubecl runs on a few cubes).
    pub fn per_param_sums<B: Backend>(&self, row: Tensor<B, 2>, indicator: Tensor<B, 3>) -> Tensor<B, 2> {
        let [r, total] = row.dims();
        let [g, per, k] = indicator.dims();
        debug_assert_eq!(g * per, total);
        // [G, R, total / G] x [G, total / G, K] -> [G, R, K]
        models::f32_matmul::matmul3(row.reshape([r, g, per]).swap_dims(0, 1), indicator)
            .sum_dim(0)
            .reshape([r, k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f64>;

    fn t(v: Vec<f64>, shape: [usize; 2]) -> Tensor<B, 2> {
        Tensor::from_data(TensorData::new(v, shape), &Default::default())
    }

    /// Lays a, b (no gradient) and c out at `align`, checks the row column by column against
    /// `starts`, splits it back and sums it per parameter.
    fn round_trip(align: usize, starts: [usize; 3]) {
        let layout = FlatLayout::aligned(vec![("a".into(), 3), ("b".into(), 2), ("c".into(), 1)], align);
        assert_eq!(layout.starts, starts.to_vec());
        assert_eq!((layout.used(), layout.total), (starts[2] + 1, PAD));
        let device = Default::default();
        let mut parts = BTreeMap::new();
        parts.insert("a".to_string(), t(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]));
        parts.insert("c".to_string(), t(vec![7.0, 8.0], [2, 1]));
        // "b" has no gradient: zeros.
        let row = layout.cat(&parts, 2, &device);
        assert_eq!(row.dims(), [2, PAD]);
        let mut want = vec![0.0; 2 * PAD];
        for (r, a) in [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].iter().enumerate() {
            want[r * PAD + starts[0]..r * PAD + starts[0] + 3].copy_from_slice(a);
            want[r * PAD + starts[2]] = 7.0 + r as f64;
        }
        assert_eq!(row.clone().into_data().to_vec::<f64>().unwrap(), want);
        let back = layout.split(row.clone());
        assert_eq!(back["a"].to_data(), parts["a"].to_data());
        assert_eq!(back["b"].to_data(), t(vec![0.0; 4], [2, 2]).to_data());
        assert_eq!(back["c"].to_data(), parts["c"].to_data());
        let sums = layout.per_param_sums(row, layout.indicator(&device));
        assert_eq!(
            sums.into_data().to_vec::<f64>().unwrap(),
            vec![6.0, 0.0, 7.0, 15.0, 0.0, 8.0]
        );
    }

    #[test]
    fn cat_split_and_per_parameter_sums_round_trip() {
        round_trip(1, [0, 3, 5]);
    }

    /// The row views' layout: each entry from a multiple of the alignment, zeros between.
    #[test]
    fn an_aligned_layout_round_trips_with_zeros_between() {
        round_trip(4, [0, 4, 8]);
        round_trip(128, [0, 128, 256]);
    }
}
