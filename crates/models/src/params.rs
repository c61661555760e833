//! Walking a model's parameters by their mamba_ssm / PyTorch names, for export, import and
//! per-tensor checks. Each module lists its parameters once, in `visit_params`.

use std::collections::BTreeMap;

use burn::module::Param;
use burn::tensor::{Tensor, TensorData, backend::Backend};

/// Receives every parameter with its PyTorch name and per-replica PyTorch shape. The
/// stored tensor is [R, ..] with the same number of elements per replica.
pub trait ParamVisitor<B: Backend> {
    fn visit<const D: usize>(&mut self, name: &str, torch_shape: &[usize], param: &mut Param<Tensor<B, D>>);
}

/// Anything with named parameters.
pub trait VisitParams<B: Backend> {
    fn visit_params<V: ParamVisitor<B>>(&mut self, prefix: &str, v: &mut V);
}

/// One parameter read out of a model: all replicas, row-major, in f64 (exact for f32 and
/// f64 backends; exports cast to f32).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub torch_shape: Vec<usize>,
    pub n_replicas: usize,
    pub values: Vec<f64>,
    pub trainable: bool,
}

impl NamedTensor {
    /// The values of replica `r`, in PyTorch's layout.
    pub fn replica(&self, r: usize) -> &[f64] {
        let n = self.values.len() / self.n_replicas;
        &self.values[r * n..(r + 1) * n]
    }
}

struct Reader(BTreeMap<String, NamedTensor>);

impl<B: Backend> ParamVisitor<B> for Reader {
    fn visit<const D: usize>(&mut self, name: &str, torch_shape: &[usize], param: &mut Param<Tensor<B, D>>) {
        let t = param.val();
        let trainable = t.is_require_grad();
        let n_replicas = t.dims()[0];
        let values = t.into_data().convert::<f64>().to_vec::<f64>().expect("float data");
        self.0.insert(
            name.to_string(),
            NamedTensor {
                torch_shape: torch_shape.to_vec(),
                n_replicas,
                values,
                trainable,
            },
        );
    }
}

/// Every parameter of `model` by name.
pub fn read_params<B: Backend, M: VisitParams<B> + Clone>(model: &M) -> BTreeMap<String, NamedTensor> {
    let mut reader = Reader(BTreeMap::new());
    model.clone().visit_params("", &mut reader);
    reader.0
}

struct Writer<'a> {
    source: &'a dyn Fn(&str) -> Option<Vec<f64>>,
    missing: Vec<String>,
}

impl<B: Backend> ParamVisitor<B> for Writer<'_> {
    fn visit<const D: usize>(&mut self, name: &str, _torch_shape: &[usize], param: &mut Param<Tensor<B, D>>) {
        let Some(values) = (self.source)(name) else {
            self.missing.push(name.to_string());
            return;
        };
        let old = param.val();
        let shape: [usize; D] = old.dims();
        assert_eq!(
            values.len(),
            shape.iter().product::<usize>(),
            "{name}: wrong number of values"
        );
        let trainable = old.is_require_grad();
        let new = Tensor::<B, D>::from_data(TensorData::new(values, shape), &old.device());
        *param = param.clone().map(|_| new.set_require_grad(trainable));
    }
}

/// Replaces every parameter with the values `source(name)` gives (all replicas stacked,
/// row-major). Returns the names `source` had nothing for (left unchanged).
pub fn write_params<B: Backend, M: VisitParams<B>>(
    model: &mut M,
    source: &dyn Fn(&str) -> Option<Vec<f64>>,
) -> Vec<String> {
    let mut writer = Writer {
        source,
        missing: Vec::new(),
    };
    model.visit_params("", &mut writer);
    writer.missing
}

/// Number of parameters of one replica (trainable and frozen).
pub fn count_params<B: Backend, M: VisitParams<B> + Clone>(model: &M) -> (usize, usize) {
    let params = read_params(model);
    let per = |t: &NamedTensor| t.values.len() / t.n_replicas;
    let trainable = params.values().filter(|t| t.trainable).map(per).sum();
    let frozen = params.values().filter(|t| !t.trainable).map(per).sum();
    (trainable, frozen)
}

struct GradReader<'a, B: burn::tensor::backend::AutodiffBackend> {
    grads: &'a B::Gradients,
    out: BTreeMap<String, Option<Vec<f64>>>,
}

impl<B: burn::tensor::backend::AutodiffBackend> ParamVisitor<B> for GradReader<'_, B> {
    fn visit<const D: usize>(&mut self, name: &str, _torch_shape: &[usize], param: &mut Param<Tensor<B, D>>) {
        let g = param
            .val()
            .grad(self.grads)
            .map(|g| g.into_data().convert::<f64>().to_vec::<f64>().expect("float data"));
        self.out.insert(name.to_string(), g);
    }
}

/// The gradient of every parameter by name (all replicas, row-major); None where the
/// parameter got no gradient (frozen, or not on the loss's path).
pub fn read_grads<B, M>(model: &M, grads: &B::Gradients) -> BTreeMap<String, Option<Vec<f64>>>
where
    B: burn::tensor::backend::AutodiffBackend,
    M: VisitParams<B> + Clone,
{
    let mut reader = GradReader {
        grads,
        out: BTreeMap::new(),
    };
    model.clone().visit_params("", &mut reader);
    reader.out
}
