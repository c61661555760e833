//! A generated dataset: flat token and label arrays plus the group metadata of every
//! sample, so that evaluation can score any group (pair x split).

use serde::{Deserialize, Serialize};

use crate::task::TaskConfig;

/// Which split a group belongs to (SPEC 1.1: train groups have key mod L != p).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
    Ood,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
            Split::Ood => "ood",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One group of samples: an anchor pair (none for the inverse task) and a split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub pair: Option<[u32; 2]>,
    pub split: Split,
    pub size: usize,
    /// Whether the trainer draws batches from this group (train split, not the unseen pair).
    pub trained: bool,
}

impl Group {
    /// "43/test", "12/train", or the split alone ("ood").
    pub fn name(&self) -> String {
        match self.pair {
            Some([a, b]) => format!("{a}{b}/{}", self.split),
            None => self.split.to_string(),
        }
    }
}

/// Per-sample metadata: its group and, for anchor-pair tasks, the key and its position p.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleMeta {
    pub group: u32,
    pub key: Option<u32>,
    pub position: Option<u32>,
}

/// One sample as seen by callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    pub index: usize,
    pub tokens: &'a [u32],
    pub label: u32,
    pub group: &'a Group,
    pub key: Option<u32>,
    pub position: Option<u32>,
}

/// A full dataset, a pure function of (task, seed).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub task: TaskConfig,
    pub seed: u64,
    pub seq_len: usize,
    /// [n_samples * seq_len], row-major.
    pub tokens: Vec<u32>,
    /// [n_samples]
    pub labels: Vec<u32>,
    /// [n_samples]
    pub meta: Vec<SampleMeta>,
    pub groups: Vec<Group>,
    /// Label shift of every anchor pair (label = key + shift); empty for the inverse task.
    pub pair_shifts: Vec<([u32; 2], i32)>,
    /// The pair withheld from training (None for the inverse task).
    pub unseen_pair: Option<[u32; 2]>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn sample(&self, i: usize) -> Sample<'_> {
        let m = self.meta[i];
        Sample {
            index: i,
            tokens: &self.tokens[i * self.seq_len..(i + 1) * self.seq_len],
            label: self.labels[i],
            group: &self.groups[m.group as usize],
            key: m.key,
            position: m.position,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Sample<'_>> {
        (0..self.len()).map(|i| self.sample(i))
    }

    /// Indices of the samples in trained groups, in dataset order.
    pub fn training_indices(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.groups[self.meta[i].group as usize].trained)
            .collect()
    }

    /// Indices of the samples of one group, in dataset order.
    pub fn group_indices(&self, group: usize) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.meta[i].group as usize == group)
            .collect()
    }

    /// The label shift of pair `pair` (label = key + shift; None if the pair is not in the task).
    pub fn pair_shift(&self, pair: [u32; 2]) -> Option<i32> {
        self.pair_shifts.iter().find(|(p, _)| *p == pair).map(|&(_, s)| s)
    }

    /// The label that pair `pair` gives for `key` (None if the pair is not in the task).
    pub fn label_for(&self, pair: [u32; 2], key: u32) -> Option<u32> {
        u32::try_from(i64::from(key) + i64::from(self.pair_shift(pair)?)).ok()
    }

    /// For an anchor-pair sample: the label of the reversed pair with the same key (the
    /// "symmetric" answer). For the unseen pair 43 of the composite task this is key - 6.
    pub fn symmetric_label(&self, i: usize) -> Option<u32> {
        let s = self.sample(i);
        let [a, b] = s.group.pair?;
        self.label_for([b, a], s.key?)
    }

    /// blake3 digest over a canonical encoding of every sample (tokens, label, group pair
    /// and split, key, position), prefixed with a format tag and the shape.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"msym-dataset-v1");
        h.update(self.task.name().as_bytes());
        h.update(&(self.seq_len as u64).to_le_bytes());
        h.update(&(self.len() as u64).to_le_bytes());
        for s in self.iter() {
            for t in s.tokens {
                h.update(&t.to_le_bytes());
            }
            h.update(&s.label.to_le_bytes());
            let [a, b] = s.group.pair.unwrap_or([u32::MAX; 2]);
            h.update(&a.to_le_bytes());
            h.update(&b.to_le_bytes());
            h.update(&[s.group.split as u8]);
            h.update(&s.key.unwrap_or(u32::MAX).to_le_bytes());
            h.update(&s.position.unwrap_or(u32::MAX).to_le_bytes());
        }
        format!("blake3:{}", h.finalize().to_hex())
    }
}
