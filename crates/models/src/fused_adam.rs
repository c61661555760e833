//! The optimizer's tail through the row kernels of crates/kernels (kernels::adamw): the
//! gradients laid end to end in one launch, and the clipping and AdamW update in one launch,
//! where the plain ops take one fill and one slice_assign a parameter tensor and about 26
//! elementwise kernels (issue 8: fewer launches for the host to make at R = 1).
//!
//! **On by default** since session 17: its H200 A/B (results/bench/session16-h200-2026-11-27)
//! gave the same 5-epoch losses to 2.1e-7 and 338 -> 266 kernels a depth-2 step, 1.02x at
//! R = 9; at R = 1 the bench's host clock (results/bench/session17-h200-2026-11-27, host-check:
//! two interleaved pairs of 300 steps) shows the optimizer's host time halved (1.64 -> 0.91 ms
//! at depth 2, 2.52 -> 1.34 at depth 4) and every pair faster at depths 2, 4 and 7 (1.17-1.26x),
//! where R = 1 is bound by the host. `MSYM_FUSED_ADAM=0` or [`set_fused_adam`] turns it off.
//! It runs on the plain CubeCL backends in f32 (the optimizer works outside autodiff); elsewhere the callers
//! (trainer::flat, trainer::adamw) run the plain ops. Tested against AdamW in f64
//! (crates/kernels/tests/adamw_wgpu.rs) and against the plain ops in training steps on
//! lavapipe (crates/trainer/tests/adam_wgpu.rs).

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_ADAM");

/// Turns the fused optimizer tail on or off for this process (overrides MSYM_FUSED_ADAM).
pub fn set_fused_adam(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused optimizer tail is allowed: [`set_fused_adam`], else MSYM_FUSED_ADAM, else on.
pub fn fused_adam_on() -> bool {
    SWITCH.on()
}

/// Updates that ran the fused kernel so far in this process.
pub fn fused_adam_calls() -> usize {
    SWITCH.calls()
}

/// One AdamW update's settings: PyTorch's hyperparameters, the update's number t (from 1),
/// and the clipping norm (0: off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowHyper {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub t: i32,
    pub max_norm: f64,
}

/// The inputs of one update, each replica a row: p, g (unclipped), m, v [R, P]; lr, norm (the
/// gradient's global norm) and active (1.0 where the replica trains, 0.0 where it stopped) [R, 1].
pub struct RowUpdate<B: Backend> {
    pub p: Tensor<B, 2>,
    pub g: Tensor<B, 2>,
    pub m: Tensor<B, 2>,
    pub v: Tensor<B, 2>,
    pub lr: Tensor<B, 2>,
    pub norm: Tensor<B, 2>,
    pub active: Tensor<B, 2>,
}

/// `parts` [R, n_k], part k from column `starts[k]` (increasing, not overlapping), zeros
/// elsewhere: [R, total]; None where the switch, the dtypes or the backend do not allow the
/// kernel (the caller then concatenates).
pub fn gather_row<B: Backend>(parts: &[Tensor<B, 2>], starts: &[usize], total: usize) -> Option<Tensor<B, 2>> {
    #[cfg(feature = "cubecl")]
    {
        imp::gather(parts, starts, total)
    }
    #[cfg(not(feature = "cubecl"))]
    {
        let _ = (parts, starts, total);
        None
    }
}

/// **On by default** since its H200 A/B (`scripts/device-batch.sh views-check`,
/// results/bench/session27-h200-2026-11-29/call1): R = 1 faster in both interleaved pairs at
/// depths 2, 4 and 7 (depth 4: 6.19 / 6.89 -> 5.91 / 5.07 ms), 337 -> 288 kernels a depth-4
/// step, and three one-replica fig3 runs of 5 epochs with the same metrics, bit for bit.
/// `MSYM_ROW_VIEWS=0` or [`set_row_views`] turns it off.
static ROW_VIEWS: Switch = Switch::new("MSYM_ROW_VIEWS");

/// Turns the row views on or off for this process (overrides MSYM_ROW_VIEWS).
pub fn set_row_views(on: bool) {
    ROW_VIEWS.set(on);
}

/// Whether the row views are allowed: [`set_row_views`], else MSYM_ROW_VIEWS, else on.
pub fn row_views_on() -> bool {
    ROW_VIEWS.on()
}

/// Splits of the parameter row that made views so far in this process.
pub fn row_views_calls() -> usize {
    ROW_VIEWS.calls()
}

/// Entries a parameter's first entry must be a multiple of in trainer::flat's row (in f32
/// entries) for [`row_views`] to apply: 128, CUDA's 512 bytes (wgpu's alignment divides it).
pub const ROW_VIEW_ALIGN: usize = 128;

/// The alignment (in entries) at which trainer::flat lays each parameter in the row: where
/// the row views can apply (the switch on, one replica, a CubeCL backend)
/// [`ROW_VIEW_ALIGN`], else 1 (end to end, the layout and so the bits of every other run as
/// before).
pub fn row_align<B: Backend>(replicas: usize) -> usize {
    if ROW_VIEWS.on() && replicas == 1 && crate::switch::on_cubecl::<B>() {
        ROW_VIEW_ALIGN
    } else {
        1
    }
}

/// The parameters of one replica's row [1, total] as tensors [1, n] over the row's memory,
/// one a (start, n) of `entries`, launching nothing; None where the switch, the dtype, the
/// backend, the replicas or an entry's alignment do not allow it (the caller then slices).
/// Why: at R = 1 a step is bound by the host's work for each launch, and the split was one
/// slice kernel a parameter (kernels::burn_op_adamw::row_views).
pub fn row_views<B: Backend>(row: &Tensor<B, 2>, entries: &[(usize, usize)]) -> Option<Vec<Tensor<B, 2>>> {
    if !ROW_VIEWS.on() || row.dtype() != burn::tensor::DType::F32 {
        return None;
    }
    #[cfg(feature = "cubecl")]
    {
        let views = imp::views(row, entries);
        if views.is_some() {
            ROW_VIEWS.count();
        }
        views
    }
    #[cfg(not(feature = "cubecl"))]
    {
        let _ = entries;
        None
    }
}

/// [p, m, v] after clipping and one AdamW update (rows of stopped replicas unchanged); None
/// where the kernel does not apply (the caller then runs the plain ops).
pub fn adamw_row<B: Backend>(x: RowUpdate<B>, h: &RowHyper) -> Option<[Tensor<B, 2>; 3]> {
    #[cfg(feature = "cubecl")]
    {
        imp::update(x, h)
    }
    #[cfg(not(feature = "cubecl"))]
    {
        let _ = (x, h);
        None
    }
}

#[cfg(feature = "cubecl")]
mod imp {
    use std::any::TypeId;

    use burn::tensor::backend::Backend;
    use burn::tensor::{DType, Tensor};
    use burn_cubecl::CubeRuntime;
    use burn_cubecl::element::{BoolElement, IntElement};
    use kernels::adamw::AdamScalars;
    use kernels::burn_op_adamw::{AdamRowTensors, adamw_row_tensors, gather_row_tensor, row_views};

    use super::{RowHyper, RowUpdate, SWITCH};
    use crate::fused::{Plain, cast};

    /// Whether B is the plain CubeCL backend on runtime R.
    fn is<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>() -> bool {
        TypeId::of::<B>() == TypeId::of::<Plain<R, I, BT>>()
    }

    fn allowed<B: Backend>(tensors: &[&Tensor<B, 2>]) -> bool {
        SWITCH.on() && !tensors.is_empty() && tensors.iter().all(|t| t.dtype() == DType::F32)
    }

    pub(super) fn gather<B: Backend>(parts: &[Tensor<B, 2>], starts: &[usize], total: usize) -> Option<Tensor<B, 2>> {
        if !allowed(&parts.iter().collect::<Vec<_>>()) {
            return None;
        }
        fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>(
            parts: &[Tensor<B, 2>],
            starts: &[usize],
            total: usize,
        ) -> Option<Tensor<B, 2>> {
            is::<B, R, I, BT>().then(|| {
                let parts = parts.iter().map(|p| cast(p.clone())).collect();
                cast(gather_row_tensor::<R, I, BT>(parts, starts, total))
            })
        }
        let mut y = None;
        #[cfg(feature = "cuda")]
        {
            y = y.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8>(parts, starts, total));
        }
        #[cfg(feature = "wgpu")]
        {
            y = y.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32>(parts, starts, total));
        }
        y
    }

    pub(super) fn views<B: Backend>(row: &Tensor<B, 2>, entries: &[(usize, usize)]) -> Option<Vec<Tensor<B, 2>>> {
        fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>(
            row: &Tensor<B, 2>,
            entries: &[(usize, usize)],
        ) -> Option<Vec<Tensor<B, 2>>> {
            if !is::<B, R, I, BT>() {
                return None;
            }
            row_views::<R, I, BT>(cast(row.clone()), entries).map(|v| v.into_iter().map(cast).collect())
        }
        let mut y = None;
        #[cfg(feature = "cuda")]
        {
            y = y.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8>(row, entries));
        }
        #[cfg(feature = "wgpu")]
        {
            y = y.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32>(row, entries));
        }
        y
    }

    /// The kernel's scalars, each computed in f64 and rounded to f32 as the plain ops do.
    fn scalars(h: &RowHyper) -> AdamScalars {
        AdamScalars {
            beta1: h.beta1 as f32,
            one_minus_beta1: (1.0 - h.beta1) as f32,
            beta2: h.beta2 as f32,
            one_minus_beta2: (1.0 - h.beta2) as f32,
            neg_weight_decay: -h.weight_decay as f32,
            sqrt_bc2: (1.0 - h.beta2.powi(h.t)).sqrt() as f32,
            bc1: (1.0 - h.beta1.powi(h.t)) as f32,
            eps: h.eps as f32,
            max_norm: h.max_norm.max(0.0) as f32,
        }
    }

    pub(super) fn update<B: Backend>(x: RowUpdate<B>, h: &RowHyper) -> Option<[Tensor<B, 2>; 3]> {
        if !allowed(&[&x.p, &x.g, &x.m, &x.v, &x.lr, &x.norm]) {
            return None;
        }
        fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>(
            x: &RowUpdate<B>,
            h: &RowHyper,
        ) -> Option<[Tensor<B, 2>; 3]> {
            is::<B, R, I, BT>().then(|| {
                let t = AdamRowTensors::<R, I, BT> {
                    p: cast(x.p.clone()),
                    g: cast(x.g.clone()),
                    m: cast(x.m.clone()),
                    v: cast(x.v.clone()),
                    lr: cast(x.lr.clone()),
                    norm: cast(x.norm.clone()),
                    active: cast(x.active.clone()),
                };
                adamw_row_tensors(t, &scalars(h)).map(cast)
            })
        }
        let mut y = None;
        #[cfg(feature = "cuda")]
        {
            y = y.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8>(&x, h));
        }
        #[cfg(feature = "wgpu")]
        {
            y = y.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32>(&x, h));
        }
        if y.is_some() {
            SWITCH.count();
        }
        y
    }
}
