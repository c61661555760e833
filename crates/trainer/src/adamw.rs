//! AdamW with PyTorch's semantics (torch.optim.AdamW, no amsgrad): decoupled weight decay
//! p <- p (1 - lr wd), then p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
//! burn's own AdamW differs (defaults and where eps sits), so the project carries its own.
//! Every tensor is handled as [R, n]: one row per replica, each with its own learning rate;
//! rows of stopped (diverged) replicas are left exactly as they were.

use std::collections::BTreeMap;

use burn::tensor::{Tensor, backend::Backend};

use crate::clip::clip_row;
use crate::flat::FlatLayout;
use models::fused_adam::{RowHyper, RowUpdate};

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

/// Where the moments live: by parameter name (as checkpoints store them) or as one row per
/// replica (crate::flat, as [`AdamW::update_flat`] uses them). A checkpoint's moments are
/// laid out at the first update after it is loaded.
#[derive(Debug, Clone)]
enum Store<B: Backend> {
    ByName(BTreeMap<String, Moments<B>>),
    Flat(FlatLayout, Moments<B>),
}

/// Per-replica global-norm clipping of one update: the gradient norm [R, 1] and the norm
/// to clip to (0: off), as crate::clip takes them.
#[derive(Debug, Clone)]
pub struct Clip<B: Backend> {
    pub norm: Tensor<B, 2>,
    pub max_norm: f64,
}

/// Optimizer state: the moments and the number of updates taken.
#[derive(Debug, Clone)]
pub struct AdamW<B: Backend> {
    pub hyper: AdamHyper,
    store: Store<B>,
    /// Updates taken so far (t - 1 in the bias corrections of the next update).
    pub steps: usize,
}

impl<B: Backend> AdamW<B> {
    pub fn new(hyper: AdamHyper) -> Self {
        Self {
            hyper,
            store: Store::ByName(BTreeMap::new()),
            steps: 0,
        }
    }

    /// Call once per optimizer step, before the `update`s of that step.
    pub fn begin_step(&mut self) {
        self.steps += 1;
    }

    /// The moments by parameter name, [R, n] each (none before the first update).
    pub fn moments(&self) -> BTreeMap<String, Moments<B>> {
        match &self.store {
            Store::ByName(map) => map.clone(),
            Store::Flat(layout, mv) => {
                let (m, v) = (layout.split(mv.m.clone()), layout.split(mv.v.clone()));
                m.into_iter()
                    .map(|(name, m)| {
                        let v = v[&name].clone();
                        (name, Moments { m, v })
                    })
                    .collect()
            }
        }
    }

    /// Replaces the moments (a checkpoint's), by parameter name.
    pub fn set_moments(&mut self, moments: BTreeMap<String, Moments<B>>) {
        self.store = Store::ByName(moments);
    }

    /// The new values of all parameters at once, laid out by `layout` (crate::flat), after
    /// clipping g per replica to `clip.max_norm` (crate::clip; 0: off).
    /// p, g: [R, layout.total]; lr: [R, 1]; active: [R, 1] (1.0 where the replica trains,
    /// 0.0 where it stopped: crate::guard); clip.norm: [R, 1].
    pub fn update_flat(
        &mut self,
        layout: &FlatLayout,
        p: Tensor<B, 2>,
        g: Tensor<B, 2>,
        lr: Tensor<B, 2>,
        active: Tensor<B, 2>,
        clip: Clip<B>,
    ) -> Tensor<B, 2> {
        let old = match &self.store {
            Store::Flat(l, mv) if l == layout => mv.clone(),
            // First flat update, or moments restored from a checkpoint: lay them out
            // (zeros for parameters that have none yet).
            _ => {
                let by_name = self.moments();
                let [r, _] = g.dims();
                let device = g.device();
                let row = |pick: fn(&Moments<B>) -> Tensor<B, 2>| {
                    let parts = by_name.iter().map(|(n, mv)| (n.clone(), pick(mv))).collect();
                    layout.cat(&parts, r, &device)
                };
                Moments {
                    m: row(|mv| mv.m.clone()),
                    v: row(|mv| mv.v.clone()),
                }
            }
        };
        let h = self.hyper;
        let fused = RowHyper {
            beta1: h.beta1,
            beta2: h.beta2,
            eps: h.eps,
            weight_decay: h.weight_decay,
            t: self.steps as i32,
            max_norm: clip.max_norm,
        };
        let x = RowUpdate {
            p: p.clone(),
            g: g.clone(),
            m: old.m.clone(),
            v: old.v.clone(),
            lr: lr.clone(),
            norm: clip.norm.clone(),
            active: active.clone(),
        };
        // one kernel where models::fused_adam applies (its switch, f32, a CubeCL backend)
        let (new, moments) = match models::fused_adam::adamw_row(x, &fused) {
            Some([new, m, v]) => (new, Moments { m, v }),
            None => self.step_math(p, clip_row(g, &clip.norm, clip.max_norm), old, lr, active),
        };
        self.store = Store::Flat(layout.clone(), moments);
        new
    }

    /// One AdamW update of p [R, n] with gradient g and moments `old`; rows of inactive
    /// replicas keep their values and moments.
    fn step_math(
        &self,
        p: Tensor<B, 2>,
        g: Tensor<B, 2>,
        old: Moments<B>,
        lr: Tensor<B, 2>,
        active: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Moments<B>) {
        let h = self.hyper;
        let t = self.steps as i32;
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
        let keep = active.equal_elem(0.0).expand(p.dims());
        let moments = Moments {
            m: m.mask_where(keep.clone(), old.m),
            v: v.mask_where(keep.clone(), old.v),
        };
        (new.mask_where(keep, p), moments)
    }
}
