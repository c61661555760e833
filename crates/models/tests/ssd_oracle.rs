//! The quadratic SSD form equals the step-by-step recurrence, on outputs and on gradients
//! with respect to every input (f64).

mod common;

use common::{F64, max_abs_diff, randn, to_vec};
use models::activation::softplus;
use models::ssd::{SsdInputs, ssd_quadratic, ssd_recurrent, ssm_matrix};

fn inputs(seed: u64) -> SsdInputs<F64> {
    let (r, b, l, e, n) = (2, 3, 7, 5, 4);
    SsdInputs {
        x: randn([r, b, l, e], seed).require_grad(),
        dt: softplus(randn::<F64, 3>([r, b, l], seed + 1)).require_grad(),
        a: randn::<F64, 2>([r, 1], seed + 2).exp().neg().require_grad(),
        b: randn([r, b, l, n], seed + 3).require_grad(),
        c: randn([r, b, l, n], seed + 4).require_grad(),
        d: randn([r, 1], seed + 5).require_grad(),
    }
}

#[test]
fn quadratic_form_equals_recurrence_on_outputs() {
    let inp = inputs(10);
    let (yq, _) = ssd_quadratic(&inp, None);
    let yr = ssd_recurrent(&inp);
    let (a, b) = (to_vec(yq), to_vec(yr));
    let scale = b.iter().map(|v| v.abs()).fold(0.0, f64::max);
    assert!(scale > 0.1, "non-trivial output");
    assert!(
        max_abs_diff(&a, &b) < 1e-12 * scale.max(1.0),
        "{}",
        max_abs_diff(&a, &b)
    );
}

#[test]
fn quadratic_form_equals_recurrence_on_gradients() {
    let w = randn::<F64, 4>([2, 3, 7, 5], 99);
    let grads_of = |quadratic: bool| {
        let inp = inputs(20);
        let y = if quadratic {
            ssd_quadratic(&inp, None).0
        } else {
            ssd_recurrent(&inp)
        };
        let g = y.mul(w.clone()).sum().backward();
        [
            to_vec(inp.x.grad(&g).unwrap()),
            to_vec(inp.dt.grad(&g).unwrap()),
            to_vec(inp.a.grad(&g).unwrap()),
            to_vec(inp.b.grad(&g).unwrap()),
            to_vec(inp.c.grad(&g).unwrap()),
            to_vec(inp.d.grad(&g).unwrap()),
        ]
    };
    let (q, r) = (grads_of(true), grads_of(false));
    for (i, name) in ["x", "dt", "A", "B", "C", "D"].iter().enumerate() {
        let scale = r[i].iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(scale > 1e-3, "{name}: gradient is not trivially zero");
        assert!(
            max_abs_diff(&q[i], &r[i]) < 1e-11 * scale.max(1.0),
            "{name}: {}",
            max_abs_diff(&q[i], &r[i])
        );
    }
}

#[test]
fn ssm_matrix_is_causal_and_its_diagonal_is_c_dot_b() {
    let inp = inputs(30);
    let s = to_vec(ssm_matrix(&inp));
    let (b, c) = (to_vec(inp.b.clone()), to_vec(inp.c.clone()));
    let (l, n) = (7, 4);
    for rb in 0..6 {
        for t in 0..l {
            for u in 0..l {
                let v = s[rb * l * l + t * l + u];
                if u > t {
                    assert_eq!(v, 0.0, "S[{t},{u}] above the diagonal");
                }
            }
            let cb: f64 = (0..n).map(|k| c[(rb * l + t) * n + k] * b[(rb * l + t) * n + k]).sum();
            assert!(
                (s[rb * l * l + t * l + t] - cb).abs() < 1e-12,
                "S[t,t] = C_t . B_t (no decay)"
            );
        }
    }
}
