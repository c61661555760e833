//! The gated-RMSNorm kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh):
//! the kernels against the f64 definition and its finite differences, then the burn
//! operation's autodiff gradients against the same, through ops before and after it; with
//! the gate and without (the plain RMSNorm, the block's input norm).

use burn::backend::Autodiff;
use burn::tensor::Tensor;
use burn_cubecl::CubeBackend;
use cubecl::prelude::*;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_norm::{gated_norm_autodiff, gated_norm_inference, rms_norm_autodiff, rms_norm_inference};
use kernels::gated_norm::{
    BACKWARD_PER_UNIT, NormInputs, NormShape, NormTiling, gated_norm_backward, gated_norm_backward_tiled,
    gated_norm_forward, gated_norm_forward_tiled,
};
use kernels::gated_norm_oracle::{self, NormField, NormHost};

mod common;
use common::{client, download, lcg, require_vulkan, sum_over_groups, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

/// The model's NORM_EPS.
const EPS: f64 = 1e-5;

/// fig3's E = 64 with token groups of several tokens (T = 24: G = 4), an E that is no
/// multiple of a warp (40), and one token a group (T = 3: G = 1), with the gate; then
/// without it, fig3's d_model 32 and the same odd sizes.
const CASES: [NormShape; 6] = [
    NormShape {
        replicas: 2,
        tokens: 24,
        e: 64,
        gated: true,
    },
    NormShape {
        replicas: 1,
        tokens: 16,
        e: 40,
        gated: true,
    },
    NormShape {
        replicas: 3,
        tokens: 3,
        e: 8,
        gated: true,
    },
    NormShape {
        replicas: 2,
        tokens: 24,
        e: 32,
        gated: false,
    },
    NormShape {
        replicas: 1,
        tokens: 16,
        e: 40,
        gated: false,
    },
    NormShape {
        replicas: 3,
        tokens: 3,
        e: 8,
        gated: false,
    },
];

/// y in [-1, 1), z in [-3, 3) (both sides of SiLU's bend), w in [0.5, 1.5).
fn inputs(s: &NormShape, seed: u64) -> NormHost {
    let mut draw = lcg(seed);
    NormHost {
        y: draw(s.x_len(), -1.0, 2.0),
        z: draw(s.x_len(), -3.0, 6.0),
        w: draw(s.w_len(), 0.5, 1.0),
    }
}

fn device_inputs(c: &ComputeClient<R>, s: &NormShape, h: &NormHost) -> NormInputs {
    NormInputs {
        y: upload(c, &h.y),
        z: s.gated.then(|| upload(c, &h.z)),
        w: upload(c, &h.w),
    }
}

#[test]
fn token_groups_divide_the_tokens() {
    let g = |tokens| {
        NormShape {
            replicas: 1,
            tokens,
            e: 64,
            gated: true,
        }
        .groups()
    };
    assert_eq!((g(2048 * 8), g(24), g(16), g(3), g(1)), (128, 4, 4, 1, 1));
    assert!(
        !NormShape {
            replicas: 1,
            tokens: 1,
            e: 257,
            gated: false,
        }
        .fits()
    );
}

/// The cube's walk changes no bit, forward or backward (each token's sums run in one unit in
/// channel order, and dw's terms are added in token order, whatever the tiling): every case
/// at one token a batch against its default tiling and every other that fits, and fig3's
/// layers (E = 64 gated and D = 32 plain, 128 tokens a group as in fig3's batch).
#[test]
fn the_tiling_changes_no_bit() {
    let c = client();
    let fig3 = |e, gated| NormShape {
        replicas: 2,
        tokens: 128 * 128,
        e,
        gated,
    };
    let tile = |lanes, per_unit| NormTiling { lanes, per_unit };
    assert_eq!(
        (
            fig3(64, true).tiling(),
            fig3(32, false).tiling(),
            CASES[0].tiling(),
            CASES[2].tiling()
        ),
        (tile(4, 8), tile(8, 4), tile(3, 2), tile(3, 1))
    );
    // E = 256 (d_model 128's gated norm): the batch is held to the shared arrays' size
    assert_eq!(fig3(256, true).tiling(), tile(1, 8));
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    for (k, s) in CASES
        .iter()
        .copied()
        .chain([fig3(64, true), fig3(32, false)])
        .enumerate()
    {
        let h = inputs(&s, 41 + k as u64);
        let g = upload(&c, &lcg(51 + k as u64)(s.x_len(), -1.0, 2.0));
        let run = |t: NormTiling| {
            let inp = device_inputs(&c, &s, &h);
            let out = download(&c, gated_norm_forward_tiled::<R, f32>(&c, &s, &inp, EPS as f32, t));
            let gr = gated_norm_backward_tiled::<R, f32>(&c, &s, &inp, &g, EPS as f32, t);
            let mut all = vec![bits(out), bits(download(&c, gr.dy)), bits(download(&c, gr.dw_part))];
            all.extend(gr.dz.map(|dz| bits(download(&c, dz))));
            all
        };
        let one = run(tile(1, 1));
        let mut tried = 0;
        for t in (1..=8).flat_map(|l| (1..=32).map(move |p| tile(l, p))) {
            if t != tile(1, 1) && s.allows(t) && (t == s.tiling() || t.per_unit <= 2 || t.lanes == 1) {
                assert!(run(t) == one, "case {k} ({s:?}): {t:?} against one token a batch");
                tried += 1;
            }
        }
        assert!(tried > 0, "case {k} ({s:?}): no other tiling tried");
    }
}

/// The backward's walk follows the cap `kernels::NORM_BACKWARD_PER_UNIT` sets
/// (MSYM_NORM_BWD_PER_UNIT): the most tokens a unit that divide a group's tokens, at most
/// BACKWARD_PER_UNIT when unset, and the same bits either way.
#[test]
fn the_backward_walk_follows_its_cap() {
    let c = client();
    // 1024 tokens: 32 groups of 32 tokens, 4 lanes of E = 64
    let s = NormShape {
        replicas: 2,
        tokens: 1024,
        e: 64,
        gated: true,
    };
    let tile = |lanes, per_unit| NormTiling { lanes, per_unit };
    // a batch of 4 x 3 = 12 tokens does not divide 32: the cap 3 takes 2 a unit
    let caps = [
        (8, tile(4, 8)),
        (4, tile(4, 4)),
        (3, tile(4, 2)),
        (1, tile(4, 1)),
        (0, tile(4, 1)),
    ];
    for (cap, want) in caps {
        assert_eq!(s.tiling_at_most(cap), want, "cap {cap}");
    }
    assert_eq!(s.tiling(), tile(4, 8));
    let h = inputs(&s, 61);
    let g = upload(&c, &lcg(71)(s.x_len(), -1.0, 2.0));
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    let grads = |k: u32| {
        kernels::NORM_BACKWARD_PER_UNIT.set(k);
        let t = s.backward_tiling();
        let gr = gated_norm_backward::<R, f32>(&c, &s, &device_inputs(&c, &s, &h), &g, EPS as f32);
        let dz = gr.dz.expect("gated");
        (t, [gr.dy, dz, gr.dw_part].map(|x| bits(download(&c, x))))
    };
    let (t0, default) = grads(0);
    assert_eq!(t0, tile(4, BACKWARD_PER_UNIT), "unset: the backward's default");
    for (k, want) in [(2, tile(4, 2)), (5, tile(4, 4)), (8, tile(4, 8))] {
        let (t, got) = grads(k);
        assert_eq!(t, want, "cap {k}");
        assert!(got == default, "cap {k}: other bits than the default walk");
    }
    kernels::NORM_BACKWARD_PER_UNIT.set(0);
    assert_eq!(s.backward_tiling(), s.tiling_at_most(BACKWARD_PER_UNIT));
}

#[test]
fn forward_matches_the_f64_definition() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let h = inputs(s, 11 + k as u64);
        let out = download(
            &c,
            gated_norm_forward::<R, f32>(&c, s, &device_inputs(&c, s, &h), EPS as f32),
        );
        let err = worst(&out, &gated_norm_oracle::gated_norm(s, &h, EPS));
        assert!(err < 2e-6, "case {k} ({s:?}): max error {err:.2e}");
    }
}

#[test]
fn backward_matches_finite_differences() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let h = inputs(s, 21 + k as u64);
        let g = lcg(31 + k as u64)(s.x_len(), -1.0, 2.0); // an upstream gradient of out's shape
        let grads = gated_norm_backward::<R, f32>(&c, s, &device_inputs(&c, s, &h), &upload(&c, &g), EPS as f32);
        assert_eq!(
            grads.dz.is_some(),
            s.gated,
            "case {k}: dz is given exactly with the gate"
        );
        let mut got = vec![
            (NormField::Y, download(&c, grads.dy)),
            (
                NormField::W,
                sum_over_groups(&download(&c, grads.dw_part), s.groups(), s.e),
            ),
        ];
        if let Some(dz) = grads.dz {
            got.push((NormField::Z, download(&c, dz)));
        }
        for (field, grad) in got {
            let err = worst(
                &grad,
                &gated_norm_oracle::finite_difference(s, &h, &g, field, EPS, 1e-6),
            );
            assert!(err < 2e-5, "case {k} ({s:?}): d{field:?} max error {err:.2e}");
        }
    }
}

#[test]
fn the_autodiff_op_matches_the_finite_differences_through_the_graph() {
    // z comes narrowed out of a wider tensor (as from in_proj's output without the split),
    // y through an op before it (y * 2), and a frozen w gets no gradient in the second pass
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[0];
    let h = inputs(&s, 41);
    let g = lcg(42)(s.x_len(), -1.0, 2.0);
    let (r, e) = (s.replicas, s.e);
    let (b, l) = (3, s.tokens / 3);
    let half: Vec<f64> = h.y.iter().map(|v| v / 2.0).collect();
    let y_half = tensor::<Ad, 4>(&half, [r, b, l, e], &dev).require_grad();
    let wide = Tensor::cat(
        vec![
            tensor::<Ad, 4>(&h.z, [r, b, l, e], &dev),
            tensor::<Ad, 4>(&vec![0.5; r * b * l * 5], [r, b, l, 5], &dev),
        ],
        3,
    )
    .require_grad();
    let w = tensor::<Ad, 2>(&h.w, [r, e], &dev).require_grad();
    let out = gated_norm_autodiff(
        y_half.clone().mul_scalar(2.0),
        wide.clone().narrow(3, 0, e),
        w.clone(),
        EPS as f32,
    );
    assert_eq!(out.dims(), [r, b, l, e]);
    let err = worst(&values(out.clone()), &gated_norm_oracle::gated_norm(&s, &h, EPS));
    assert!(err < 2e-6, "forward: max error {err:.2e}");
    let grads = out.mul(tensor::<Ad, 4>(&g, [r, b, l, e], &dev)).sum().backward();
    let fd = |f| gated_norm_oracle::finite_difference(&s, &h, &g, f, EPS, 1e-6);
    // d/d(y_half) = 2 dy; d/d(wide) = dz on the first E channels, 0 on the 5 after
    let want_y: Vec<f64> = fd(NormField::Y).iter().map(|v| 2.0 * v).collect();
    let err = worst(&values(y_half.grad(&grads).unwrap()), &want_y);
    assert!(err < 4e-5, "dy through the scale: max error {err:.2e}");
    let mut want_z = vec![0.0; r * b * l * (e + 5)];
    for (i, v) in fd(NormField::Z).iter().enumerate() {
        want_z[(i / e) * (e + 5) + i % e] = *v;
    }
    let err = worst(&values(wide.grad(&grads).unwrap()), &want_z);
    assert!(err < 2e-5, "dz through the narrow: max error {err:.2e}");
    let err = worst(&values(w.grad(&grads).unwrap()), &fd(NormField::W));
    assert!(err < 2e-5, "dw: max error {err:.2e}");

    let frozen = tensor::<Ad, 2>(&h.w, [r, e], &dev);
    let y = tensor::<Ad, 4>(&h.y, [r, b, l, e], &dev).require_grad();
    let grads = gated_norm_autodiff(
        y.clone(),
        tensor::<Ad, 4>(&h.z, [r, b, l, e], &dev),
        frozen.clone(),
        EPS as f32,
    )
    .sum()
    .backward();
    assert!(frozen.grad(&grads).is_none(), "a frozen weight got a gradient");
    assert!(y.grad(&grads).is_some(), "y lost its gradient next to a frozen weight");
}

#[test]
fn inference_matches_the_definition() {
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[1];
    let h = inputs(&s, 51);
    let (r, e, b, l) = (s.replicas, s.e, 2, s.tokens / 2);
    let out = gated_norm_inference(
        tensor::<Inner, 4>(&h.y, [r, b, l, e], &dev),
        tensor::<Inner, 4>(&h.z, [r, b, l, e], &dev),
        tensor::<Inner, 2>(&h.w, [r, e], &dev),
        EPS as f32,
    );
    let err = worst(&values(out), &gated_norm_oracle::gated_norm(&s, &h, EPS));
    assert!(err < 2e-6, "inference: max error {err:.2e}");
}

#[test]
fn the_plain_rms_norm_op_matches_the_finite_differences_through_the_graph() {
    // x through an op before it (x * 2), as the block's residual stream comes; a frozen w
    // gets no gradient; the inference form gives the same forward
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[3];
    assert!(!s.gated);
    let h = inputs(&s, 61);
    let g = lcg(62)(s.x_len(), -1.0, 2.0);
    let (r, e) = (s.replicas, s.e);
    let (b, l) = (3, s.tokens / 3);
    let half: Vec<f64> = h.y.iter().map(|v| v / 2.0).collect();
    let x_half = tensor::<Ad, 4>(&half, [r, b, l, e], &dev).require_grad();
    let w = tensor::<Ad, 2>(&h.w, [r, e], &dev).require_grad();
    let out = rms_norm_autodiff(x_half.clone().mul_scalar(2.0), w.clone(), EPS as f32);
    assert_eq!(out.dims(), [r, b, l, e]);
    let want = gated_norm_oracle::gated_norm(&s, &h, EPS);
    let err = worst(&values(out.clone()), &want);
    assert!(err < 2e-6, "forward: max error {err:.2e}");
    let grads = out.mul(tensor::<Ad, 4>(&g, [r, b, l, e], &dev)).sum().backward();
    let fd = |f| gated_norm_oracle::finite_difference(&s, &h, &g, f, EPS, 1e-6);
    let want_x: Vec<f64> = fd(NormField::Y).iter().map(|v| 2.0 * v).collect();
    let err = worst(&values(x_half.grad(&grads).unwrap()), &want_x);
    assert!(err < 4e-5, "dx through the scale: max error {err:.2e}");
    let err = worst(&values(w.grad(&grads).unwrap()), &fd(NormField::W));
    assert!(err < 2e-5, "dw: max error {err:.2e}");

    let frozen = tensor::<Ad, 2>(&h.w, [r, e], &dev);
    let x = tensor::<Ad, 4>(&h.y, [r, b, l, e], &dev).require_grad();
    let grads = rms_norm_autodiff(x.clone(), frozen.clone(), EPS as f32)
        .sum()
        .backward();
    assert!(frozen.grad(&grads).is_none(), "a frozen weight got a gradient");
    assert!(x.grad(&grads).is_some(), "x lost its gradient next to a frozen weight");

    let out = rms_norm_inference(
        tensor::<Inner, 4>(&h.y, [r, b, l, e], &dev),
        tensor::<Inner, 2>(&h.w, [r, e], &dev),
        EPS as f32,
    );
    let err = worst(&values(out), &want);
    assert!(err < 2e-6, "inference: max error {err:.2e}");
}
