//! The linear kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh): the
//! forward and both gradients against y = x W^T in f64 (the oracle's gradients checked against
//! central finite differences), the same bits on a second launch, the group sum on its own,
//! then the burn operation through ops before and after it, a frozen weight, and its
//! inference form.

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_linear::{linear_autodiff, linear_inference, linear_shape};
use kernels::linear::{LinearShape, linear_backward, linear_forward, sum_groups};

mod common;
use common::{client, download, lcg, linear_oracle, require_vulkan, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

/// fig3's z map (d_model 32 -> d_inner 64) at 2 replicas of 24 tokens (groups 4 of 6); the
/// out_proj's widths (64 -> 32) with 40 tokens, so the products' second block of 32 rows is
/// part empty; and 662 = 2 x 331 tokens of odd widths (groups longer than a cube).
const CASES: [LinearShape; 3] = [
    LinearShape {
        replicas: 2,
        tokens: 24,
        k: 32,
        n: 64,
    },
    LinearShape {
        replicas: 3,
        tokens: 40,
        k: 64,
        n: 32,
    },
    LinearShape {
        replicas: 1,
        tokens: 662,
        k: 5,
        n: 3,
    },
];

/// x, w in [-1, 1).
fn inputs(s: &LinearShape, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut draw = lcg(seed);
    (draw(s.x_len(), -1.0, 2.0), draw(s.w_len(), -1.0, 2.0))
}

/// The oracle's forward alone.
fn forward(s: &LinearShape, x: &[f64], w: &[f64]) -> Vec<f64> {
    linear_oracle(s, x, w, &vec![0.0; s.y_len()]).0
}

/// The oracle's gradients of sum(g * y): (dx, dw).
fn backward(s: &LinearShape, x: &[f64], w: &[f64], g: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (_, dx, dw) = linear_oracle(s, x, w, g);
    (dx, dw)
}

#[test]
fn the_oracle_gradients_are_its_finite_differences() {
    let s = CASES[2];
    let (x, w) = inputs(&s, 3);
    let g = lcg(4)(s.y_len(), -1.0, 2.0);
    let (dx, dw) = backward(&s, &x, &w, &g);
    let loss = |x: &[f64], w: &[f64]| forward(&s, x, w).iter().zip(&g).map(|(a, b)| a * b).sum::<f64>();
    let eps = 1e-6;
    for at in [0, 9, s.x_len() - 1] {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[at] += eps;
        down[at] -= eps;
        let fd = (loss(&up, &w) - loss(&down, &w)) / (2.0 * eps);
        assert!(
            (fd - dx[at]).abs() < 1e-6,
            "dx[{at}]: finite difference {fd}, oracle {}",
            dx[at]
        );
    }
    for at in 0..s.w_len() {
        let (mut up, mut down) = (w.clone(), w.clone());
        up[at] += eps;
        down[at] -= eps;
        let fd = (loss(&x, &up) - loss(&x, &down)) / (2.0 * eps);
        assert!(
            (fd - dw[at]).abs() < 1e-5,
            "dw[{at}]: finite difference {fd}, oracle {}",
            dw[at]
        );
    }
}

#[test]
fn the_kernels_give_the_oracle_forward_and_gradients_and_repeat_their_bits() {
    let c = client();
    for (n, s) in CASES.iter().enumerate() {
        let (x, w) = inputs(s, 10 + n as u64);
        let g = lcg(20 + n as u64)(s.y_len(), -1.0, 2.0);
        let (xd, wd, gd) = (upload(&c, &x), upload(&c, &w), upload(&c, &g));
        let y = download(&c, linear_forward::<R, f32>(&c, s, &xd, &wd));
        let err = worst(&y, &forward(s, &x, &w));
        assert!(err < 1e-5, "case {n} ({s:?}): y max error {err:.2e}");
        let k = linear_backward::<R, f32>(&c, s, &xd, &wd, &gd);
        let (dx, dw) = backward(s, &x, &w, &g);
        let (got_dx, got_dw) = (download(&c, k.dx), download(&c, k.dw));
        let err = worst(&got_dx, &dx);
        assert!(err < 1e-5, "case {n} ({s:?}): dx max error {err:.2e}");
        // dw sums every token: relative to its scale (662 tokens of products in [-1, 1))
        let err = worst(&got_dw, &dw);
        assert!(
            err < 1e-5 * (s.tokens as f64).sqrt(),
            "case {n} ({s:?}): dw max error {err:.2e}"
        );
        // a second launch: the same bits (every sum in a fixed order)
        let again = linear_backward::<R, f32>(&c, s, &xd, &wd, &gd);
        assert_eq!(
            download(&c, again.dx),
            got_dx,
            "case {n}: dx bits changed between launches"
        );
        assert_eq!(
            download(&c, again.dw),
            got_dw,
            "case {n}: dw bits changed between launches"
        );
        let y2 = download(&c, linear_forward::<R, f32>(&c, s, &xd, &wd));
        assert_eq!(y2, y, "case {n}: y bits changed between launches");
    }
}

#[test]
fn the_group_sum_adds_each_column_in_group_order() {
    // 2 replicas x 3 groups x 5 columns; values whose f32 sum depends on the order
    let c = client();
    let part: Vec<f64> = (0..30)
        .map(|i| match i % 3 {
            0 => 1.0e8,
            1 => 1.0,
            _ => -1.0e8,
        } * (1.0 + (i / 15) as f64))
        .collect();
    let got = download(&c, sum_groups::<R, f32>(&c, &upload(&c, &part), 2, 3, 5));
    let want: Vec<f64> = (0..10)
        .map(|q| {
            let (r, j) = (q / 5, q % 5);
            let mut acc = 0.0f32;
            for grp in 0..3 {
                acc += part[(r * 3 + grp) * 5 + j] as f32;
            }
            f64::from(acc)
        })
        .collect();
    assert_eq!(got, want, "the sums over the groups, in group order and f32");
}

#[test]
fn linear_shape_reads_x_and_w_and_refuses_mismatches() {
    let s = linear_shape(&[2, 24, 32], &[2, 64, 32]).unwrap();
    assert_eq!((s.replicas, s.tokens, s.k, s.n), (2, 24, 32, 64));
    assert!(linear_shape(&[2, 24, 32], &[1, 64, 32]).is_none());
    assert!(linear_shape(&[2, 24, 32], &[2, 64, 31]).is_none());
    assert!(linear_shape(&[2, 24], &[2, 64, 32]).is_none());
}

#[test]
fn the_autodiff_op_gives_the_oracle_gradients_through_the_graph() {
    // x and w through an op before it (halves * 2), y through one after it (* g); a frozen
    // weight gets no gradient; the inference form gives the same forward
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[0];
    let (r, m, k, n) = (s.replicas, s.tokens, s.k, s.n);
    let (x, w) = inputs(&s, 30);
    let g = lcg(31)(s.y_len(), -1.0, 2.0);
    let halve = |v: &[f64]| v.iter().map(|x| x / 2.0).collect::<Vec<f64>>();
    let x_half = tensor::<Ad, 3>(&halve(&x), [r, m, k], &dev).require_grad();
    let w_half = tensor::<Ad, 3>(&halve(&w), [r, n, k], &dev).require_grad();
    let y = linear_autodiff(x_half.clone().mul_scalar(2.0), w_half.clone().mul_scalar(2.0));
    assert_eq!(y.dims(), [r, m, n]);
    let err = worst(&values(y.clone()), &forward(&s, &x, &w));
    assert!(err < 1e-5, "forward: max error {err:.2e}");
    let grads = y.mul(tensor::<Ad, 3>(&g, [r, m, n], &dev)).sum().backward();
    let (dx, dw) = backward(&s, &x, &w, &g);
    let twice = |v: &[f64]| v.iter().map(|x| 2.0 * x).collect::<Vec<f64>>();
    let err = worst(&values(x_half.grad(&grads).unwrap()), &twice(&dx));
    assert!(err < 2e-5, "dx through the scale: max error {err:.2e}");
    let err = worst(&values(w_half.grad(&grads).unwrap()), &twice(&dw));
    assert!(err < 1e-4, "dw through the scale: max error {err:.2e}");

    // a transposed view as x: made contiguous first, the same values
    let xt = tensor::<Ad, 3>(&x, [r, m, k], &dev).swap_dims(1, 2).require_grad();
    let y = linear_autodiff(xt.clone().swap_dims(1, 2), tensor::<Ad, 3>(&w, [r, n, k], &dev));
    let err = worst(&values(y.clone()), &forward(&s, &x, &w));
    assert!(err < 1e-5, "forward of a transposed view: max error {err:.2e}");

    let frozen = tensor::<Ad, 3>(&w, [r, n, k], &dev);
    let xg = tensor::<Ad, 3>(&x, [r, m, k], &dev).require_grad();
    let grads = linear_autodiff(xg.clone(), frozen.clone()).sum().backward();
    assert!(frozen.grad(&grads).is_none(), "a frozen weight got a gradient");
    assert!(xg.grad(&grads).is_some(), "x lost its gradient beside a frozen weight");

    let out = linear_inference(
        tensor::<Inner, 3>(&x, [r, m, k], &dev),
        tensor::<Inner, 3>(&w, [r, n, k], &dev),
    );
    let err = worst(&values(out), &forward(&s, &x, &w));
    assert!(err < 1e-5, "inference: max error {err:.2e}");
}

#[test]
fn the_group_sum_gives_burns_sums_bit_for_bit_here() {
    // burn's reduction over a middle axis (one unit an output without autotune) walks the
    // axis in order, as sum_groups does, so on lavapipe the bits agree, at the partials'
    // shapes of fig3's sizes at R = 1 and 2: a weight gradient's [R, G, N K], a norm's
    // [R, G, E], dA's per-group sums [R, G, 1]. Over a contiguous last axis burn adds in
    // vectorized lanes: there the bits differ, and crate::burn_common keeps burn's sum.
    let dev = WgpuDevice::default();
    let c = client();
    for (k, [r, g, w]) in [[1, 128, 2048], [2, 128, 64], [1, 64, 1], [2, 45, 1], [3, 7, 5]]
        .into_iter()
        .enumerate()
    {
        let v = lcg(40 + k as u64)(r * g * w, -1.0, 2.0);
        let ours = download(&c, sum_groups::<R, f32>(&c, &upload(&c, &v), r, g, w));
        let burns = values(tensor::<Inner, 3>(&v, [r, g, w], &dev).sum_dim(1));
        assert_eq!(ours, burns, "[{r}, {g}, {w}] over axis 1");
    }
}
