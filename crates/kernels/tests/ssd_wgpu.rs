//! The SSD kernels on the CPU through Vulkan (Mesa's lavapipe, installed by
//! scripts/setup-vulkan.sh), against the f64 recurrence and its finite differences.

use cubecl::wgpu::WgpuRuntime;
use kernels::oracle::{self, Field};

mod common;
use common::{FIG3_SSD, client, download, inputs, ssd_device_inputs as device_inputs, upload, worst};
use kernels::{SsdShape, ssd_backward_as, ssd_backward_with, ssd_forward_as, ssd_forward_with};

type R = WgpuRuntime;

/// (shape, units): more units than E (and L x N), and fewer than E and L x N (striding).
const CASES: [(SsdShape, Option<u32>); 3] = [
    (
        SsdShape {
            replicas: 2,
            batch: 3,
            len: 8,
            e: 16,
            n: 4,
        },
        Some(64),
    ),
    (
        SsdShape {
            replicas: 2,
            batch: 2,
            len: 8,
            e: 64,
            n: 16,
        },
        Some(32),
    ),
    (
        SsdShape {
            replicas: 3,
            batch: 2,
            len: 8,
            e: 24,
            n: 8,
        },
        None,
    ),
];

#[test]
fn forward_matches_the_f64_recurrence() {
    let c = client();
    for (k, (s, units)) in CASES.iter().enumerate() {
        let h = inputs(s, 11 + k as u64);
        for staged in [false, true] {
            let y = download(
                &c,
                ssd_forward_as::<R, f32>(&c, s, &device_inputs(&c, s, &h), *units, staged),
            );
            let err = worst(&y, &oracle::recurrence(s, &h));
            assert!(
                err < 2e-6,
                "case {k} ({s:?}, units {units:?}, staged {staged}): max error {err:.2e}"
            );
        }
    }
}

#[test]
fn backward_matches_finite_differences_of_the_recurrence() {
    let c = client();
    for ((k, (s, units)), staged) in CASES.iter().enumerate().flat_map(|c| [(c, false), (c, true)]) {
        let h = inputs(s, 101 + k as u64);
        let dy = inputs(s, 7 + k as u64).x; // an upstream gradient of y's shape
        let g = ssd_backward_as::<R, f32>(&c, s, &device_inputs(&c, s, &h), &upload(&c, &dy), *units, staged);
        // dA and dD come per sequence: each replica's B of them sum to its gradient
        let per_replica = |v: Vec<f64>| -> Vec<f64> { v.chunks(s.batch).map(|q| q.iter().sum()).collect() };
        let [dx, db, dc] = oracle::split_xbc(s, &download(&c, g.dxbc));
        let got = [
            (Field::X, dx),
            (Field::Dt, download(&c, g.ddt)),
            (Field::A, per_replica(download(&c, g.da_part))),
            (Field::B, db),
            (Field::C, dc),
            (Field::D, per_replica(download(&c, g.dd_part))),
        ];
        for (field, grad) in got {
            let fd = oracle::finite_difference(s, &h, &dy, field, 1e-6);
            let err = worst(&grad, &fd);
            assert!(
                err < 2e-5,
                "case {k} ({s:?}, units {units:?}, staged {staged}): d{field:?} max error {err:.2e}"
            );
        }
    }
}

#[test]
fn a_zero_upstream_gradient_gives_zero_gradients() {
    // each kernel writes every output element (no stale buffer contents leak through)
    let c = client();
    let (s, units) = CASES[1];
    let h = inputs(&s, 5);
    for staged in [false, true] {
        let g = ssd_backward_as::<R, f32>(
            &c,
            &s,
            &device_inputs(&c, &s, &h),
            &upload(&c, &vec![0.0; s.x_len()]),
            units,
            staged,
        );
        for (name, v) in [("dxbc", g.dxbc), ("ddt", g.ddt), ("dA", g.da_part), ("dD", g.dd_part)] {
            assert!(
                download(&c, v).iter().all(|&x| x == 0.0),
                "{name} is not all zero (staged {staged})"
            );
        }
    }
}

/// The units a cube and the staging change where each output is summed, not how: fig3's sizes
/// (L = 8, E = 64, N = 128) at 32, 64 and 256 units, staged or not, and at 96 staged, give the same bits,
/// forward and backward (what lets `kernels::set_ssd_units`, MSYM_SSD_UNITS, and the staged
/// kernels be measured on a GPU without an accuracy check). The other cases too, staged or not.
#[test]
fn the_units_a_cube_and_the_staging_do_not_change_a_bit() {
    let c = client();
    let run = |s: &SsdShape, units, staged| {
        let h = inputs(s, 5);
        let dy = common::lcg(9)(s.x_len(), -1.0, 2.0);
        let y = download(
            &c,
            ssd_forward_as::<R, f32>(&c, s, &device_inputs(&c, s, &h), units, staged),
        );
        let g = ssd_backward_as::<R, f32>(&c, s, &device_inputs(&c, s, &h), &upload(&c, &dy), units, staged);
        let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        [
            y,
            download(&c, g.dxbc),
            download(&c, g.ddt),
            download(&c, g.da_part),
            download(&c, g.dd_part),
        ]
        .map(bits)
    };
    let base = run(&FIG3_SSD, Some(256), false);
    for (units, staged) in [
        (Some(32), false),
        (Some(64), false),
        (Some(256), true),
        (Some(64), true),
        (Some(32), true),
        // 96 units divide neither xbc's 320-element rows nor dy's 64: the staging's steps
        // carry a column remainder into the next row
        (Some(96), true),
    ] {
        assert_eq!(
            run(&FIG3_SSD, units, staged),
            base,
            "units {units:?}, staged {staged}, against 256 unstaged"
        );
    }
    for (k, (s, units)) in CASES.iter().enumerate() {
        assert_eq!(
            run(s, *units, true),
            run(s, *units, false),
            "case {k} ({s:?}): staged against unstaged"
        );
    }
}

/// The staged forward's kept S (kernels::SSD_KEEP_SCORES, MSYM_SSD_SCORES) is S by its
/// definition (within f32's rounding), and the backward that reads it gives the same bits as
/// the one that forms S again, at fig3's sizes and the other cases; a wrong S (zeros) must
/// change dx, so the test sees that the backward reads what it is given.
#[test]
fn the_kept_scores_are_s_and_change_no_bit() {
    let c = client();
    let cases = [(FIG3_SSD, Some(256)), CASES[0], CASES[1], CASES[2]];
    for (k, (s, units)) in cases.iter().enumerate() {
        let h = inputs(s, 7);
        let dy = upload(&c, &common::lcg(11)(s.x_len(), -1.0, 2.0));
        let inp = device_inputs(&c, s, &h);
        let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        let grads = |g: kernels::SsdGrads| [g.dxbc, g.ddt, g.da_part, g.dd_part].map(|h| bits(download(&c, h)));
        let fwd = ssd_forward_with::<R, f32>(&c, s, &inp, *units, true, true);
        let kept = fwd.scores.clone().expect("the staged forward keeps S where asked");
        let y_plain = ssd_forward_as::<R, f32>(&c, s, &inp, *units, true);
        assert_eq!(bits(download(&c, fwd.y)), bits(download(&c, y_plain)), "case {k}: y");
        let got = download(&c, kept.clone());
        let want = oracle::scores(s, &h);
        let err = worst(&got, &want);
        assert!(err < 1e-5, "case {k}: kept S off its definition by {err:e}");
        let plain = grads(ssd_backward_as::<R, f32>(&c, s, &inp, &dy, *units, true));
        let read = ssd_backward_with::<R, f32>(&c, s, &inp, &dy, *units, true, Some(&kept));
        assert_eq!(grads(read), plain, "case {k}: gradients with the kept S");
        let zeros = upload(&c, &vec![0.0; s.scores_len()]);
        let wrong = ssd_backward_with::<R, f32>(&c, s, &inp, &dy, *units, true, Some(&zeros));
        assert_ne!(
            bits(download(&c, wrong.dxbc)),
            plain[0],
            "case {k}: a zero S must change dx"
        );
    }
    // the unstaged forward keeps nothing
    let (s, units) = CASES[0];
    let h = inputs(&s, 7);
    assert!(
        ssd_forward_with::<R, f32>(&c, &s, &device_inputs(&c, &s, &h), units, false, true)
            .scores
            .is_none()
    );
}

/// The staged kernels launch without a bounds test on each access, so a handle shorter than
/// its shape says must stop the launch (a panic naming it), not let the kernel read past it.
#[test]
fn a_short_input_stops_the_unchecked_launches() {
    let c = client();
    let (s, units) = CASES[0];
    let h = inputs(&s, 3);
    let whole = device_inputs(&c, &s, &h);
    let short = |what: &str, v: &[f64]| {
        let mut inp = whole.clone();
        let cut = upload(&c, &v[..v.len() - 1]);
        match what {
            "xbc" => inp.xbc = cut,
            _ => inp.dt = cut,
        }
        inp
    };
    let xbc = h.xbc(&s);
    for (what, inp) in [("xbc", short("xbc", &xbc)), ("dt", short("dt", &h.dt))] {
        let fwd = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ssd_forward_as::<R, f32>(&c, &s, &inp, units, true);
        }));
        let msg = fwd.expect_err("a short input must stop the staged forward");
        let msg = msg.downcast_ref::<String>().expect("the panic names the input");
        assert!(msg.contains(what), "the panic does not name {what}: {msg}");
        let dy = upload(&c, &vec![1.0; s.x_len()]);
        let bwd = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ssd_backward_as::<R, f32>(&c, &s, &inp, &dy, units, true);
        }));
        assert!(bwd.is_err(), "a short {what} must stop the staged backward");
    }
    // a short upstream gradient too
    let dy = upload(&c, &vec![1.0; s.x_len() - 1]);
    let bwd = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ssd_backward_as::<R, f32>(&c, &s, &whole, &dy, units, true);
    }));
    assert!(bwd.is_err(), "a short dy must stop the staged backward");
    // and the whole inputs still run
    ssd_forward_as::<R, f32>(&c, &s, &whole, units, true);
}
