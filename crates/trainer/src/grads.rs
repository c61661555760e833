//! Moving gradients and parameters between the model and the optimizer, each tensor
//! flattened to [R, n] (one row per replica).

use std::collections::BTreeMap;

use burn::module::Param;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use models::{ParamVisitor, VisitParams};

type Inner<B> = <B as AutodiffBackend>::InnerBackend;

/// Maps a parameter (name, current value as [R, n]) to its new value, or None to keep it.
pub type UpdateFn<'a, B> = dyn FnMut(&str, Tensor<Inner<B>, 2>) -> Option<Tensor<Inner<B>, 2>> + 'a;

fn flat<B: Backend, const D: usize>(t: Tensor<B, D>) -> Tensor<B, 2> {
    let dims = t.dims();
    t.reshape([dims[0], dims[1..].iter().product()])
}

struct GradCollector<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    out: BTreeMap<String, Tensor<Inner<B>, 2>>,
}

impl<B: AutodiffBackend> ParamVisitor<B> for GradCollector<'_, B> {
    fn visit<const D: usize>(&mut self, name: &str, _shape: &[usize], param: &mut Param<Tensor<B, D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            self.out.insert(name.to_string(), flat(g));
        }
    }
}

/// Gradients of every trainable parameter, [R, n] each (frozen parameters have none).
pub fn collect<B: AutodiffBackend, M: VisitParams<B>>(
    model: &mut M,
    grads: &B::Gradients,
) -> BTreeMap<String, Tensor<Inner<B>, 2>> {
    let mut c = GradCollector {
        grads,
        out: BTreeMap::new(),
    };
    model.visit_params("", &mut c);
    c.out
}

/// Adds `b` into `a` name by name (gradient accumulation over micro-batches).
pub fn accumulate<B: Backend>(a: &mut BTreeMap<String, Tensor<B, 2>>, b: BTreeMap<String, Tensor<B, 2>>) {
    for (name, g) in b {
        let sum = match a.remove(&name) {
            Some(prev) => prev.add(g),
            None => g,
        };
        a.insert(name, sum);
    }
}

struct ValueReader<B: AutodiffBackend> {
    out: BTreeMap<String, Tensor<Inner<B>, 2>>,
}

impl<B: AutodiffBackend> ParamVisitor<B> for ValueReader<B> {
    fn visit<const D: usize>(&mut self, name: &str, _shape: &[usize], param: &mut Param<Tensor<B, D>>) {
        let current = param.val();
        if current.is_require_grad() {
            self.out.insert(name.to_string(), flat(current.inner()));
        }
    }
}

/// The values of every trainable parameter, [R, n] each, on the device (no copy to the host).
pub fn values<B: AutodiffBackend, M: VisitParams<B> + Clone>(model: &M) -> BTreeMap<String, Tensor<Inner<B>, 2>> {
    let mut reader = ValueReader { out: BTreeMap::new() };
    model.clone().visit_params("", &mut reader);
    reader.out
}

struct Updater<'a, B: AutodiffBackend> {
    update: &'a mut UpdateFn<'a, B>,
}

impl<B: AutodiffBackend> ParamVisitor<B> for Updater<'_, B> {
    fn visit<const D: usize>(&mut self, name: &str, _shape: &[usize], param: &mut Param<Tensor<B, D>>) {
        let current = param.val();
        if !current.is_require_grad() {
            return;
        }
        let dims = current.dims();
        if let Some(new) = (self.update)(name, flat(current.inner())) {
            let value = Tensor::<B, D>::from_inner(new.reshape(dims)).require_grad();
            *param = param.clone().map(|_| value);
        }
    }
}

/// Replaces each trainable parameter p by `update(name, p)` (as [R, n]) where it returns Some.
pub fn apply<B: AutodiffBackend, M: VisitParams<B>>(model: &mut M, update: &mut UpdateFn<'_, B>) {
    model.visit_params("", &mut Updater::<B> { update });
}
