//! The data of a run on the device: every replica's dataset uploaded once, the batch order
//! of each epoch a pure function of (replica seed, epoch), and a fixed evaluation set.

use anchor_data::rng::DataRng;
use anchor_data::{Dataset, Group};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

/// Stream of the data order (kept apart from the streams of the weight initialisation).
const ORDER_STREAM: u64 = 1 << 40;

/// The training rows (dataset indices) of one epoch in the order the trainer visits them:
/// `rows` shuffled by (seed, epoch). Batch k of the epoch is entries k*b..(k+1)*b.
pub fn epoch_rows(rows: &[usize], seed: u64, epoch: usize) -> Vec<usize> {
    let mut order = rows.to_vec();
    DataRng::with_stream(seed, ORDER_STREAM + epoch as u64).shuffle(&mut order);
    order
}

/// All replicas' datasets, resident on the device.
pub struct DeviceData<B: Backend> {
    /// [R * N, L]: replica r's sample i is row r * N + i
    pub tokens: Tensor<B, 2, Int>,
    /// [R * N]
    pub labels: Tensor<B, 1, Int>,
    pub n: usize,
    pub seq_len: usize,
    /// Training rows of each replica (dataset indices), in dataset order.
    pub train_rows: Vec<Vec<usize>>,
    pub seeds: Vec<u64>,
}

impl<B: Backend> DeviceData<B> {
    /// `datasets[r]` and `seeds[r]` belong to replica r; every dataset has the same shape.
    pub fn new(datasets: &[Dataset], seeds: &[u64], device: &B::Device) -> Self {
        let (n, l) = (datasets[0].len(), datasets[0].seq_len);
        let tokens: Vec<i64> = datasets
            .iter()
            .flat_map(|d| d.tokens.iter().map(|&t| i64::from(t)))
            .collect();
        let labels: Vec<i64> = datasets
            .iter()
            .flat_map(|d| d.labels.iter().map(|&t| i64::from(t)))
            .collect();
        Self {
            tokens: Tensor::from_data(TensorData::new(tokens, [datasets.len() * n, l]), device),
            labels: Tensor::from_data(TensorData::new(labels, [datasets.len() * n]), device),
            n,
            seq_len: l,
            train_rows: datasets.iter().map(Dataset::training_indices).collect(),
            seeds: seeds.to_vec(),
        }
    }

    pub fn replicas(&self) -> usize {
        self.seeds.len()
    }

    /// Full batches per epoch (the last partial batch is dropped, as SPEC 3 says).
    pub fn steps_per_epoch(&self, batch: usize) -> usize {
        self.train_rows[0].len() / batch
    }

    /// The order of one epoch as device rows, [R, n_train]: replica r's training rows
    /// shuffled by (seed_r, epoch), offset by r * N.
    pub fn epoch_order(&self, epoch: usize) -> Tensor<B, 2, Int> {
        let n_train = self.train_rows[0].len();
        let mut flat = Vec::with_capacity(self.replicas() * n_train);
        for (r, rows) in self.train_rows.iter().enumerate() {
            let order = epoch_rows(rows, self.seeds[r], epoch);
            flat.extend(order.into_iter().map(|i| (r * self.n + i) as i64));
        }
        Tensor::from_data(TensorData::new(flat, [self.replicas(), n_train]), &self.tokens.device())
    }

    /// Tokens [R, b, L] and labels [R, b] of columns start..start+b of an epoch order.
    pub fn batch(&self, order: &Tensor<B, 2, Int>, start: usize, b: usize) -> (Tensor<B, 3, Int>, Tensor<B, 2, Int>) {
        let r = self.replicas();
        let rows = order.clone().narrow(1, start, b).reshape([r * b]);
        let tokens = self
            .tokens
            .clone()
            .select(0, rows.clone())
            .reshape([r, b, self.seq_len]);
        let labels = self.labels.clone().select(0, rows).reshape([r, b]);
        (tokens, labels)
    }
}

/// The samples scored at every evaluation: per group, all of a test group or of an
/// untrained group, and the first `train_cap` samples of each trained group. The layout
/// (which positions belong to which group) is the same for every replica.
pub struct EvalSet<B: Backend> {
    /// [R, M, L]
    pub tokens: Tensor<B, 3, Int>,
    /// Host labels [R][M] and, for the unseen pair, the symmetric answer (else u32::MAX).
    pub labels: Vec<Vec<u32>>,
    pub symmetric: Vec<Vec<u32>>,
    /// (group, start, len) in the M positions.
    pub spans: Vec<(Group, usize, usize)>,
}

impl<B: Backend> EvalSet<B> {
    pub fn new(datasets: &[Dataset], train_cap: usize, device: &B::Device) -> Self {
        let mut spans = Vec::new();
        let mut tokens = Vec::new();
        let mut labels = vec![Vec::new(); datasets.len()];
        let mut symmetric = vec![Vec::new(); datasets.len()];
        let mut start = 0;
        for group in &datasets[0].groups {
            let len = if group.trained {
                group.size.min(train_cap)
            } else {
                group.size
            };
            spans.push((group.clone(), start, len));
            start += len;
        }
        for (r, ds) in datasets.iter().enumerate() {
            for (g, (_, _, len)) in spans.iter().enumerate() {
                for i in ds.group_indices(g).into_iter().take(*len) {
                    let s = ds.sample(i);
                    tokens.extend(s.tokens.iter().map(|&t| i64::from(t)));
                    labels[r].push(s.label);
                    let unseen = s.group.pair.is_some() && s.group.pair == ds.unseen_pair;
                    symmetric[r].push(if unseen {
                        ds.symmetric_label(i).unwrap_or(u32::MAX)
                    } else {
                        u32::MAX
                    });
                }
            }
        }
        let l = datasets[0].seq_len;
        let tokens = Tensor::from_data(TensorData::new(tokens, [datasets.len(), start, l]), device);
        Self {
            tokens,
            labels,
            symmetric,
            spans,
        }
    }

    pub fn len(&self) -> usize {
        self.spans.last().map_or(0, |(_, s, l)| s + l)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
