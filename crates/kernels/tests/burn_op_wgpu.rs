//! kernels::burn_op on burn's CubeCL backend over wgpu (lavapipe, scripts/setup-vulkan.sh):
//! its forward against the f64 recurrence, and the gradients that burn's autodiff gets through
//! its own backward against finite differences of the recurrence.

use burn::backend::Autodiff;
use burn::tensor::Tensor;
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

/// xbc's gradient [R, B, L, E + 2N] as (dx, dB, dC) beside the other inputs' gradients.
fn xbc_fields(s: &kernels::SsdShape, dxbc: Vec<f64>) -> [(Field, Vec<f64>); 3] {
    let [dx, db, dc] = oracle::split_xbc(s, &dxbc);
    [(Field::X, dx), (Field::B, db), (Field::C, dc)]
}

#[test]
fn the_autodiff_op_matches_the_recurrence_and_its_finite_differences() {
    let dev = device();
    let s = SHAPE;
    let h = inputs(&s, 3);
    let dy = inputs(&s, 4).x;
    let (r, bsz, l, e) = (s.replicas, s.batch, s.len, s.e);
    let xbc = tensor::<Ad, 4>(&h.xbc(&s), [r, bsz, l, s.row()], &dev).require_grad();
    let dt = tensor::<Ad, 3>(&h.dt, [r, bsz, l], &dev).require_grad();
    let a = tensor::<Ad, 2>(&h.a, [r, 1], &dev).require_grad();
    let d = tensor::<Ad, 2>(&h.d, [r, 1], &dev).require_grad();
    let y = ssd_autodiff(xbc.clone(), dt.clone(), a.clone(), d.clone(), e);
    let err = worst(&values(y.clone()), &oracle::recurrence(&s, &h));
    assert!(err < 2e-6, "forward: max error {err:.2e}");
    let loss = y.mul(tensor::<Ad, 4>(&dy, [r, bsz, l, e], &dev)).sum();
    let grads = loss.backward();
    let mut got = xbc_fields(&s, values(xbc.grad(&grads).unwrap())).to_vec();
    got.extend([
        (Field::Dt, values(dt.grad(&grads).unwrap())),
        (Field::A, values(a.grad(&grads).unwrap())),
        (Field::D, values(d.grad(&grads).unwrap())),
    ]);
    for (field, g) in got {
        let err = worst(&g, &oracle::finite_difference(&s, &h, &dy, field, 1e-6));
        assert!(err < 2e-5, "d{field:?}: max error {err:.2e}");
    }
}

#[test]
fn the_op_passes_gradients_on_to_what_came_before_it() {
    // xbc enters as 2 * w, sliced out of a wider tensor as in the block: the chain rule must
    // run through the op's backward, the slice and the product into w
    let dev = device();
    let s = SHAPE;
    let h = inputs(&s, 8);
    let (r, bsz, l) = (s.replicas, s.batch, s.len);
    let half: Vec<f64> = h.xbc(&s).iter().map(|v| v / 2.0).collect();
    let w = Tensor::cat(
        vec![
            tensor::<Ad, 4>(&vec![0.5; r * bsz * l * 2], [r, bsz, l, 2], &dev),
            tensor::<Ad, 4>(&half, [r, bsz, l, s.row()], &dev),
        ],
        3,
    )
    .require_grad();
    let y = ssd_autodiff(
        w.clone().mul_scalar(2.0).narrow(3, 2, s.row()),
        tensor::<Ad, 3>(&h.dt, [r, bsz, l], &dev),
        tensor::<Ad, 2>(&h.a, [r, 1], &dev),
        tensor::<Ad, 2>(&h.d, [r, 1], &dev),
        s.e,
    );
    let grads = y.sum().backward();
    let dw = values(w.grad(&grads).unwrap());
    let ones = vec![1.0; s.x_len()];
    // d/dw = 2 dxbc on the sliced columns, 0 on the two in front
    let fd = |f| oracle::finite_difference(&s, &h, &ones, f, 1e-6);
    let mut want = vec![0.0; dw.len()];
    let [fx, fb, fc] = [fd(Field::X), fd(Field::B), fd(Field::C)];
    for tok in 0..r * bsz * l {
        let row = &mut want[tok * (s.row() + 2) + 2..(tok + 1) * (s.row() + 2)];
        let parts = [
            &fx[tok * s.e..(tok + 1) * s.e],
            &fb[tok * s.n..(tok + 1) * s.n],
            &fc[tok * s.n..(tok + 1) * s.n],
        ];
        for (dst, v) in row.iter_mut().zip(parts.into_iter().flatten()) {
            *dst = 2.0 * v;
        }
    }
    let err = worst(&dw, &want);
    assert!(err < 4e-5, "dw: max error {err:.2e}");
}

#[test]
fn the_inference_forward_matches_the_recurrence() {
    let dev = device();
    let s = SHAPE;
    let h = inputs(&s, 21);
    let (r, bsz, l) = (s.replicas, s.batch, s.len);
    let y = ssd_inference(
        tensor::<Inner, 4>(&h.xbc(&s), [r, bsz, l, s.row()], &dev),
        tensor::<Inner, 3>(&h.dt, [r, bsz, l], &dev),
        tensor::<Inner, 2>(&h.a, [r, 1], &dev),
        tensor::<Inner, 2>(&h.d, [r, 1], &dev),
        s.e,
    );
    let err = worst(&values(y), &oracle::recurrence(&s, &h));
    assert!(err < 2e-6, "max error {err:.2e}");
}
