//! in_proj's xBC product and the conv + SiLU in one forward kernel, on the CPU through Vulkan
//! (lavapipe, scripts/setup-vulkan.sh): the kernel's xbc and out against the f64 product and
//! conv, then the burn operation's gradients (the conv kernels' backward and two products)
//! against the f64 product's chain rule over the conv's finite differences.

use burn::backend::Autodiff;
use burn::tensor::Tensor;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_proj_conv::{Products, proj_conv_silu_autodiff, proj_conv_silu_inference};
use kernels::conv_oracle::{self, ConvField, ConvHost};
use kernels::proj_conv::{Kept, ProjConvShape, proj_conv_silu_forward};

mod common;
use common::proj_conv_inputs as inputs;
use common::{client, download, lcg, padded_rows, proj_conv_device, require_vulkan, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

/// (R, B, L, C, K, D) of a case.
fn dims(s: &ProjConvShape) -> (usize, usize, usize, usize, usize, usize) {
    let c = &s.conv;
    (c.replicas, c.batch, c.len, c.channels, c.taps, s.d_model)
}

/// 2 channels a unit (the default for an even C) over 10 slots and over 36; one a unit (an
/// odd C, 7); and 1600 channels, whose 800 slots take four cubes along y (the last
/// part-empty).
const CASES: [ProjConvShape; 4] = [
    ProjConvShape::new(2, 3, 8, 20, 4, 8),
    ProjConvShape::new(1, 4, 5, 72, 3, 5),
    ProjConvShape::new(2, 2, 6, 7, 4, 3),
    ProjConvShape::new(1, 2, 4, 1600, 4, 3),
];

/// The CUDA-core form's xbc (lavapipe has no tensor cores, so that form runs here).
fn kept_xbc(kept: Kept) -> cubecl::server::Handle {
    match kept {
        Kept::Xbc(xbc) => xbc,
        Kept::RoundedWt(_) => panic!("the tensor-core form ran on lavapipe"),
    }
}

#[test]
fn forward_matches_the_f64_product_and_conv() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let (u, wx, conv) = inputs(s, 11 + 10 * k as u64);
        // u's token rows padded by 2 elements of junk, as a pitched tensor's
        let pad = 2;
        let padded = padded_rows(&u, s.d_model, pad);
        for (u_dev, u_row) in [(&u, s.d_model), (&padded, s.d_model + pad)] {
            let inp = proj_conv_device(&c, s, u_dev, u_row, &wx, &conv);
            let res = proj_conv_silu_forward::<R, f32>(&c, s, &inp);
            let want_xbc = conv_oracle::projection(s, &u, &wx);
            let err = worst(&download(&c, kept_xbc(res.kept)), &want_xbc);
            assert!(err < 2e-6, "case {k} ({s:?}), u_row {u_row}: xbc max error {err:.2e}");
            let want = conv_oracle::conv_silu(
                &s.conv,
                &ConvHost {
                    x: want_xbc,
                    ..conv.clone()
                },
            );
            let err = worst(&download(&c, res.out), &want);
            assert!(err < 4e-6, "case {k} ({s:?}), u_row {u_row}: out max error {err:.2e}");
        }
    }
}

/// du [R, B, L, D] and dwx [R, C, D] by the chain rule from dxbc (f64): du = dxbc wx,
/// dwx = dxbc^T u per replica.
fn product_grads(s: &ProjConvShape, u: &[f64], wx: &[f64], dxbc: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (d, ch) = (s.d_model, s.conv.channels);
    let per_replica = s.conv.batch * s.conv.len;
    let mut du = vec![0.0; u.len()];
    let mut dwx = vec![0.0; wx.len()];
    for tok in 0..u.len() / d {
        let r = tok / per_replica;
        for c in 0..ch {
            let g = dxbc[tok * ch + c];
            for k in 0..d {
                du[tok * d + k] += g * wx[(r * ch + c) * d + k];
                dwx[(r * ch + c) * d + k] += g * u[tok * d + k];
            }
        }
    }
    (du, dwx)
}

#[test]
fn the_autodiff_op_matches_the_chain_rule_over_finite_differences() {
    // wx comes narrowed out of a wider weight, as the xBC rows out of in_proj's [R, 2E+2N+1,
    // D]: its gradient must land in those rows and leave the 3 in front at zero; the
    // product's gradients by burn's products and by the linear kernels (Products::linear)
    let dev = WgpuDevice::default();
    require_vulkan();
    let each_way = CASES
        .iter()
        .take(3)
        .enumerate()
        .flat_map(|(k, s)| [(k, s, false), (k, s, true)]);
    for (k, s, linear) in each_way {
        let (u, wx, conv) = inputs(s, 51 + 10 * k as u64);
        let (r, b, l, ch, taps, d) = dims(s);
        let g = lcg(52 + k as u64)(s.conv.x_len(), -1.0, 2.0);
        let u_t = tensor::<Ad, 4>(&u, [r, b, l, d], &dev).require_grad();
        let wide = Tensor::cat(
            vec![
                tensor::<Ad, 3>(&vec![0.5; r * 3 * d], [r, 3, d], &dev),
                tensor::<Ad, 3>(&wx, [r, ch, d], &dev),
            ],
            1,
        )
        .require_grad();
        let w = tensor::<Ad, 3>(&conv.w, [r, ch, taps], &dev).require_grad();
        let bias = tensor::<Ad, 2>(&conv.bias, [r, ch], &dev).require_grad();
        let groups = (1..=b * l).rev().find(|g| (b * l) % g == 0 && g * g <= b * l).unwrap();
        let out = proj_conv_silu_autodiff(
            u_t.clone(),
            wide.clone().narrow(1, 3, ch),
            w.clone(),
            bias.clone(),
            Products { groups, linear },
        );
        assert_eq!(out.dims(), [r, b, l, ch]);
        let xbc = conv_oracle::projection(s, &u, &wx);
        let host = ConvHost { x: xbc, ..conv.clone() };
        let err = worst(&values(out.clone()), &conv_oracle::conv_silu(&s.conv, &host));
        assert!(err < 4e-6, "case {k}: forward max error {err:.2e}");
        let grads = out.mul(tensor::<Ad, 4>(&g, [r, b, l, ch], &dev)).sum().backward();
        let dxbc = conv_oracle::finite_difference(&s.conv, &host, &g, ConvField::X, 1e-6);
        let (du, dwx) = product_grads(s, &u, &wx, &dxbc);
        let err = worst(&values(u_t.grad(&grads).unwrap()), &du);
        assert!(err < 5e-5, "case {k} (linear {linear}): du max error {err:.2e}");
        let mut want = vec![0.0; r * (ch + 3) * d];
        for (i, v) in dwx.iter().enumerate() {
            let (rr, rest) = (i / (ch * d), i % (ch * d));
            want[rr * (ch + 3) * d + 3 * d + rest] = *v;
        }
        let err = worst(&values(wide.grad(&grads).unwrap()), &want);
        assert!(
            err < 5e-5,
            "case {k} (linear {linear}): dwx through the narrow max error {err:.2e}"
        );
        for (field, got) in [
            (ConvField::W, values(w.grad(&grads).unwrap())),
            (ConvField::Bias, values(bias.grad(&grads).unwrap())),
        ] {
            let err = worst(&got, &conv_oracle::finite_difference(&s.conv, &host, &g, field, 1e-6));
            assert!(err < 5e-5, "case {k}: d{field:?} max error {err:.2e}");
        }
        let plain = proj_conv_silu_inference(
            tensor::<Inner, 4>(&u, [r, b, l, d], &dev),
            tensor::<Inner, 3>(&wx, [r, ch, d], &dev),
            tensor::<Inner, 3>(&conv.w, [r, ch, taps], &dev),
            tensor::<Inner, 2>(&conv.bias, [r, ch], &dev),
        );
        let err = worst(&values(plain), &conv_oracle::conv_silu(&s.conv, &host));
        assert!(err < 4e-6, "case {k}: inference max error {err:.2e}");
    }
}

#[test]
fn a_frozen_kernel_gets_no_gradient() {
    // fig5b's all-ones conv is excluded from training: its w has no gradient node
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[0];
    let (u, wx, conv) = inputs(&s, 71);
    let (r, b, l, ch, taps, d) = dims(&s);
    let u_t = tensor::<Ad, 4>(&u, [r, b, l, d], &dev).require_grad();
    let wx_t = tensor::<Ad, 3>(&wx, [r, ch, d], &dev).require_grad();
    let w = tensor::<Ad, 3>(&vec![1.0; conv.w.len()], [r, ch, taps], &dev);
    let bias = tensor::<Ad, 2>(&conv.bias, [r, ch], &dev).require_grad();
    let products = Products {
        groups: 4,
        linear: false,
    };
    let grads = proj_conv_silu_autodiff(u_t.clone(), wx_t.clone(), w.clone(), bias, products)
        .sum()
        .backward();
    assert!(w.grad(&grads).is_none(), "a frozen kernel got a gradient");
    assert!(
        u_t.grad(&grads).is_some() && wx_t.grad(&grads).is_some(),
        "u or wx lost its gradient"
    );
}

#[test]
fn a_short_input_stops_the_unchecked_launch() {
    let c = client();
    let s = CASES[0];
    let (u, wx, conv) = inputs(&s, 81);
    let whole = proj_conv_device(&c, &s, &u, s.d_model, &wx, &conv);
    for what in ["u", "wt", "w", "bias"] {
        let mut inp = whole.clone();
        let cut = |v: &[f64]| upload(&c, &v[..v.len() - 1]);
        match what {
            "u" => inp.u = cut(&u),
            "wt" => inp.wt = cut(&wx),
            "w" => inp.w = cut(&conv.w),
            _ => inp.bias = cut(&conv.bias),
        }
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            proj_conv_silu_forward::<R, f32>(&c, &s, &inp);
        }));
        let msg = run.expect_err("a short input must stop the launch");
        let msg = msg.downcast_ref::<String>().expect("the panic names the input");
        assert!(
            msg.contains(&format!(" {what} holds")),
            "the panic does not name {what}: {msg}"
        );
    }
}

#[test]
fn every_tiling_gives_the_same_bits() {
    // MSYM_PROJ_CONV_PER's and _UNROLL's A/Bs time the tiling alone: each xbc element is the
    // same sum over D in the same order whatever the channels a unit and the steps unrolled
    // (the other tests here may run meanwhile: any tiling is right)
    let c = client();
    let s = CASES[0]; // 20 channels: 2 a unit by default; 5, 4 and 1 divide too, 3 does not
    let (u, wx, conv) = inputs(&s, 91);
    let inp = proj_conv_device(&c, &s, &u, s.d_model, &wx, &conv);
    let run = |per: u32, unroll: u32| {
        kernels::PROJ_CONV_PER.set(per);
        kernels::PROJ_CONV_UNROLL.set(unroll);
        let tiling = (s.per_unit(), s.chunk());
        let res = proj_conv_silu_forward::<R, f32>(&c, &s, &inp);
        (tiling, download(&c, kept_xbc(res.kept)), download(&c, res.out))
    };
    let base = run(0, 0);
    assert_eq!(base.0, (2, 8));
    // D = 8: 4, 2 and 1 steps at once divide it, 3 does not
    for (per, unroll, want) in [
        (5, 0, (5, 8)),
        (4, 4, (4, 4)),
        (1, 1, (1, 1)),
        (3, 3, (2, 8)),
        (0, 2, (2, 2)),
    ] {
        let got = run(per, unroll);
        assert_eq!(
            got.0, want,
            "MSYM_PROJ_CONV_PER={per}, MSYM_PROJ_CONV_UNROLL={unroll}: the tiling"
        );
        assert!(got.1 == base.1 && got.2 == base.2, "tiling {want:?}: other bits");
    }
    kernels::PROJ_CONV_UNROLL.set(0);
    kernels::PROJ_CONV_PER.set(0);
}
