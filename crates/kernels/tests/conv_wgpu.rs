//! The conv + SiLU kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh):
//! the kernels against the f64 definition and its finite differences, then the burn
//! operation's autodiff gradients against the same, on a strided input and a frozen kernel.

use burn::backend::Autodiff;
use burn::tensor::Tensor;
use burn_cubecl::CubeBackend;
use cubecl::prelude::*;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_conv::{conv_silu_autodiff, conv_silu_inference};
use kernels::conv_oracle::{self, ConvField, ConvHost};
use kernels::conv_silu::{ConvInputs, ConvShape, conv_silu_backward, conv_silu_forward};

mod common;
use common::{client, conv_inputs, download, lcg, require_vulkan, sum_over_groups, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

fn device_inputs(c: &ComputeClient<R>, s: &ConvShape, h: &ConvHost) -> ConvInputs {
    ConvInputs {
        x: upload(c, &h.x),
        w: upload(c, &h.w),
        bias: upload(c, &h.bias),
        x_row: s.channels,
    }
}

/// x with each token's row padded from C to C + `pad` elements of junk (1e3), as CUDA pitches
/// xBC's rows: the kernels must read the same values through `x_row`.
fn padded_inputs(c: &ComputeClient<R>, s: &ConvShape, h: &ConvHost, pad: usize) -> ConvInputs {
    let x: Vec<f64> =
        h.x.chunks(s.channels)
            .flat_map(|row| row.iter().copied().chain(std::iter::repeat_n(1e3, pad)))
            .collect();
    ConvInputs {
        x: upload(c, &x),
        x_row: s.channels + pad,
        ..device_inputs(c, s, h)
    }
}

/// Channels over two cubes of 64 units with the second one part-empty (72), sequence
/// groups of several sequences (B = 9: G = 3), and an odd length with 3 taps.
const CASES: [ConvShape; 3] = [
    ConvShape {
        replicas: 2,
        batch: 3,
        len: 8,
        channels: 72,
        taps: 4,
    },
    ConvShape {
        replicas: 1,
        batch: 9,
        len: 8,
        channels: 20,
        taps: 4,
    },
    ConvShape {
        replicas: 2,
        batch: 2,
        len: 5,
        channels: 8,
        taps: 3,
    },
];

#[test]
fn forward_matches_the_f64_definition() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let h = conv_inputs(s, 21 + k as u64);
        let out = download(&c, conv_silu_forward::<R, f32>(&c, s, &device_inputs(&c, s, &h)));
        let err = worst(&out, &conv_oracle::conv_silu(s, &h));
        assert!(err < 2e-6, "case {k} ({s:?}): max error {err:.2e}");
    }
}

#[test]
fn backward_matches_finite_differences() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let h = conv_inputs(s, 31 + k as u64);
        let g = lcg(41 + k as u64)(s.x_len(), -1.0, 2.0); // an upstream gradient of out's shape
        let grads = conv_silu_backward::<R, f32>(&c, s, &device_inputs(&c, s, &h), &upload(&c, &g));
        let got = [
            (ConvField::X, download(&c, grads.dx)),
            (
                ConvField::W,
                sum_over_groups(&download(&c, grads.dw_part), s.groups(), s.channels * s.taps),
            ),
            (
                ConvField::Bias,
                sum_over_groups(&download(&c, grads.db_part), s.groups(), s.channels),
            ),
        ];
        for (field, grad) in got {
            let err = worst(&grad, &conv_oracle::finite_difference(s, &h, &g, field, 1e-6));
            assert!(err < 2e-5, "case {k} ({s:?}): d{field:?} max error {err:.2e}");
        }
    }
}

#[test]
fn padded_token_rows_give_the_contiguous_results() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let h = conv_inputs(s, 61 + k as u64);
        let g = upload(&c, &lcg(71 + k as u64)(s.x_len(), -1.0, 2.0));
        let (plain, padded) = (device_inputs(&c, s, &h), padded_inputs(&c, s, &h, 3));
        let out = |i: &ConvInputs| download(&c, conv_silu_forward::<R, f32>(&c, s, i));
        assert_eq!(out(&padded), out(&plain), "case {k}: forward");
        let back = |i: &ConvInputs| {
            let gr = conv_silu_backward::<R, f32>(&c, s, i, &g);
            [download(&c, gr.dx), download(&c, gr.dw_part), download(&c, gr.db_part)]
        };
        assert_eq!(back(&padded), back(&plain), "case {k}: backward");
    }
}

#[test]
fn the_autodiff_op_on_a_strided_input_matches_the_finite_differences() {
    // x comes narrowed out of a wider tensor, as xBC out of in_proj's output in the model,
    // and an op before it (x * 2) checks the chain rule into the graph; its tokens come as
    // [R, B L, 1, C], not [R, B, L, C], as the block hands over a grouped product [R, G,
    // M/G, C] (a reshape would copy it on CUDA), and its gradient must come back that way
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[0];
    let h = conv_inputs(&s, 51);
    let g = lcg(52)(s.x_len(), -1.0, 2.0);
    let (r, b, l, ch, k) = (s.replicas, s.batch, s.len, s.channels, s.taps);
    let half: Vec<f64> = h.x.iter().map(|v| v / 2.0).collect();
    let wide = Tensor::cat(
        vec![
            tensor::<Ad, 4>(&vec![0.5; r * b * l * 3], [r, b, l, 3], &dev),
            tensor::<Ad, 4>(&half, [r, b, l, ch], &dev),
        ],
        3,
    )
    .require_grad();
    let w = tensor::<Ad, 3>(&h.w, [r, ch, k], &dev).require_grad();
    let bias = tensor::<Ad, 2>(&h.bias, [r, ch], &dev).require_grad();
    let x = wide
        .clone()
        .mul_scalar(2.0)
        .reshape([r, b * l, 1, ch + 3])
        .narrow(3, 3, ch);
    let out = conv_silu_autodiff(x, l, w.clone(), bias.clone());
    assert_eq!(out.dims(), [r, b, l, ch]);
    let err = worst(&values(out.clone()), &conv_oracle::conv_silu(&s, &h));
    assert!(err < 2e-6, "forward: max error {err:.2e}");
    let grads = out.mul(tensor::<Ad, 4>(&g, [r, b, l, ch], &dev)).sum().backward();
    // d/d(wide) = 2 dx on the narrowed channels, 0 on the 3 in front
    let dwide = values(wide.grad(&grads).unwrap());
    let fd_x = conv_oracle::finite_difference(&s, &h, &g, ConvField::X, 1e-6);
    let mut want = vec![0.0; dwide.len()];
    for (i, v) in fd_x.iter().enumerate() {
        let (tok, c) = (i / ch, i % ch);
        want[tok * (ch + 3) + 3 + c] = 2.0 * v;
    }
    let err = worst(&dwide, &want);
    assert!(err < 4e-5, "dx through narrow and scale: max error {err:.2e}");
    for (field, got) in [
        (ConvField::W, values(w.grad(&grads).unwrap())),
        (ConvField::Bias, values(bias.grad(&grads).unwrap())),
    ] {
        let err = worst(&got, &conv_oracle::finite_difference(&s, &h, &g, field, 1e-6));
        assert!(err < 2e-5, "d{field:?}: max error {err:.2e}");
    }
}

#[test]
fn a_frozen_kernel_gets_no_gradient_and_inference_matches() {
    // fig5b's all-ones conv is excluded from training: its w has no gradient node
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[1];
    let mut h = conv_inputs(&s, 61);
    h.w = vec![1.0; s.w_len()];
    let (r, b, l, ch, k) = (s.replicas, s.batch, s.len, s.channels, s.taps);
    let x = tensor::<Ad, 4>(&h.x, [r, b, l, ch], &dev).require_grad();
    let w = tensor::<Ad, 3>(&h.w, [r, ch, k], &dev);
    let bias = tensor::<Ad, 2>(&h.bias, [r, ch], &dev).require_grad();
    let grads = conv_silu_autodiff(x.clone(), l, w.clone(), bias).sum().backward();
    assert!(w.grad(&grads).is_none(), "a frozen kernel got a gradient");
    assert!(x.grad(&grads).is_some(), "x lost its gradient next to a frozen kernel");
    let plain = conv_silu_inference(
        tensor::<Inner, 4>(&h.x, [r, b, l, ch], &dev),
        l,
        tensor::<Inner, 3>(&h.w, [r, ch, k], &dev),
        tensor::<Inner, 2>(&h.bias, [r, ch], &dev),
    );
    let err = worst(&values(plain), &conv_oracle::conv_silu(&s, &h));
    assert!(err < 2e-6, "inference: max error {err:.2e}");
}
