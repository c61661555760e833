//! Replica independence: an R = 3 model equals three R = 1 models with the same weights,
//! on outputs and gradients, and changing one replica's weights changes no other replica.

mod common;

use std::collections::BTreeMap;

use burn::tensor::{Int, Tensor};
use common::{F64, max_abs_diff, randn, tiny_config, to_vec, tokens};
use models::{Model, ReplicaInit, build_model, read_grads, read_params, write_params};
use msym_config::ExperimentConfig;

const REPLICAS: [ReplicaInit; 3] = [
    ReplicaInit { seed: 1, gamma: 0.5 },
    ReplicaInit { seed: 2, gamma: 1.0 },
    ReplicaInit { seed: 3, gamma: 2.0 },
];

/// Both architectures, small, on a 13-token vocabulary and length-6 sequences.
const MODELS: [&str; 2] = [
    "kind = \"mamba2\"\ndepth = 2\nd_model = 4\nd_state = 3\npos_encoding = \"learned\"",
    "kind = \"transformer\"\ndepth = 2\nd_model = 4\nd_k = 3\nd_v = 5\nd_ff = 6\nconv_before_qkv = true",
];

fn model(cfg: &ExperimentConfig, replicas: &[ReplicaInit]) -> Model<F64> {
    build_model(cfg, replicas, &Default::default())
}

fn slice3(t: &Tensor<F64, 3, Int>, r: usize) -> Tensor<F64, 3, Int> {
    t.clone().narrow(0, r, 1)
}

#[test]
fn r3_equals_three_r1_models_on_weights_outputs_and_gradients() {
    for m in MODELS {
        r3_equals_three_r1(&tiny_config(m));
    }
}

fn r3_equals_three_r1(cfg: &ExperimentConfig) {
    let big = model(cfg, &REPLICAS);
    let toks = tokens::<F64>([3, 4, 6], 13, 11);
    let w = randn::<F64, 3>([3, 4, 13], 12);
    let logits = big.forward(toks.clone());
    let big_grads = read_grads(&big, &logits.clone().mul(w.clone()).sum().backward());
    let big_params = read_params(&big);
    let big_logits = to_vec(logits);
    let per = big_logits.len() / 3;
    for (r, rep) in REPLICAS.iter().enumerate() {
        let small = model(cfg, std::slice::from_ref(rep));
        for (name, p) in read_params(&small) {
            assert_eq!(p.values, big_params[&name].replica(r), "{name} of replica {r}");
        }
        let out = small.forward(slice3(&toks, r));
        let grads = read_grads(&small, &out.clone().mul(w.clone().narrow(0, r, 1)).sum().backward());
        assert!(
            max_abs_diff(&to_vec(out), &big_logits[r * per..(r + 1) * per]) < 1e-12,
            "logits of replica {r}"
        );
        for (name, g) in grads {
            let g = g.unwrap();
            let bg = big_grads[&name].as_ref().unwrap();
            let n = g.len();
            assert!(
                max_abs_diff(&g, &bg[r * n..(r + 1) * n]) < 1e-12,
                "gradient of {name}, replica {r}"
            );
        }
    }
}

#[test]
fn changing_one_replica_changes_no_other() {
    for m in MODELS {
        one_replica_edited(&tiny_config(m));
    }
}

fn one_replica_edited(cfg: &ExperimentConfig) {
    let big = model(cfg, &REPLICAS);
    let toks = tokens::<F64>([3, 4, 6], 13, 21);
    let before = to_vec(big.forward(toks.clone()));
    let mut edited = big.clone();
    let params = read_params(&big);
    let doubled: BTreeMap<String, Vec<f64>> = params
        .iter()
        .map(|(name, p)| {
            let n = p.values.len() / 3;
            let mut v = p.values.clone();
            v[n..2 * n].iter_mut().for_each(|x| *x = *x * 1.5 + 0.01);
            (name.clone(), v)
        })
        .collect();
    assert!(write_params(&mut edited, &|n: &str| doubled.get(n).cloned()).is_empty());
    let after = to_vec(edited.forward(toks));
    let per = before.len() / 3;
    assert_eq!(before[..per], after[..per], "replica 0 unchanged");
    assert_eq!(before[2 * per..], after[2 * per..], "replica 2 unchanged");
    assert!(
        max_abs_diff(&before[per..2 * per], &after[per..2 * per]) > 1e-3,
        "replica 1 changed"
    );
}
