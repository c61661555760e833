//! kernels::burn_op on burn's CubeCL backend over wgpu (lavapipe, scripts/setup-vulkan.sh):
//! its forward against the f64 recurrence, and the gradients that burn's autodiff gets through
//! its own backward against finite differences of the recurrence.

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::SsdShape;
use kernels::burn_op::{ssd_autodiff, ssd_inference};
use kernels::oracle::{self, Field};

mod common;
use common::{inputs, require_vulkan, tensor, values, worst};

type Inner = CubeBackend<WgpuRuntime, f32, i32, u32>;
type Ad = Autodiff<Inner>;

fn device() -> WgpuDevice {
    require_vulkan();
    WgpuDevice::default()
}

const SHAPE: SsdShape = SsdShape {
    replicas: 2,
    batch: 3,
    len: 8,
    e: 24,
    n: 8,
};

#[test]
fn the_autodiff_op_matches_the_recurrence_and_its_finite_differences() {
    let dev = device();
    let s = SHAPE;
    let h = inputs(&s, 3);
    let dy = inputs(&s, 4).x;
    let (r, bsz, l, e, n) = (s.replicas, s.batch, s.len, s.e, s.n);
    let x = tensor::<Ad, 4>(&h.x, [r, bsz, l, e], &dev).require_grad();
    let dt = tensor::<Ad, 3>(&h.dt, [r, bsz, l], &dev).require_grad();
    let a = tensor::<Ad, 2>(&h.a, [r, 1], &dev).require_grad();
    let b = tensor::<Ad, 4>(&h.b, [r, bsz, l, n], &dev).require_grad();
    let c = tensor::<Ad, 4>(&h.c, [r, bsz, l, n], &dev).require_grad();
    let d = tensor::<Ad, 2>(&h.d, [r, 1], &dev).require_grad();
    let y = ssd_autodiff(x.clone(), dt.clone(), a.clone(), b.clone(), c.clone(), d.clone());
    let err = worst(&values(y.clone()), &oracle::recurrence(&s, &h));
    assert!(err < 2e-6, "forward: max error {err:.2e}");
    let loss = y.mul(tensor::<Ad, 4>(&dy, [r, bsz, l, e], &dev)).sum();
    let grads = loss.backward();
    let got = [
        (Field::X, values(x.grad(&grads).unwrap())),
        (Field::Dt, values(dt.grad(&grads).unwrap())),
        (Field::A, values(a.grad(&grads).unwrap())),
        (Field::B, values(b.grad(&grads).unwrap())),
        (Field::C, values(c.grad(&grads).unwrap())),
        (Field::D, values(d.grad(&grads).unwrap())),
    ];
    for (field, g) in got {
        let err = worst(&g, &oracle::finite_difference(&s, &h, &dy, field, 1e-6));
        assert!(err < 2e-5, "d{field:?}: max error {err:.2e}");
    }
}

#[test]
fn the_op_passes_gradients_on_to_what_came_before_it() {
    // x enters as 2 * w: the chain rule must run through the op's backward into w
    let dev = device();
    let s = SHAPE;
    let h = inputs(&s, 8);
    let (r, bsz, l, e, n) = (s.replicas, s.batch, s.len, s.e, s.n);
    let w = tensor::<Ad, 4>(&h.x, [r, bsz, l, e], &dev).require_grad();
    let plain = |t: &[f64], dims: [usize; 3]| tensor::<Ad, 3>(t, dims, &dev);
    let y = ssd_autodiff(
        w.clone().mul_scalar(2.0),
        plain(&h.dt, [r, bsz, l]),
        tensor::<Ad, 2>(&h.a, [r, 1], &dev),
        tensor::<Ad, 4>(&h.b, [r, bsz, l, n], &dev),
        tensor::<Ad, 4>(&h.c, [r, bsz, l, n], &dev),
        tensor::<Ad, 2>(&h.d, [r, 1], &dev),
    );
    let grads = y.sum().backward();
    let got = values(w.grad(&grads).unwrap());
    let ones = vec![1.0; s.x_len()];
    let mut doubled = h.clone();
    doubled.x.iter_mut().for_each(|v| *v *= 2.0);
    let want: Vec<f64> = oracle::finite_difference(&s, &doubled, &ones, Field::X, 1e-6)
        .into_iter()
        .map(|g| 2.0 * g)
        .collect();
    let err = worst(&got, &want);
    assert!(err < 2e-5, "dw: max error {err:.2e}");
}

#[test]
fn the_inference_forward_matches_the_recurrence() {
    let dev = device();
    let s = SHAPE;
    let h = inputs(&s, 21);
    let (r, bsz, l, e, n) = (s.replicas, s.batch, s.len, s.e, s.n);
    let y = ssd_inference(
        tensor::<Inner, 4>(&h.x, [r, bsz, l, e], &dev),
        tensor::<Inner, 3>(&h.dt, [r, bsz, l], &dev),
        tensor::<Inner, 2>(&h.a, [r, 1], &dev),
        tensor::<Inner, 4>(&h.b, [r, bsz, l, n], &dev),
        tensor::<Inner, 4>(&h.c, [r, bsz, l, n], &dev),
        tensor::<Inner, 2>(&h.d, [r, 1], &dev),
    );
    let err = worst(&values(y), &oracle::recurrence(&s, &h));
    assert!(err < 2e-6, "max error {err:.2e}");
}
