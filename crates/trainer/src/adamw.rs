//! AdamW with PyTorch's semantics (torch.optim.AdamW, no amsgrad): decoupled weight decay
//! p <- p (1 - lr wd), then p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
//! burn's own AdamW differs (defaults and where eps sits), so the project carries its own.
//! Every tensor is handled as [R, n]: one row per replica, each with its own learning rate;
//! rows of stopped (diverged) replicas are left exactly as they were.

use std::collections::BTreeMap;

use burn::tensor::{Bool, Tensor, backend::Backend};

/// The first and second moments of one parameter, [R, n] each.
#[derive(Debug, Clone)]
pub struct Moments<B: Backend> {
    pub m: Tensor<B, 2>,
    pub v: Tensor<B, 2>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamHyper {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// Optimizer state: moments by parameter name and the number of updates taken.
#[derive(Debug, Clone)]
pub struct AdamW<B: Backend> {
    pub hyper: AdamHyper,
    pub moments: BTreeMap<String, Moments<B>>,
    /// Updates taken so far (t - 1 in the bias corrections of the next update).
    pub steps: usize,
}

impl<B: Backend> AdamW<B> {
    pub fn new(hyper: AdamHyper) -> Self {
        Self {
            hyper,
            moments: BTreeMap::new(),
            steps: 0,
        }
    }

    /// Call once per optimizer step, before the `update`s of that step.
    pub fn begin_step(&mut self) {
        self.steps += 1;
    }

    /// The new value of parameter `name`. p, g: [R, n]; lr: [R, 1]; active: [R, 1].
    pub fn update(
        &mut self,
        name: &str,
        p: Tensor<B, 2>,
        g: Tensor<B, 2>,
        lr: Tensor<B, 2>,
        active: Tensor<B, 2, Bool>,
    ) -> Tensor<B, 2> {
        let h = self.hyper;
        let t = self.steps as i32;
        let zeros = || Moments {
            m: g.zeros_like(),
            v: g.zeros_like(),
        };
        let old = self.moments.remove(name).unwrap_or_else(zeros);
        let m = old
            .m
            .clone()
            .mul_scalar(h.beta1)
            .add(g.clone().mul_scalar(1.0 - h.beta1));
        let v = old
            .v
            .clone()
            .mul_scalar(h.beta2)
            .add(g.powi_scalar(2).mul_scalar(1.0 - h.beta2));
        let bc1 = 1.0 - h.beta1.powi(t);
        let bc2 = 1.0 - h.beta2.powi(t);
        let decayed = p.clone().mul(lr.clone().mul_scalar(-h.weight_decay).add_scalar(1.0));
        let denom = v.clone().sqrt().div_scalar(bc2.sqrt()).add_scalar(h.eps);
        let new = decayed.sub(m.clone().div(denom).mul(lr.div_scalar(bc1)));
        let shape = p.dims();
        let keep = active.bool_not().expand(shape);
        self.moments.insert(
            name.to_string(),
            Moments {
                m: m.mask_where(keep.clone(), old.m),
                v: v.mask_where(keep.clone(), old.v),
            },
        );
        new.mask_where(keep, p)
    }
}
