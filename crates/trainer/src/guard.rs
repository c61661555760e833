//! NaN/Inf guard per replica, kept on the device so the step never waits for the host:
//! a replica whose loss or gradient norm is not finite is marked inactive (the optimizer
//! leaves its weights and moments as they were from then on), and the step, loss, learning
//! rate and every parameter's gradient norm at that moment are kept for the report.

use burn::tensor::{Tensor, backend::Backend};
use models::fused_guard::{GuardRows, guard_step};

#[derive(Debug, Clone)]
pub struct Guard<B: Backend> {
    /// What it saw (models::fused_guard::GuardRows): active [R, 1] (1.0 while the replica
    /// trains, 0.0 once it stopped: a number, not a Bool, as the optimizer's and the guard's
    /// kernels read and write it); the step of the first non-finite value (-1 while none), the
    /// loss and lr then [R, 1]; each parameter's gradient norm then [R, P], in `names` order.
    pub rows: GuardRows<B>,
    pub names: Vec<String>,
}

/// What the guard saw for one replica, read back at an evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Divergence {
    pub step: usize,
    #[serde(deserialize_with = "crate::metrics::nan_from_null")]
    pub loss: f64,
    pub lr: f64,
    /// The parameter with a non-finite gradient norm, else the largest one.
    pub param: String,
    #[serde(deserialize_with = "crate::metrics::nan_from_null")]
    pub grad_norm: f64,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "diverged at step {}: loss {}, learning rate {:.3e}, gradient norm of {} = {}",
            self.step, self.loss, self.lr, self.param, self.grad_norm
        )
    }
}

impl<B: Backend> Guard<B> {
    pub fn new(replicas: usize, names: Vec<String>, device: &B::Device) -> Self {
        let p = names.len();
        Self {
            rows: GuardRows {
                active: Tensor::ones([replicas, 1], device),
                bad_step: Tensor::full([replicas, 1], -1.0, device),
                bad_loss: Tensor::zeros([replicas, 1], device),
                bad_lr: Tensor::zeros([replicas, 1], device),
                bad_norms: Tensor::zeros([replicas, p], device),
            },
            names,
        }
    }

    /// Records one step and returns the replicas whose update may be applied ([R, 1]).
    /// loss, lr, norm: [R, 1]; squared: each parameter's squared gradient norm [R, P], in
    /// `names` order.
    pub fn observe(
        &mut self,
        step: usize,
        loss: Tensor<B, 2>,
        lr: Tensor<B, 2>,
        norm: Tensor<B, 2>,
        squared: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        self.rows = guard_step(&self.rows, &loss, &lr, &norm, &squared, step)
            .unwrap_or_else(|| Self::plain_step(self.rows.clone(), step, loss, lr, norm, squared));
        self.rows.active.clone()
    }

    /// [`observe`](Self::observe)'s step by the plain ops (models::fused_guard computes the
    /// same bits in one kernel).
    fn plain_step(
        rows: GuardRows<B>,
        step: usize,
        loss: Tensor<B, 2>,
        lr: Tensor<B, 2>,
        norm: Tensor<B, 2>,
        squared: Tensor<B, 2>,
    ) -> GuardRows<B> {
        let finite = loss.clone().is_finite().bool_and(norm.is_finite());
        let was = rows.active.equal_elem(1.0);
        let newly = was.clone().bool_and(finite.clone().bool_not());
        let device = loss.device();
        let [r, p] = squared.dims();
        GuardRows {
            active: was.bool_and(finite).float(),
            bad_step: rows
                .bad_step
                .mask_where(newly.clone(), Tensor::full([r, 1], step as f64, &device)),
            bad_loss: rows.bad_loss.mask_where(newly.clone(), loss),
            bad_lr: rows.bad_lr.mask_where(newly.clone(), lr),
            bad_norms: rows.bad_norms.mask_where(newly.expand([r, p]), squared.sqrt()),
        }
    }

    /// Reads the guard back (one host transfer): None for replicas still training.
    pub fn report(&self) -> Vec<Option<Divergence>> {
        let host = |t: &Tensor<B, 2>| {
            t.clone()
                .into_data()
                .convert::<f64>()
                .to_vec::<f64>()
                .expect("float data")
        };
        let (steps, losses, lrs, norms) = (
            host(&self.rows.bad_step),
            host(&self.rows.bad_loss),
            host(&self.rows.bad_lr),
            host(&self.rows.bad_norms),
        );
        let p = self.names.len();
        (0..steps.len())
            .map(|r| {
                if steps[r] < 0.0 {
                    return None;
                }
                let row = &norms[r * p..(r + 1) * p];
                // A non-finite norm counts as the largest.
                let key = |v: f64| if v.is_finite() { v } else { f64::INFINITY };
                let worst = (0..p).max_by(|&a, &b| key(row[a]).total_cmp(&key(row[b]))).unwrap_or(0);
                Some(Divergence {
                    step: steps[r] as usize,
                    loss: losses[r],
                    lr: lrs[r],
                    param: self.names.get(worst).cloned().unwrap_or_default(),
                    grad_norm: row.get(worst).copied().unwrap_or(f64::NAN),
                })
            })
            .collect()
    }
}
