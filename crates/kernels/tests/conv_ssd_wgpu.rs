//! The fused conv + SSD kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh):
//! bit for bit against the conv kernels followed by the staged SSD kernels (each of which its
//! own tests check against the f64 definitions and their finite differences), on contiguous
//! and padded token rows, and the forward against the two f64 oracles in turn; then the burn
//! operation against the conv and SSD operations in turn, gradients included.

use burn::backend::Autodiff;
use burn::tensor::Tensor;
use burn_cubecl::CubeBackend;
use cubecl::prelude::*;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op::{ssd_autodiff, ssd_inference};
use kernels::burn_op_conv::{conv_silu_autodiff, conv_silu_inference};
use kernels::burn_op_conv_ssd::{conv_ssd_autodiff, conv_ssd_inference};
use kernels::conv_oracle::{self, ConvHost};
use kernels::conv_silu::{ConvInputs, ConvShape, conv_silu_backward, conv_silu_forward};
use kernels::conv_ssd::{ConvSsdInputs, ConvSsdShape, conv_ssd_backward, conv_ssd_forward};
use kernels::oracle::{self, SsdHost};
use kernels::{SsdInputs, SsdShape, ssd_backward_as, ssd_forward_as};

mod common;
use common::{client, conv_inputs, download, lcg, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

/// fig3's layer (E = 64, N = 128, K = 4) with groups of several sequences (B = 9: G = 3), and
/// two small ones: channels under the cube's units, 3 taps and an odd length.
const CASES: [ConvSsdShape; 3] = [
    ConvSsdShape {
        ssd: SsdShape {
            replicas: 2,
            batch: 9,
            len: 8,
            e: 64,
            n: 128,
        },
        taps: 4,
    },
    ConvSsdShape {
        ssd: SsdShape {
            replicas: 2,
            batch: 4,
            len: 8,
            e: 16,
            n: 4,
        },
        taps: 4,
    },
    ConvSsdShape {
        ssd: SsdShape {
            replicas: 3,
            batch: 2,
            len: 5,
            e: 24,
            n: 8,
        },
        taps: 3,
    },
];

/// The inputs of one case: the conv's (x, w, bias) and the SSD's dt, A and D.
struct Host {
    conv: ConvHost,
    dt: Vec<f64>,
    a: Vec<f64>,
    d: Vec<f64>,
}

fn host(s: &ConvSsdShape, seed: u64) -> Host {
    let ssd = common::inputs(&s.ssd, seed);
    Host {
        conv: conv_inputs(&s.conv(), seed + 1),
        dt: ssd.dt,
        a: ssd.a,
        d: ssd.d,
    }
}

/// x's rows padded by `pad` elements of junk (1e3), as CUDA pitches them.
fn fused_inputs(c: &ComputeClient<R>, s: &ConvSsdShape, h: &Host, pad: usize) -> ConvSsdInputs {
    let ch = s.ssd.row();
    let x: Vec<f64> = h
        .conv
        .x
        .chunks(ch)
        .flat_map(|row| row.iter().copied().chain(std::iter::repeat_n(1e3, pad)))
        .collect();
    ConvSsdInputs {
        x: upload(c, &x),
        x_row: ch + pad,
        w: upload(c, &h.conv.w),
        bias: upload(c, &h.conv.bias),
        dt: upload(c, &h.dt),
        a: upload(c, &h.a),
        d: upload(c, &h.d),
    }
}

fn conv_args(c: &ComputeClient<R>, s: &ConvShape, h: &Host) -> ConvInputs {
    ConvInputs {
        x: upload(c, &h.conv.x),
        w: upload(c, &h.conv.w),
        bias: upload(c, &h.conv.bias),
        x_row: s.channels,
    }
}

fn bits(v: Vec<f64>) -> Vec<u64> {
    v.into_iter().map(f64::to_bits).collect()
}

#[test]
fn the_fused_kernels_fit_lavapipe_and_the_bytes_count_every_array() {
    let c = client();
    for s in CASES {
        assert!(s.fits::<R, f32>(&c), "{s:?} needs {} bytes", s.backward_bytes(4));
    }
    // fig3's layer: two sequences of 8 x 321, dy 8 x 65, P, S and XY (3 x 64), dt, cs and the
    // decay's two terms (4 x 8), dw 320 x 4 and dbias 320
    assert_eq!(
        CASES[0].backward_bytes(4),
        (2 * 8 * 321 + 8 * 65 + 3 * 64 + 32 + 1280 + 320) * 4
    );
}

#[test]
fn forward_is_the_conv_then_the_staged_ssd_bit_for_bit_and_matches_the_f64_oracles() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let h = host(s, 100 + k as u64);
        let (ssd, conv) = (s.ssd, s.conv());
        let post = conv_silu_forward::<R, f32>(&c, &conv, &conv_args(&c, &conv, &h));
        let sep = SsdInputs {
            xbc: post,
            dt: upload(&c, &h.dt),
            a: upload(&c, &h.a),
            d: upload(&c, &h.d),
        };
        let want = download(&c, ssd_forward_as::<R, f32>(&c, &ssd, &sep, Some(256), true));
        for pad in [0, 64] {
            let got = download(&c, conv_ssd_forward::<R, f32>(&c, s, &fused_inputs(&c, s, &h, pad)));
            assert!(bits(got) == bits(want.clone()), "case {k}, pad {pad}: y differs");
        }
        // the f64 oracles in turn: the conv's output split as x | B | C into the recurrence
        let post64 = conv_oracle::conv_silu(&conv, &h.conv);
        let [x, b, cc] = oracle::split_xbc(&ssd, &post64);
        let inp = SsdHost {
            x,
            dt: h.dt.clone(),
            a: h.a.clone(),
            b,
            c: cc,
            d: h.d.clone(),
        };
        let err = worst(&want, &oracle::recurrence(&ssd, &inp));
        assert!(err < 1e-5, "case {k}: max error {err:.2e} against the f64 oracles");
    }
}

#[test]
fn backward_is_the_staged_ssd_then_the_conv_bit_for_bit() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let h = host(s, 200 + k as u64);
        let (ssd, conv) = (s.ssd, s.conv());
        let dy = upload(&c, &lcg(300 + k as u64)(ssd.x_len(), -1.0, 2.0));
        let cin = conv_args(&c, &conv, &h);
        let sep = SsdInputs {
            xbc: conv_silu_forward::<R, f32>(&c, &conv, &cin),
            dt: upload(&c, &h.dt),
            a: upload(&c, &h.a),
            d: upload(&c, &h.d),
        };
        let gs = ssd_backward_as::<R, f32>(&c, &ssd, &sep, &dy, Some(256), true);
        let gc = conv_silu_backward::<R, f32>(&c, &conv, &cin, &gs.dxbc);
        let want = [gc.dx, gs.ddt, gs.da_part, gs.dd_part, gc.dw_part, gc.db_part].map(|h| bits(download(&c, h)));
        for pad in [0, 64] {
            let g = conv_ssd_backward::<R, f32>(&c, s, &fused_inputs(&c, s, &h, pad), &dy);
            let got = [g.dx, g.ddt, g.da_part, g.dd_part, g.dw_part, g.db_part].map(|h| bits(download(&c, h)));
            for (name, (a, b)) in ["dx", "ddt", "dA", "dD", "dw", "dbias"]
                .iter()
                .zip(got.iter().zip(&want))
            {
                assert!(a == b, "case {k}, pad {pad}: {name} differs from the separate kernels'");
            }
        }
    }
}

/// The loss sum(g * y) of the fused operation (`fused`) or of the conv and SSD operations in
/// turn, on x narrowed out of a wider tensor and handed over as [R, B L, 1, C] (as the block
/// hands over a grouped product), with dt behind an op (x 1.5): the output's bits, then the
/// gradients' bits of the wide tensor, w (None where frozen), bias, dt's source, a and d.
fn op_bits(s: &ConvSsdShape, h: &Host, frozen: bool, fused: bool) -> Vec<Vec<u64>> {
    let dev = WgpuDevice::default();
    let (ssd, conv) = (s.ssd, s.conv());
    let (r, b, l, c, k, e) = (ssd.replicas, ssd.batch, ssd.len, conv.channels, conv.taps, ssd.e);
    let wide = Tensor::cat(
        vec![
            tensor::<Ad, 4>(&vec![0.5; r * b * l * 3], [r, b, l, 3], &dev),
            tensor::<Ad, 4>(&h.conv.x, [r, b, l, c], &dev),
        ],
        3,
    )
    .require_grad();
    let x = wide.clone().reshape([r, b * l, 1, c + 3]).narrow(3, 3, c);
    let w = tensor::<Ad, 3>(&h.conv.w, [r, c, k], &dev);
    let w = if frozen { w } else { w.require_grad() };
    let bias = tensor::<Ad, 2>(&h.conv.bias, [r, c], &dev).require_grad();
    let dt_src = tensor::<Ad, 3>(&h.dt.iter().map(|v| v / 1.5).collect::<Vec<_>>(), [r, b, l], &dev).require_grad();
    let a = tensor::<Ad, 2>(&h.a, [r, 1], &dev).require_grad();
    let d = tensor::<Ad, 2>(&h.d, [r, 1], &dev).require_grad();
    let dt = dt_src.clone().mul_scalar(1.5);
    let y = if fused {
        conv_ssd_autodiff(x, l, w.clone(), bias.clone(), dt, a.clone(), d.clone(), e)
    } else {
        ssd_autodiff(
            conv_silu_autodiff(x, l, w.clone(), bias.clone()),
            dt,
            a.clone(),
            d.clone(),
            e,
        )
    };
    assert_eq!(y.dims(), [r, b, l, e]);
    let g = tensor::<Ad, 4>(&lcg(77)(ssd.x_len(), -1.0, 2.0), [r, b, l, e], &dev);
    let grads = y.clone().mul(g).sum().backward();
    let bits_of = |v: Vec<f64>| bits(v);
    let mut out = vec![bits_of(values(y))];
    out.push(bits_of(values(wide.grad(&grads).unwrap())));
    match w.grad(&grads) {
        Some(gw) => out.push(bits_of(values(gw))),
        None => assert!(frozen, "a trained w got no gradient"),
    }
    for t in [bias.grad(&grads), a.grad(&grads), d.grad(&grads)] {
        out.push(bits_of(values(t.expect("a gradient"))));
    }
    out.push(bits_of(values(dt_src.grad(&grads).unwrap())));
    out
}

#[test]
fn the_autodiff_op_gives_the_bits_of_the_conv_and_ssd_ops_in_turn() {
    common::require_vulkan();
    for (k, s) in CASES.iter().enumerate() {
        let h = host(s, 400 + k as u64);
        for frozen in [false, true] {
            let (fused, apart) = (op_bits(s, &h, frozen, true), op_bits(s, &h, frozen, false));
            let names = ["y", "dx", "dw", "dbias", "dA", "dD", "ddt"];
            let names = names.iter().filter(|n| !(frozen && **n == "dw"));
            for (name, (a, b)) in names.zip(fused.iter().zip(&apart)) {
                assert!(a == b, "case {k}, frozen w {frozen}: {name} differs");
            }
            assert_eq!(fused.len(), apart.len());
        }
    }
}

#[test]
fn a_layer_too_wide_for_shared_memory_runs_the_two_ops_and_inference_matches_them() {
    let c = client();
    // N = 512: two sequences of 8 x 1089 floats are 70 KB, over lavapipe's 32 KB
    let wide = ConvSsdShape {
        ssd: SsdShape {
            replicas: 1,
            batch: 2,
            len: 8,
            e: 64,
            n: 512,
        },
        taps: 4,
    };
    assert!(!wide.fits::<R, f32>(&c));
    let h = host(&wide, 500);
    assert!(op_bits(&wide, &h, false, true) == op_bits(&wide, &h, false, false));
    let dev = WgpuDevice::default();
    for s in [CASES[0], wide] {
        let h = host(&s, 600);
        let (ssd, conv) = (s.ssd, s.conv());
        let (r, b, l, ch, k, e) = (ssd.replicas, ssd.batch, ssd.len, conv.channels, conv.taps, ssd.e);
        let args = || {
            (
                tensor::<Inner, 4>(&h.conv.x, [r, b, l, ch], &dev),
                tensor::<Inner, 3>(&h.conv.w, [r, ch, k], &dev),
                tensor::<Inner, 2>(&h.conv.bias, [r, ch], &dev),
                tensor::<Inner, 3>(&h.dt, [r, b, l], &dev),
                tensor::<Inner, 2>(&h.a, [r, 1], &dev),
                tensor::<Inner, 2>(&h.d, [r, 1], &dev),
            )
        };
        let (x, w, bias, dt, a, d) = args();
        let fused = values(conv_ssd_inference(x, l, w, bias, dt, a, d, e));
        let (x, w, bias, dt, a, d) = args();
        let apart = values(ssd_inference(conv_silu_inference(x, l, w, bias), dt, a, d, e));
        assert!(bits(fused) == bits(apart), "{s:?}: inference");
    }
}
