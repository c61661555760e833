//! The optimizer's row kernels (kernels::adamw) on lavapipe: the gather against the host's
//! concatenation (exact), the update against PyTorch's AdamW with global-norm clipping written
//! out in f64 (torch.optim.AdamW and clip_grad_norm_, one replica at a time).

use kernels::adamw::{AdamRowInputs, AdamScalars, RowShape, adamw_row, gather_row, gather_row_by};

mod common;
use common::{client, download, lcg, upload};

/// The parts laid end to end, per launch at most `per_launch` parts (None: the runtime's).
fn check_gather(per_launch: Option<usize>) {
    let c = client();
    let r = 2;
    // a part longer than a cube (300 > 256 units) and parts of one entry
    let sizes = [3usize, 300, 1, 1, 5];
    let mut draw = lcg(7);
    let parts: Vec<Vec<f64>> = sizes.iter().map(|&n| draw(r * n, -1.0, 2.0)).collect();
    let total = 1024;
    let handles: Vec<_> = parts.iter().zip(sizes).map(|(p, n)| (upload(&c, p), n)).collect();
    let row = match per_launch {
        Some(k) => gather_row_by::<_, f32>(&c, r, &handles, total, k),
        None => gather_row::<_, f32>(&c, r, &handles, total),
    };
    let got = download(&c, row);
    let mut want = vec![0.0; r * total];
    for row in 0..r {
        let mut at = row * total;
        for (p, &n) in parts.iter().zip(&sizes) {
            want[at..at + n].copy_from_slice(&p[row * n..(row + 1) * n]);
            at += n;
        }
    }
    assert_eq!(got, want, "per launch {per_launch:?}");
}

#[test]
fn gather_lays_the_parts_end_to_end_with_zeros_after() {
    check_gather(None);
}

/// Several launches (wgpu allows few buffers a kernel): 2 + 2 + 1 parts, the last with the zeros.
#[test]
fn gather_in_several_launches_gives_the_same_row() {
    check_gather(Some(2));
}

/// One replica's update in f64: clip to max_norm (0: off), then AdamW at step t.
#[allow(clippy::too_many_arguments)]
fn oracle(
    p: &[f64],
    g: &[f64],
    m: &[f64],
    v: &[f64],
    lr: f64,
    t: i32,
    max_norm: f64,
    h: (f64, f64, f64, f64),
) -> [Vec<f64>; 3] {
    let (b1, b2, eps, wd) = h;
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    let coef = if max_norm > 0.0 {
        (max_norm / (norm + 1e-6)).min(1.0)
    } else {
        1.0
    };
    let (bc1, bc2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
    let mut out = [vec![], vec![], vec![]];
    for i in 0..p.len() {
        let gc = g[i] * coef;
        let mn = b1 * m[i] + (1.0 - b1) * gc;
        let vn = b2 * v[i] + (1.0 - b2) * gc * gc;
        let pn = p[i] * (1.0 - lr * wd) - lr / bc1 * mn / (vn.sqrt() / bc2.sqrt() + eps);
        out[0].push(pn);
        out[1].push(mn);
        out[2].push(vn);
    }
    out
}

/// Largest |got - want| over the largest |want|: f32 rounding gives about 1e-7 for each of
/// p, m and v, whose sizes differ (about 1, 0.1 and 0.01 here).
fn scaled_error(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0.0f64, |a, w| a.max(w.abs()));
    got.iter().zip(want).fold(0.0f64, |a, (g, w)| a.max((g - w).abs())) / scale
}

fn check_update(max_norm: f64) {
    let c = client();
    let (r, p_len, t) = (3, 300, 3);
    let h: (f64, f64, f64, f64) = (0.9, 0.999, 1e-8, 0.01);
    let mut draw = lcg(11);
    let p = draw(r * p_len, -1.0, 2.0);
    let g = draw(r * p_len, -0.2, 0.4);
    let m = draw(r * p_len, -0.05, 0.1);
    let v = draw(r * p_len, 0.0, 0.01);
    let lr = [1e-3, 2e-3, 5e-4];
    let active = [1.0, 0.0, 1.0]; // replica 1 stopped: its rows stay as they were
    let rows = |x: &[f64], i: usize| x[i * p_len..(i + 1) * p_len].to_vec();
    let norms: Vec<f64> = (0..r)
        .map(|i| rows(&g, i).iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    let s = AdamScalars {
        beta1: h.0 as f32,
        one_minus_beta1: (1.0 - h.0) as f32,
        beta2: h.1 as f32,
        one_minus_beta2: (1.0 - h.1) as f32,
        neg_weight_decay: -h.3 as f32,
        sqrt_bc2: (1.0 - h.1.powi(t)).sqrt() as f32,
        bc1: (1.0 - h.0.powi(t)) as f32,
        eps: h.2 as f32,
        max_norm: max_norm as f32,
    };
    let x = AdamRowInputs {
        p: upload(&c, &p),
        g: upload(&c, &g),
        m: upload(&c, &m),
        v: upload(&c, &v),
        lr: upload(&c, &lr),
        norm: upload(&c, &norms),
        active: upload(&c, &active),
    };
    let shape = RowShape {
        replicas: r,
        row_len: p_len,
    };
    let got = adamw_row(&c, &shape, &x, &s).map(|o| download(&c, o));
    for i in 0..r {
        let want = if active[i] > 0.0 {
            oracle(
                &rows(&p, i),
                &rows(&g, i),
                &rows(&m, i),
                &rows(&v, i),
                lr[i],
                t,
                max_norm,
                h,
            )
        } else {
            [rows(&p, i), rows(&m, i), rows(&v, i)]
        };
        for (name, k) in [("p", 0), ("m", 1), ("v", 2)] {
            let e = scaled_error(&rows(&got[k], i), &want[k]);
            let tol = if active[i] > 0.0 { 1e-6 } else { 0.0 };
            assert!(
                e <= tol,
                "replica {i}, {name}: error {e:.1e} above {tol:.0e} (max_norm {max_norm})"
            );
        }
    }
    // the clip must bite on some replica, or the clipped case tests nothing
    assert!(max_norm == 0.0 || norms.iter().any(|n| *n > max_norm));
}

#[test]
fn update_matches_clipped_adamw_in_f64() {
    check_update(1.0);
}

#[test]
fn update_without_clipping_matches_adamw_in_f64() {
    check_update(0.0);
}
