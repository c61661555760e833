//! The optimizer's row kernels (kernels::adamw) on lavapipe: the gather against the host's
//! concatenation (exact), the update against PyTorch's AdamW with global-norm clipping written
//! out in f64 (torch.optim.AdamW and clip_grad_norm_, one replica at a time).

use kernels::adamw::{AdamRowInputs, AdamScalars, RowPart, RowShape, adamw_row, gather_row, gather_row_by};
use kernels::burn_op_adamw::row_views;

mod common;
use common::{client, download, lcg, require_vulkan, tensor, upload, values};

/// The parts laid out from `starts` (None: end to end), per launch at most `per_launch` parts
/// (None: the runtime's), against the host's layout.
fn check_gather(per_launch: Option<usize>, starts: Option<[usize; 5]>) {
    let c = client();
    let r = 2;
    // a part longer than a cube (300 > 256 units) and parts of one entry
    let sizes = [3usize, 300, 1, 1, 5];
    let mut draw = lcg(7);
    let parts: Vec<Vec<f64>> = sizes.iter().map(|&n| draw(r * n, -1.0, 2.0)).collect();
    let total = 1024;
    let handles: Vec<_> = parts.iter().zip(sizes).map(|(p, n)| (upload(&c, p), n)).collect();
    // end to end where no starts are given
    let columns: Vec<usize> = match starts {
        Some(s) => s.to_vec(),
        None => sizes
            .iter()
            .scan(0, |at, n| {
                *at += n;
                Some(*at - n)
            })
            .collect(),
    };
    let laid: Vec<RowPart> = handles
        .iter()
        .zip(columns)
        .map(|((handle, len), start)| RowPart {
            handle: handle.clone(),
            start,
            len: *len,
        })
        .collect();
    let row = match per_launch {
        Some(k) => gather_row_by::<_, f32>(&c, r, &laid, total, k),
        None => gather_row::<_, f32>(&c, r, &laid, total),
    };
    let got = download(&c, row);
    // written out from the starts, without RowPart's own arithmetic
    let mut want = vec![0.0; r * total];
    for row in 0..r {
        let mut at = 0;
        for (k, (p, &n)) in parts.iter().zip(&sizes).enumerate() {
            let start = starts.map_or(at, |s| s[k]);
            want[row * total + start..row * total + start + n].copy_from_slice(&p[row * n..(row + 1) * n]);
            at += n;
        }
    }
    assert_eq!(got, want, "per launch {per_launch:?}, starts {starts:?}");
}

#[test]
fn gather_lays_the_parts_end_to_end_with_zeros_after() {
    check_gather(None, None);
}

/// Several launches (wgpu allows few buffers a kernel): 2 + 2 + 1 parts, the last with the zeros.
#[test]
fn gather_in_several_launches_gives_the_same_row() {
    check_gather(Some(2), None);
}

/// Parts at their own columns (trainer::flat's aligned layout): zeros in the gaps, in one
/// launch and in launches whose boundaries fall in gaps (2 + 2 + 1 parts).
#[test]
fn gather_at_given_columns_leaves_zeros_in_the_gaps() {
    let starts = [0, 128, 512, 513, 640];
    check_gather(None, Some(starts));
    check_gather(Some(2), Some(starts));
    check_gather(Some(1), Some(starts));
}

type Plain = burn_cubecl::CubeBackend<cubecl::wgpu::WgpuRuntime, f32, i32, u32>;

/// The row's entries as views: each holds the row's values at its columns, reshapes to a
/// parameter's shape and feeds an operation like any tensor; the row stays as it was. No view
/// where one cannot be made (two replicas, an entry off the memory alignment).
#[test]
fn row_views_read_the_entries_of_the_row() {
    require_vulkan();
    let dev = cubecl::wgpu::WgpuDevice::default();
    let align = client().properties().memory.alignment as usize / 4; // floats
    let total = 8 * align.max(4);
    let host: Vec<f64> = (0..total).map(|i| i as f64 * 0.5 - 3.0).collect();
    let row = tensor::<Plain, 2>(&host, [1, total], &dev);
    // a 12-entry parameter (3 x 4), one of one entry, one running to the row's end
    let entries = [(0, 12), (align, 1), (3 * align, total - 3 * align)];
    let views = row_views(row.clone(), &entries).expect("aligned entries of one replica");
    for (v, &(start, n)) in views.iter().zip(&entries) {
        assert_eq!(v.dims(), [1, n]);
        assert_eq!(values(v.clone()), host[start..start + n].to_vec(), "entry at {start}");
    }
    let param = views[0].clone().reshape([1, 3, 4]).mul_scalar(2.0);
    let want: Vec<f64> = host[..12].iter().map(|x| x * 2.0).collect();
    assert_eq!(values(param), want);
    assert_eq!(values(row.clone()), host, "the row is unchanged");
    if align > 1 {
        assert!(
            row_views(row.clone(), &[(1, 4)]).is_none(),
            "an entry off the alignment"
        );
    }
    let two = tensor::<Plain, 2>(&[host.clone(), host].concat(), [2, total], &dev);
    assert!(row_views(two, &[(0, 4)]).is_none(), "two replicas");
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
