//! The dt kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh): the forward
//! against dt = softplus(u . w + bias) in f64, the gradients against the f64 oracle's (itself
//! checked against central finite differences), then the burn operation through ops before
//! and after it, a frozen input, and its inference form; the staged kernels (DT_STAGED) give
//! the plain kernels' bits.

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_dt::{dt_autodiff, dt_inference};
use kernels::dt_proj::{DtShape, dt_backward, dt_forward};

mod common;
use common::{client, download, lcg, require_vulkan, sum_over_groups, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

/// fig3's d_model 32 with token groups of several tokens (T = 24: G = 4 of 6), one token a
/// group (T = 3: G = 1... of 3), and a group longer than a cube's 256 units (T = 662 = 2 x
/// 331: G = 2 groups of 331 tokens, so units stride).
const CASES: [DtShape; 3] = [
    DtShape {
        replicas: 2,
        tokens: 24,
        d: 32,
    },
    DtShape {
        replicas: 3,
        tokens: 3,
        d: 5,
    },
    DtShape {
        replicas: 1,
        tokens: 662,
        d: 8,
    },
];

/// The host inputs: u, w in [-1, 1), the bias in [-2, 2): x spans both sides of 0.
struct Host {
    u: Vec<f64>,
    w: Vec<f64>,
    bias: Vec<f64>,
}

fn inputs(s: &DtShape, seed: u64) -> Host {
    let mut draw = lcg(seed);
    Host {
        u: draw(s.u_len(), -1.0, 2.0),
        w: draw(s.w_len(), -1.0, 2.0),
        bias: draw(s.replicas, -2.0, 4.0),
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// x [R, T] = u . w + bias, in f64.
fn pre(s: &DtShape, h: &Host) -> Vec<f64> {
    (0..s.dt_len())
        .map(|t| {
            let r = t / s.tokens;
            (0..s.d).map(|k| h.u[t * s.d + k] * h.w[r * s.d + k]).sum::<f64>() + h.bias[r]
        })
        .collect()
}

/// The oracle: dt [R, T] in f64.
fn forward(s: &DtShape, h: &Host) -> Vec<f64> {
    pre(s, h).into_iter().map(softplus).collect()
}

/// The oracle's gradients of sum(g * dt): (du, dw, dbias), with softplus' = sigmoid.
fn backward(s: &DtShape, h: &Host, g: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let x = pre(s, h);
    let (mut du, mut dw, mut db) = (vec![0.0; s.u_len()], vec![0.0; s.w_len()], vec![0.0; s.replicas]);
    for t in 0..s.dt_len() {
        let r = t / s.tokens;
        let gx = g[t] / (1.0 + (-x[t]).exp());
        for k in 0..s.d {
            du[t * s.d + k] = gx * h.w[r * s.d + k];
            dw[r * s.d + k] += gx * h.u[t * s.d + k];
        }
        db[r] += gx;
    }
    (du, dw, db)
}

#[test]
fn the_oracle_gradients_are_its_finite_differences() {
    let s = CASES[1];
    let h = inputs(&s, 3);
    let g = lcg(4)(s.dt_len(), -1.0, 2.0);
    let (du, dw, db) = backward(&s, &h, &g);
    let loss = |h: &Host| forward(&s, h).iter().zip(&g).map(|(a, b)| a * b).sum::<f64>();
    let eps = 1e-6;
    let check = |field: usize, at: usize, want: f64| {
        let bump = |delta: f64| {
            let mut p = Host {
                u: h.u.clone(),
                w: h.w.clone(),
                bias: h.bias.clone(),
            };
            [&mut p.u, &mut p.w, &mut p.bias][field][at] += delta;
            loss(&p)
        };
        let fd = (bump(eps) - bump(-eps)) / (2.0 * eps);
        assert!(
            (fd - want).abs() < 1e-7,
            "input {field}[{at}]: finite difference {fd}, oracle {want}"
        );
    };
    for at in [0, 7, s.u_len() - 1] {
        check(0, at, du[at]);
    }
    for (at, want) in dw.iter().enumerate() {
        check(1, at, *want);
    }
    for (at, want) in db.iter().enumerate() {
        check(2, at, *want);
    }
}

#[test]
fn the_kernels_give_the_oracle_forward_and_gradients() {
    let c = client();
    for (n, s) in CASES.iter().enumerate() {
        let h = inputs(s, 10 + n as u64);
        let g = lcg(20 + n as u64)(s.dt_len(), -1.0, 2.0);
        let (u, w, b) = (upload(&c, &h.u), upload(&c, &h.w), upload(&c, &h.bias));
        let dt = download(&c, dt_forward::<R, f32>(&c, s, &u, &w, &b));
        let err = worst(&dt, &forward(s, &h));
        assert!(err < 1e-5, "case {n} ({s:?}): dt max error {err:.2e}");
        let k = dt_backward::<R, f32>(&c, s, &u, &w, &b, &upload(&c, &g));
        let (du, dw, db) = backward(s, &h, &g);
        let err = worst(&download(&c, k.du), &du);
        assert!(err < 1e-5, "case {n} ({s:?}): du max error {err:.2e}");
        let err = worst(&sum_over_groups(&download(&c, k.dw_part), s.groups(), s.d), &dw);
        assert!(err < 1e-4, "case {n} ({s:?}): dw max error {err:.2e}");
        let err = worst(&sum_over_groups(&download(&c, k.db_part), s.groups(), 1), &db);
        assert!(err < 1e-4, "case {n} ({s:?}): dbias max error {err:.2e}");
    }
}

#[test]
fn large_steps_neither_overflow_nor_lose_their_gradient() {
    // x = +-60: exp(60) overflows no f32 sum here, exp(-(-60)) is 1e26 (sigmoid 0, not NaN)
    let c = client();
    let s = DtShape {
        replicas: 1,
        tokens: 2,
        d: 1,
    };
    let h = Host {
        u: vec![30.0, -30.0],
        w: vec![2.0],
        bias: vec![0.0],
    };
    let (u, w, b) = (upload(&c, &h.u), upload(&c, &h.w), upload(&c, &h.bias));
    let dt = download(&c, dt_forward::<R, f32>(&c, &s, &u, &w, &b));
    assert!(
        (dt[0] - 60.0).abs() < 1e-4 && dt[1] >= 0.0 && dt[1] < 1e-20,
        "dt of +-60: {dt:?}"
    );
    let k = dt_backward::<R, f32>(&c, &s, &u, &w, &b, &upload(&c, &[1.0, 1.0]));
    let du = download(&c, k.du);
    assert!(
        (du[0] - 2.0).abs() < 1e-6 && du[1].abs() < 1e-20,
        "du at x = +-60: {du:?}"
    );
}

#[test]
fn the_autodiff_op_gives_the_oracle_gradients_through_the_graph() {
    // u and w through an op before it (x * 2 of halves), dt through one after it (* g); a
    // frozen bias gets no gradient; the inference form gives the same forward
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[0];
    let (r, d) = (s.replicas, s.d);
    let (b, l) = (3, s.tokens / 3);
    let h = inputs(&s, 30);
    let g = lcg(31)(s.dt_len(), -1.0, 2.0);
    let halve = |v: &[f64]| v.iter().map(|x| x / 2.0).collect::<Vec<f64>>();
    let u_half = tensor::<Ad, 4>(&halve(&h.u), [r, b, l, d], &dev).require_grad();
    let w_half = tensor::<Ad, 2>(&halve(&h.w), [r, d], &dev).require_grad();
    let bias = tensor::<Ad, 2>(&h.bias, [r, 1], &dev).require_grad();
    let dt = dt_autodiff(
        u_half.clone().mul_scalar(2.0),
        w_half.clone().mul_scalar(2.0),
        bias.clone(),
    );
    assert_eq!(dt.dims(), [r, b, l]);
    let err = worst(&values(dt.clone()), &forward(&s, &h));
    assert!(err < 1e-5, "forward: max error {err:.2e}");
    let grads = dt.mul(tensor::<Ad, 3>(&g, [r, b, l], &dev)).sum().backward();
    let (du, dw, db) = backward(&s, &h, &g);
    let twice = |v: &[f64]| v.iter().map(|x| 2.0 * x).collect::<Vec<f64>>();
    let err = worst(&values(u_half.grad(&grads).unwrap()), &twice(&du));
    assert!(err < 2e-5, "du through the scale: max error {err:.2e}");
    let err = worst(&values(w_half.grad(&grads).unwrap()), &twice(&dw));
    assert!(err < 2e-4, "dw through the scale: max error {err:.2e}");
    let err = worst(&values(bias.grad(&grads).unwrap()), &db);
    assert!(err < 1e-4, "dbias: max error {err:.2e}");

    let frozen = tensor::<Ad, 2>(&h.bias, [r, 1], &dev);
    let u = tensor::<Ad, 4>(&h.u, [r, b, l, d], &dev).require_grad();
    let grads = dt_autodiff(u.clone(), tensor::<Ad, 2>(&h.w, [r, d], &dev), frozen.clone())
        .sum()
        .backward();
    assert!(frozen.grad(&grads).is_none(), "a frozen bias got a gradient");
    assert!(u.grad(&grads).is_some(), "u lost its gradient beside a frozen bias");

    let out = dt_inference(
        tensor::<Inner, 4>(&h.u, [r, b, l, d], &dev),
        tensor::<Inner, 2>(&h.w, [r, d], &dev),
        tensor::<Inner, 2>(&h.bias, [r, 1], &dev),
    );
    let err = worst(&values(out), &forward(&s, &h));
    assert!(err < 1e-5, "inference: max error {err:.2e}");
}

/// The staged kernels (rows of u copied into shared memory a chunk of tokens at a time) give
/// the plain kernels' bits: dt, du and both partial sums, for fig3's d_model with a group in
/// one chunk (T = 24) and in two, the second short (T = 662: groups of 331 tokens, chunks of
/// 224), an odd width, d_model 128 (chunks of 32 rows, fewer than the cube's units), and a
/// width no chunk fits (the plain kernels run).
#[test]
fn the_staged_kernels_give_the_plain_kernels_bits() {
    use core::sync::atomic::Ordering::Relaxed;
    use kernels::dt_proj::DT_STAGED;
    let c = client();
    let shapes = [
        (
            DtShape {
                replicas: 2,
                tokens: 24,
                d: 32,
            },
            Some(32),
        ),
        (
            DtShape {
                replicas: 1,
                tokens: 662,
                d: 32,
            },
            Some(224),
        ),
        (
            DtShape {
                replicas: 3,
                tokens: 3,
                d: 5,
            },
            Some(32),
        ),
        (
            DtShape {
                replicas: 2,
                tokens: 64,
                d: 128,
            },
            Some(32),
        ),
        (
            DtShape {
                replicas: 1,
                tokens: 16,
                d: 300,
            },
            None,
        ),
    ];
    for (n, (s, chunk)) in shapes.iter().enumerate() {
        assert_eq!(s.chunk(), *chunk, "{s:?}: the chunk");
        let h = inputs(s, 40 + n as u64);
        let g = lcg(50 + n as u64)(s.dt_len(), -1.0, 2.0);
        let (u, w, b, g) = (upload(&c, &h.u), upload(&c, &h.w), upload(&c, &h.bias), upload(&c, &g));
        let run = |staged: bool| {
            DT_STAGED.store(staged, Relaxed);
            let dt = download(&c, dt_forward::<R, f32>(&c, s, &u, &w, &b));
            let k = dt_backward::<R, f32>(&c, s, &u, &w, &b, &g);
            [dt, download(&c, k.du), download(&c, k.dw_part), download(&c, k.db_part)]
        };
        let plain = run(false);
        let staged = run(true);
        for (what, (a, b)) in ["dt", "du", "dw_part", "db_part"].iter().zip(plain.iter().zip(&staged)) {
            assert_eq!(a, b, "{s:?}: {what}");
        }
    }
}
