//! The fused xBC product + conv forward's tensor-core form (kernels::proj_conv_mma) on a CUDA
//! GPU: lavapipe has no tensor cores, so these run on the device machine only, from a build
//! with the `cuda` feature (scripts/device-kernel-tests.sh builds them; device-batch.sh's
//! `kernel-tests` job runs them). Without the feature the file is empty.
//!
//! xbc against the f64 product within TF32's bound, out against the f64 conv + SiLU of the
//! kernel's own xbc (so the two stages are checked apart), the groups a cube
//! (MSYM_PROJ_CONV_ROUNDS) changing no bit, the backward that forms xbc again against the conv
//! backward on that xbc (the same bits), the product's gradients on tensor cores
//! (kernels::proj_grads_mma: du and dW^T) against their f64 values on that backward's dx, and
//! the CUDA-core form on the same GPU against the f64 product. One test function: the forms
//! and the rounds are process-wide settings.
#![cfg(feature = "cuda")]

use cubecl::cuda::{CudaDevice, CudaRuntime};
use cubecl::prelude::*;
use kernels::conv_oracle::{self, ConvHost};
use kernels::conv_silu::{ConvGrads, ConvInputs, conv_silu_backward};
use kernels::proj_conv::{Kept, ProjConvInputs, ProjConvShape, proj_conv_silu_forward};
use kernels::proj_conv_mma;
use kernels::proj_conv_mma_backward::proj_conv_mma_backward;
use kernels::proj_grads_mma;

mod common;
use common::{download, lcg, padded_rows, proj_conv_device, proj_conv_inputs, upload, worst};

type R = CudaRuntime;

/// fig3's sizes at few sequences (2 replicas, 64 sequences: 32 groups of 16 tokens, two
/// cubes a replica at 16 groups a cube; the backward's conv groups 16 of 4 sequences); 40
/// sequences (20 groups: the second cube 4; conv groups of 4 sequences); L = 4 (4 sequences a
/// group); L = 3 (groups of 48 tokens, 3 tiles tall; conv groups of 16 sequences) with
/// D = 16 and C = 32.
const CASES: [ProjConvShape; 4] = [
    ProjConvShape::new(2, 64, 8, 320, 4, 32),
    ProjConvShape::new(1, 40, 8, 320, 4, 32),
    ProjConvShape::new(2, 64, 4, 64, 4, 8),
    ProjConvShape::new(1, 256, 3, 32, 3, 16),
];

/// |got - want| / bound, worst over the elements: bound = 1.25 (2^-10 sum_d |u w|) + 1e-6,
/// the rounding of u and w to TF32 (each to nearest: at most 2^-11 relative) with a margin
/// for the tensor cores' f32 sums.
fn worst_tf32(s: &ProjConvShape, u: &[f64], wx: &[f64], got: &[f64]) -> f64 {
    let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let want = conv_oracle::projection(s, u, wx);
    let scale = conv_oracle::projection(s, &abs(u), &abs(wx));
    got.iter()
        .zip(&want)
        .zip(&scale)
        .map(|((g, w), a)| (g - w).abs() / (1.25 * a / 1024.0 + 1e-6))
        .fold(0.0, f64::max)
}

/// xbc and out of one launch of the tensor-core form, read back.
fn run(c: &ComputeClient<R>, s: &ProjConvShape, inp: &ProjConvInputs) -> (Vec<f64>, Vec<f64>) {
    let res = proj_conv_mma::forward(c, s, inp, true);
    (download(c, res.xbc.expect("kept")), download(c, res.out))
}

/// The product's gradients on tensor cores (proj_grads_mma) from the conv backward's dx
/// against their f64 values on that dx: du and the cubes' dW^T summed, each within TF32's
/// bound (dx and W, or u and dx, rounded) and not f32-exact; and du the same bits at 3 groups
/// a cube (a token's du is one cube's sums whatever the cubes).
fn product_grads(c: &ComputeClient<R>, s: &ProjConvShape, inp: &ProjConvInputs, dx: &[f64], (u, wx): (&[f64], &[f64])) {
    let dx_dev = upload(c, dx);
    let p = proj_grads_mma::product_grads_mma::<R>(c, s, inp, &dx_dev);
    let du = download(c, p.du);
    let parts = download(c, p.dwt_part);
    // the cubes' partials [R, cubes, D, C] summed over the cubes
    let (r, cubes, dc) = (s.conv.replicas, p.cubes, s.d_model * s.conv.channels);
    let dwt: Vec<f64> = (0..r * dc)
        .map(|i| (0..cubes).map(|k| parts[((i / dc) * cubes + k) * dc + i % dc]).sum())
        .collect();
    let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let exact = conv_oracle::projection_grads(s, u, wx, dx);
    let scale = conv_oracle::projection_grads(s, &abs(u), &abs(wx), &abs(dx));
    for (what, got, i) in [("du", &du, 0), ("dW^T", &dwt, 1)] {
        let err = got
            .iter()
            .zip(&exact[i])
            .zip(&scale[i])
            .map(|((g, w), a)| (g - w).abs() / (1.25 * a / 1024.0 + 1e-6))
            .fold(0.0, f64::max);
        assert!(err <= 1.0, "{s:?}: {what} {err:.2} times TF32's bound");
        let off = worst(got, &exact[i]);
        assert!(off > 1e-5, "{s:?}: {what} within {off:.1e} of f64, f32-exact: no TF32?");
    }
    kernels::PROJ_CONV_ROUNDS.set(3);
    let again = proj_grads_mma::product_grads_mma::<R>(c, s, inp, &dx_dev);
    kernels::PROJ_CONV_ROUNDS.set(0);
    assert!(download(c, again.du) == du, "{s:?}: du at 3 groups a cube: other bits");
}

/// The backward's outputs read back: dx, the taps' and the bias's partials.
fn grads(c: &ComputeClient<R>, k: ConvGrads) -> [Vec<f64>; 3] {
    [k.dx, k.dw_part, k.db_part].map(|h| download(c, h))
}

#[test]
fn tensor_cores_match_the_f64_product_and_conv() {
    let c = CudaRuntime::client(&CudaDevice { index: 0 });
    assert!(
        proj_conv_mma::supported(&c),
        "this GPU has no TF32 tensor-core products: the test needs sm_80 or later"
    );
    for (k, s) in CASES.iter().enumerate() {
        assert!(proj_conv_mma::fits(s), "case {k} ({s:?}) must fit the tensor-core form");
        let (u, wx, conv) = proj_conv_inputs(s, 101 + 10 * k as u64);
        let padded = padded_rows(&u, s.d_model, 3);
        for (u_dev, u_row) in [(&u, s.d_model), (&padded, s.d_model + 3)] {
            let inp = proj_conv_device(&c, s, u_dev, u_row, &wx, &conv);
            kernels::PROJ_CONV_MMA.store(true, std::sync::atomic::Ordering::Relaxed);
            let (xbc, out) = run(&c, s, &inp);
            let err = worst_tf32(s, &u, &wx, &xbc);
            assert!(err <= 1.0, "case {k}, u_row {u_row}: xbc {err:.2} times TF32's bound");
            // not f32's sums: TF32 rounding shows at this size (else the form did not run)
            let exact = worst(&xbc, &conv_oracle::projection(s, &u, &wx));
            assert!(
                exact > 1e-5,
                "case {k}: xbc within {exact:.1e} of f64, f32-exact: no TF32?"
            );
            let own = ConvHost {
                x: xbc.clone(),
                ..conv.clone()
            };
            let err = worst(&out, &conv_oracle::conv_silu(&s.conv, &own));
            assert!(
                err < 4e-6,
                "case {k}, u_row {u_row}: out max error {err:.2e} over its xbc"
            );
            // groups a cube: 1, 3 and all of them give the same bits
            for rounds in [1, 3, 4096] {
                kernels::PROJ_CONV_ROUNDS.set(rounds);
                let again = run(&c, s, &inp);
                assert!(
                    again.0 == xbc && again.1 == out,
                    "case {k}: {rounds} groups a cube: other bits"
                );
            }
            kernels::PROJ_CONV_ROUNDS.set(0);
            // the form the operation takes here keeps the rounded W^T, not xbc, and writes the
            // same out
            let res = proj_conv_silu_forward::<R, f32>(&c, s, &inp);
            let Kept::RoundedWt(wt) = res.kept else {
                panic!("case {k}: the CUDA-core form ran where the tensor-core one fits")
            };
            assert!(
                download(&c, res.out) == out,
                "case {k}: out without xbc kept: other bits"
            );
            // its backward forms xbc again: the same bits as the conv backward on xbc
            let g = upload(&c, &lcg(202 + k as u64)(s.conv.x_len(), -1.0, 2.0));
            let again = ProjConvInputs { wt, ..inp.clone() };
            let got = grads(&c, proj_conv_mma_backward::<R>(&c, s, &again, &g));
            let conv_in = ConvInputs {
                x: upload(&c, &xbc),
                w: inp.w.clone(),
                bias: inp.bias.clone(),
                x_row: s.conv.channels,
            };
            let want = grads(&c, conv_silu_backward::<R, f32>(&c, &s.conv, &conv_in, &g));
            for (what, got, want) in [
                ("dx", &got[0], &want[0]),
                ("dw", &got[1], &want[1]),
                ("db", &got[2], &want[2]),
            ] {
                assert!(
                    got == want,
                    "case {k}, u_row {u_row}: the backward's {what}: other bits than the conv backward's"
                );
            }
            assert!(got[0].iter().any(|v| *v != 0.0), "case {k}: dx all zero");
            if proj_grads_mma::fits(s) {
                product_grads(&c, s, &again, &want[0], (&u, &wx));
            }
            // the CUDA-core form on this GPU: f32 sums
            kernels::PROJ_CONV_MMA.store(false, std::sync::atomic::Ordering::Relaxed);
            let res = proj_conv_silu_forward::<R, f32>(&c, s, &inp);
            kernels::PROJ_CONV_MMA.store(true, std::sync::atomic::Ordering::Relaxed);
            let Kept::Xbc(xbc32) = res.kept else {
                panic!("case {k}: MSYM_PROJ_CONV_MMA=0 took the tensor-core form")
            };
            let err = worst(&download(&c, xbc32), &conv_oracle::projection(s, &u, &wx));
            assert!(err < 2e-6, "case {k}: the CUDA-core form's xbc max error {err:.2e}");
        }
    }
}
