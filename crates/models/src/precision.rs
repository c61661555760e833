//! Mixed precision: the model's parameters stay in the backend's own float type (the
//! "master" weights the optimizer updates), and a training step runs on a copy cast to a
//! narrower compute type (bf16 on CUDA). The casts are tracked by autodiff, so the
//! gradients arrive on the master parameters in the master type.
//!
//! Where a narrow type loses too much, the computation is widened back to the master type
//! (the same places mamba_ssm keeps in f32): normalisation statistics, dt = softplus(..),
//! the SSM's decay exp(cumsum(A dt)), the attention softmax and the loss.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, Element, FloatDType, Tensor, backend::Backend};

/// The backend's own float type: the precision of the master weights.
pub fn master_dtype<B: Backend>() -> DType {
    <B::FloatElem as Element>::dtype()
}

/// `x` in `dtype`, without adding a node to the graph when it already is.
pub fn to_dtype<B: Backend, const D: usize>(x: Tensor<B, D>, dtype: DType) -> Tensor<B, D> {
    if x.dtype() == dtype {
        x
    } else {
        x.cast(FloatDType::from(dtype))
    }
}

/// `x` in the master type (see the module comment for where this is used).
pub fn widen<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    to_dtype(x, master_dtype::<B>())
}

/// Casts every float parameter; the copy's forward pass then computes in `dtype`.
struct Caster {
    dtype: DType,
}

impl<B: Backend> ModuleMapper<B> for Caster {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let dtype = self.dtype;
        param.map(|t| to_dtype(t, dtype))
    }
}

/// A copy of `module` whose parameters are `dtype` views of the originals. Gradients of a
/// loss computed with the copy flow back to the originals (as their own type).
pub fn cast_module<B: Backend, M: Module<B>>(module: &M, dtype: DType) -> M {
    module.clone().map(&mut Caster { dtype })
}
