//! Clipping and AdamW against PyTorch (torch.nn.utils.clip_grad_norm_ then
//! torch.optim.AdamW), three steps in float64. The golden numbers in
//! tests/golden/optim.txt were printed by
//!     python3 scripts/optim_golden.py > crates/trainer/tests/golden/optim.txt
//! (PyTorch 2.11, CPU, float64; run on the lent H100 machine, which has PyTorch).

use std::collections::BTreeMap;

use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorData};
use trainer::adamw::{AdamHyper, AdamW, Clip};
use trainer::clip::clip_row;
use trainer::flat::FlatLayout;

type B = NdArray<f64>;

fn golden(key: &str) -> Vec<f64> {
    let text = include_str!("golden/optim.txt");
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key}"));
    line.split_once('[')
        .unwrap()
        .1
        .trim_end_matches(']')
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect()
}

fn row(v: Vec<f64>) -> Tensor<B, 2> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [1, n]), &Default::default())
}

fn host(t: &Tensor<B, 2>) -> Vec<f64> {
    t.clone().into_data().to_vec::<f64>().unwrap()
}

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-14 * y.abs().max(1e-3), "{what}: {x} vs {y}");
    }
}

#[test]
fn clip_then_adamw_matches_pytorch_for_three_steps() {
    let mut p1 = row((0..12).map(|k| 0.1 * f64::sin(k as f64)).collect());
    let mut p2 = row((0..5).map(|k| 0.1 * f64::cos(k as f64)).collect());
    let mut opt = AdamW::<B>::new(AdamHyper {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    });
    let lr = row(vec![1e-2]);
    let active = row(vec![1.0]);
    // The training step's path (trainer::step): one row per replica, clipped, then AdamW.
    let layout = FlatLayout::new(vec![("p1".into(), 12), ("p2".into(), 5)]);
    let device = Default::default();
    let indicator = layout.indicator(&device);
    for step in 0..3 {
        let s = step as f64;
        let scale = if step == 2 { 0.05 } else { 1.0 };
        let g1: Vec<f64> = (0..12).map(|k| 3.0 * (0.5 * k as f64 + s).cos() * scale).collect();
        let g2: Vec<f64> = (0..5).map(|k| 0.2 * (0.3 * k as f64 - s).sin() * scale).collect();
        let grads = BTreeMap::from([("p1".to_string(), row(g1)), ("p2".to_string(), row(g2))]);
        let g = layout.cat(&grads, 1, &device);
        let norm = layout
            .per_param_sums(g.clone().powi_scalar(2), indicator.clone())
            .sum_dim(1)
            .sqrt();
        close(&host(&norm), &golden(&format!("step{step}_norm")), "norm");
        let clipped = clip_row(g.clone(), &norm, 1.0);
        close(
            &host(&layout.split(clipped)["p1"]),
            &golden(&format!("step{step}_g1")),
            "clipped gradient",
        );
        let params = BTreeMap::from([("p1".to_string(), p1.clone()), ("p2".to_string(), p2.clone())]);
        opt.begin_step();
        // update_flat clips g itself (in one kernel where models::fused_adam applies)
        let clip = Clip { norm, max_norm: 1.0 };
        let p = layout.cat(&params, 1, &device);
        let new = layout.split(opt.update_flat(&layout, p, g, lr.clone(), active.clone(), clip));
        (p1, p2) = (new["p1"].clone(), new["p2"].clone());
        close(
            &host(&p1),
            &golden(&format!("step{step}_p1")),
            &format!("p1 after step {step}"),
        );
        close(
            &host(&p2),
            &golden(&format!("step{step}_p2")),
            &format!("p2 after step {step}"),
        );
    }
}

#[test]
fn an_inactive_replica_is_left_exactly_as_it_was() {
    let mut opt = AdamW::<B>::new(AdamHyper {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    });
    let p = Tensor::<B, 2>::from_data(TensorData::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]), &Default::default());
    let g = Tensor::<B, 2>::from_data(
        TensorData::new(vec![0.5, 0.5, f64::NAN, f64::INFINITY], [2, 2]),
        &Default::default(),
    );
    let lr = Tensor::<B, 2>::from_data(TensorData::new(vec![0.1, 0.1], [2, 1]), &Default::default());
    let active = Tensor::<B, 2>::from_data(TensorData::new(vec![1.0, 0.0], [2, 1]), &Default::default());
    let layout = FlatLayout::new(vec![("p".into(), 2)]);
    let device = Default::default();
    let one = |t: Tensor<B, 2>| layout.cat(&BTreeMap::from([("p".to_string(), t)]), 2, &device);
    opt.begin_step();
    let clip = Clip {
        norm: lr.zeros_like(),
        max_norm: 0.0,
    };
    let new = host(&layout.split(opt.update_flat(&layout, one(p), one(g), lr, active, clip))["p"]);
    assert_eq!(new[2..], [3.0, 4.0], "replica 1 untouched despite NaN gradients");
    assert!(new[..2].iter().all(|v| v.is_finite()) && new[0] < 1.0);
    let m = host(&opt.moments()["p"].m);
    assert_eq!(m[2..], [0.0, 0.0], "its moments too");
}
