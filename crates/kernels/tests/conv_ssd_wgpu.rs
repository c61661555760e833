//! The fused conv + SSD kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh):
//! bit for bit against the conv kernels followed by the staged SSD kernels (each of which its
//! own tests check against the f64 definitions and their finite differences), on contiguous
//! and padded token rows, and the forward against the two f64 oracles in turn.

use cubecl::prelude::*;
use cubecl::wgpu::WgpuRuntime;
use kernels::conv_oracle::{self, ConvHost};
use kernels::conv_silu::{ConvInputs, ConvShape, conv_silu_backward, conv_silu_forward};
use kernels::conv_ssd::{ConvSsdInputs, ConvSsdShape, conv_ssd_backward, conv_ssd_forward};
use kernels::oracle::{self, SsdHost};
use kernels::{SsdInputs, SsdShape, ssd_backward_as, ssd_forward_as};

mod common;
use common::{client, conv_inputs, download, lcg, upload, worst};

type R = WgpuRuntime;

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
    // fig3's layer: two sequences of 8 x 321, dy 8 x 65, 3 x 64 + 16, dw 320 x 4 and dbias 320
    assert_eq!(
        CASES[0].backward_bytes(4),
        (2 * 8 * 321 + 8 * 65 + 3 * 64 + 16 + 1280 + 320) * 4
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
            assert_eq!(bits(got.clone()), bits(want.clone()), "case {k}, pad {pad}");
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
