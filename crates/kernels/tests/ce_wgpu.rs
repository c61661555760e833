//! The cross-entropy kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh):
//! nll and lse against the f64 definition, the gradient against the definition's closed form
//! and finite differences, then the burn operation through ops before and after it.

use burn::backend::Autodiff;
use burn::tensor::{Int, Tensor, TensorData};
use burn_cubecl::CubeBackend;
use cubecl::prelude::*;
use cubecl::server::Handle;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_ce::{cross_entropy_autodiff, cross_entropy_inference};
use kernels::cross_entropy::{CeShape, ROW_UNITS, ROWS_PER_CUBE, ce_backward, ce_forward};

mod common;
use common::{client, download, lcg, require_vulkan, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

/// fig3's vocabulary (201: rows that no multiple of a plane divides), a row count that leaves
/// the last cube part empty, a vocabulary smaller than a row's units, and one of exactly them.
const CASES: [CeShape; 4] = [
    CeShape {
        rows: 24,
        vocab: 201,
        x_row: 201,
    },
    CeShape {
        rows: ROWS_PER_CUBE * 2 + 3,
        vocab: 77,
        x_row: 77,
    },
    CeShape {
        rows: 5,
        vocab: 3,
        x_row: 3,
    },
    CeShape {
        rows: 9,
        vocab: ROW_UNITS,
        x_row: ROW_UNITS,
    },
];

/// Logits in [-4, 4) with one row shifted by 60 (the maximum must be taken out before exp).
fn logits(s: &CeShape, seed: u64) -> Vec<f64> {
    let mut x = lcg(seed)(s.x_len(), -4.0, 8.0);
    for v in x.iter_mut().take(s.vocab) {
        *v += 60.0;
    }
    x
}

fn labels(s: &CeShape, seed: usize) -> Vec<i32> {
    (0..s.rows).map(|r| ((r * 7 + seed) % s.vocab) as i32).collect()
}

fn upload_labels(c: &ComputeClient<R>, l: &[i32]) -> Handle {
    c.create_from_slice(i32::as_bytes(l))
}

/// log sum_v exp(x[row, v]) in f64.
fn lse(s: &CeShape, x: &[f64]) -> Vec<f64> {
    x.chunks(s.vocab)
        .map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
        })
        .collect()
}

/// sum_row g[row] nll[row] in f64, the loss whose gradient the backward gives.
fn weighted_loss(s: &CeShape, x: &[f64], lab: &[i32], g: &[f64]) -> f64 {
    let l = lse(s, x);
    (0..s.rows)
        .map(|r| g[r] * (l[r] - x[r * s.vocab + lab[r] as usize]))
        .sum()
}

#[test]
fn forward_matches_the_f64_definition() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let (x, lab) = (logits(s, 11 + k as u64), labels(s, k));
        let out = ce_forward::<R, f32>(&c, s, &upload(&c, &x), &upload_labels(&c, &lab));
        let want_lse = lse(s, &x);
        let want_nll: Vec<f64> = (0..s.rows)
            .map(|r| want_lse[r] - x[r * s.vocab + lab[r] as usize])
            .collect();
        let (nll, l) = (download(&c, out.nll), download(&c, out.lse));
        let err = worst(&nll, &want_nll).max(worst(&l, &want_lse));
        assert!(err < 2e-6, "case {k} ({s:?}): max error {err:.2e}");
    }
}

#[test]
fn backward_matches_the_closed_form_and_finite_differences() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let (x, lab) = (logits(s, 21 + k as u64), labels(s, k));
        let g = lcg(31 + k as u64)(s.rows, -1.0, 2.0);
        let (xh, lh) = (upload(&c, &x), upload_labels(&c, &lab));
        let out = ce_forward::<R, f32>(&c, s, &xh, &lh);
        let dx = download(&c, ce_backward::<R, f32>(&c, s, &xh, &lh, &out.lse, &upload(&c, &g)));
        let l = lse(s, &x);
        let closed: Vec<f64> = (0..s.x_len())
            .map(|i| {
                let (r, v) = (i / s.vocab, i % s.vocab);
                g[r] * ((x[i] - l[r]).exp() - if v == lab[r] as usize { 1.0 } else { 0.0 })
            })
            .collect();
        let err = worst(&dx, &closed);
        assert!(
            err < 2e-6,
            "case {k} ({s:?}): against the closed form, max error {err:.2e}"
        );
        // central differences of the f64 loss at a few elements of every row
        let h = 1e-6;
        for i in (0..s.x_len()).step_by(s.vocab.div_ceil(3).max(1)) {
            let mut xp = x.clone();
            xp[i] += h;
            let mut xm = x.clone();
            xm[i] -= h;
            let fd = (weighted_loss(s, &xp, &lab, &g) - weighted_loss(s, &xm, &lab, &g)) / (2.0 * h);
            let e = (dx[i] - fd).abs() / fd.abs().max(1.0);
            assert!(
                e < 2e-5,
                "case {k} ({s:?}): element {i}, {} against finite differences {fd}",
                dx[i]
            );
        }
    }
}

#[test]
fn a_label_outside_the_vocabulary_takes_no_logit() {
    let c = client();
    let s = CASES[0];
    let x = logits(&s, 41);
    let mut lab = labels(&s, 0);
    lab[2] = s.vocab as i32;
    lab[5] = -1;
    let (xh, lh) = (upload(&c, &x), upload_labels(&c, &lab));
    let out = ce_forward::<R, f32>(&c, &s, &xh, &lh);
    let (nll, l) = (download(&c, out.nll), download(&c, out.lse.clone()));
    assert_eq!((nll[2], nll[5]), (l[2], l[5]), "nll of an outside label is lse");
    let dx = download(
        &c,
        ce_backward::<R, f32>(&c, &s, &xh, &lh, &out.lse, &upload(&c, &vec![1.0; s.rows])),
    );
    for row in [2, 5] {
        let sum: f64 = dx[row * s.vocab..(row + 1) * s.vocab].iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-5,
            "row {row}: the softmax alone sums to 1, got {sum}"
        );
    }
}

#[test]
fn the_autodiff_op_gives_the_gradient_through_the_graph() {
    // the logits through an op before it (x * 2), nll through one after it (* g); the
    // inference form gives the same nll; burn's log_softmax path gives the same within f32
    let dev = WgpuDevice::default();
    require_vulkan();
    let (r, b, v) = (2, 12, 201);
    let s = CeShape {
        rows: r * b,
        vocab: v,
        x_row: v,
    };
    let (x, lab) = (logits(&s, 51), labels(&s, 3));
    let g = lcg(52)(s.rows, -1.0, 2.0);
    let half: Vec<f64> = x.iter().map(|x| x / 2.0).collect();
    let labs = || TensorData::new(lab.clone(), [r, b]);
    let x_half = tensor::<Ad, 3>(&half, [r, b, v], &dev).require_grad();
    let nll = cross_entropy_autodiff(
        x_half.clone().mul_scalar(2.0),
        Tensor::<Ad, 2, Int>::from_data(labs(), &dev),
    );
    assert_eq!(nll.dims(), [r, b]);
    let grads = nll.clone().mul(tensor::<Ad, 2>(&g, [r, b], &dev)).sum().backward();
    let got = values(x_half.grad(&grads).unwrap());

    let x_ref = tensor::<Ad, 3>(&half, [r, b, v], &dev).require_grad();
    let logp = burn::tensor::activation::log_softmax(x_ref.clone().mul_scalar(2.0), 2);
    let nll_ref = logp
        .gather(2, Tensor::<Ad, 2, Int>::from_data(labs(), &dev).reshape([r, b, 1]))
        .reshape([r, b])
        .neg();
    let err = worst(&values(nll.clone()), &values(nll_ref.clone()));
    assert!(err < 2e-6, "nll against log_softmax: max error {err:.2e}");
    let grads_ref = nll_ref.mul(tensor::<Ad, 2>(&g, [r, b], &dev)).sum().backward();
    let err = worst(&got, &values(x_ref.grad(&grads_ref).unwrap()));
    assert!(err < 2e-6, "dx against log_softmax's backward: max error {err:.2e}");

    let inf = cross_entropy_inference(
        tensor::<Inner, 3>(&x, [r, b, v], &dev),
        Tensor::<Inner, 2, Int>::from_data(labs(), &dev),
    );
    assert_eq!(values(inf), values(nll), "inference");
}

/// Rows further apart than V (CUDA's pitched rows, or logits narrowed out of a wider tensor):
/// the kernels and the burn operation read them as they lie and give the contiguous rows'
/// bits; the padding is never read.
#[test]
fn rows_apart_give_the_contiguous_bits() {
    let c = client();
    let s = CASES[0];
    let pad = 5;
    let padded = CeShape {
        x_row: s.vocab + pad,
        ..s
    };
    let (x, lab) = (logits(&s, 61), labels(&s, 1));
    let g = upload(&c, &lcg(62)(s.rows, -1.0, 2.0));
    // the padding holds a value that would dominate every row's sum if it were read
    let wide: Vec<f64> = x
        .chunks(s.vocab)
        .flat_map(|row| row.iter().copied().chain(std::iter::repeat_n(1e4, pad)))
        .collect();
    let lh = upload_labels(&c, &lab);
    let run = |shape: &CeShape, xs: &[f64]| {
        let xh = upload(&c, xs);
        let out = ce_forward::<R, f32>(&c, shape, &xh, &lh);
        let dx = download(&c, ce_backward::<R, f32>(&c, shape, &xh, &lh, &out.lse, &g));
        (download(&c, out.nll), dx)
    };
    assert!(
        run(&padded, &wide) == run(&s, &x),
        "kernels: padded rows against contiguous ones"
    );

    let dev = WgpuDevice::default();
    let (r, b, v) = (2, 12, s.vocab);
    let labs = || Tensor::<Ad, 2, Int>::from_data(TensorData::new(lab.clone(), [r, b]), &dev);
    let op = |t: Tensor<Ad, 3>| {
        let t = t.require_grad();
        let nll = cross_entropy_autodiff(t.clone().narrow(2, 0, v), labs());
        let grads = nll.clone().sum().backward();
        (values(nll), values(t.grad(&grads).unwrap()))
    };
    let (nll_wide, dx_wide) = op(tensor::<Ad, 3>(&wide, [r, b, v + pad], &dev));
    let (nll, dx) = op(tensor::<Ad, 3>(&x, [r, b, v], &dev));
    assert!(nll_wide == nll, "the operation on narrowed logits: nll");
    let dx_kept: Vec<f64> = dx_wide.chunks(v + pad).flat_map(|row| row[..v].to_vec()).collect();
    assert!(dx_kept == dx, "the operation on narrowed logits: dx");
    assert!(
        dx_wide.chunks(v + pad).all(|row| row[v..].iter().all(|g| *g == 0.0)),
        "the padding got a gradient"
    );
}
