//! The dispatch that the fused-kernel paths share ([`crate::fused_ssd`], [`crate::fused_conv`]):
//! the switch, the f32 check, the runtimes the build has, the TypeId match of the backend,
//! the cast, and the count of calls that ran the kernels.
//!
//! Why a TypeId dispatch: burn has no specialization, so a backend trait with fused methods
//! would have to bound every generic model and trainer function (about 140 of them). The
//! check costs a few comparisons per layer call; the cast after a matching TypeId cannot fail.

use std::any::{Any, TypeId};

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::switch::Switch;

/// CubeCL's own f32 backend on runtime R, as the kernels take it.
pub(crate) type Plain<R, I, BT> = CubeBackend<R, f32, I, BT>;
/// Its autodiff form (training).
pub(crate) type Ad<R, I, BT> = Autodiff<Plain<R, I, BT>>;

/// One fused operation with an output of D dims (the layers' [R, B, L, *] unless named, the
/// loss's [R, B]), over inputs of backend B.
pub(crate) trait FusedOp<B: Backend, const D: usize = 4> {
    /// The dtypes of the inputs (the kernels take f32 only).
    fn dtypes(&self) -> Vec<DType>;
    /// Whether the kernels take these shapes (checked after the switch and the dtypes).
    fn supported(&self) -> bool {
        true
    }
    /// Whether the kernels run on runtime R for these inputs (checked after [`Self::supported`],
    /// once B is known to be R's backend): a path whose default holds only where its kernels
    /// keep the plain ops' bits says no elsewhere.
    fn takes<R: CubeRuntime>(&self) -> bool {
        true
    }
    /// The operation with its own backward; B is `Ad<R, I, BT>` (checked by the caller).
    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, D>;
    /// The forward alone; B is `Plain<R, I, BT>` (checked by the caller).
    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, D>;
}

/// `op` through its kernels, or None where the switch, the dtypes or the backend do not
/// allow them (the caller then runs the plain ops). Every layer of every step passes here:
/// with the switch off that is one atomic load, before any tensor is looked at.
pub(crate) fn dispatch<B: Backend, Op: FusedOp<B, D>, const D: usize>(
    switch: &Switch,
    op: &Op,
) -> Option<Tensor<B, D>> {
    if !switch.on() || op.dtypes().iter().any(|d| *d != DType::F32) || !op.supported() {
        return None;
    }
    let mut y = None;
    #[cfg(feature = "cuda")]
    {
        y = y.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8, Op, D>(op));
    }
    #[cfg(feature = "wgpu")]
    {
        y = y.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32, Op, D>(op));
    }
    if y.is_some() {
        switch.count();
    }
    y
}

/// Whether B is CubeCL's own backend (with or without autodiff) on a runtime of this build:
/// where the speed paths were measured, so where their default (on) applies.
pub(crate) fn cubecl_backend<B: Backend>() -> bool {
    fn is<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>() -> bool {
        let b = TypeId::of::<B>();
        b == TypeId::of::<Ad<R, I, BT>>() || b == TypeId::of::<Plain<R, I, BT>>()
    }
    let mut yes = false;
    #[cfg(feature = "cuda")]
    {
        yes |= is::<B, cubecl::cuda::CudaRuntime, i32, u8>();
    }
    #[cfg(feature = "wgpu")]
    {
        yes |= is::<B, cubecl::wgpu::WgpuRuntime, i32, u32>();
    }
    yes
}

/// `op` on runtime R, if B is R's autodiff or plain CubeCL backend.
fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement, Op: FusedOp<B, D>, const D: usize>(
    op: &Op,
) -> Option<Tensor<B, D>> {
    let b = TypeId::of::<B>();
    let ad = b == TypeId::of::<Ad<R, I, BT>>();
    if !(ad || b == TypeId::of::<Plain<R, I, BT>>()) || !op.takes::<R>() {
        return None;
    }
    Some(if ad {
        cast(op.autodiff::<R, I, BT>())
    } else {
        cast(op.inference::<R, I, BT>())
    })
}

/// t as type U, which the caller's TypeId check says it is.
pub(crate) fn cast<T: 'static, U: 'static>(t: T) -> U {
    *(Box::new(t) as Box<dyn Any>)
        .downcast::<U>()
        .expect("cast after a matching TypeId")
}
