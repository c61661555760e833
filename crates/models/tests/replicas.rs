//! Replica independence: an R = 3 model equals three R = 1 models with the same weights,
//! on outputs and gradients, and changing one replica's weights changes no other replica.

mod common;

use std::collections::BTreeMap;

use burn::tensor::{Int, Tensor};
use common::{F64, RULE, max_abs_diff, randn, small_block, to_vec, tokens};
use models::{Initializer, Mamba2Lm, Mamba2LmConfig, ReplicaInit, read_grads, read_params, write_params};
use msym_config::{Mamba2Config, PosEncoding};

const REPLICAS: [ReplicaInit; 3] = [
    ReplicaInit { seed: 1, gamma: 0.5 },
    ReplicaInit { seed: 2, gamma: 1.0 },
    ReplicaInit { seed: 3, gamma: 2.0 },
];

fn config() -> Mamba2LmConfig {
    Mamba2LmConfig {
        block: Mamba2Config {
            pos_encoding: PosEncoding::Learned,
            ..small_block()
        },
        vocab: 13,
        max_len: 6,
        tied_head: false,
    }
}

fn model(replicas: &[ReplicaInit]) -> Mamba2Lm<F64> {
    config().init(&Initializer { replicas, rule: RULE }, &Default::default())
}

fn slice3(t: &Tensor<F64, 3, Int>, r: usize) -> Tensor<F64, 3, Int> {
    t.clone().narrow(0, r, 1)
}

#[test]
fn r3_equals_three_r1_models_on_weights_outputs_and_gradients() {
    let big = model(&REPLICAS);
    let toks = tokens::<F64>([3, 4, 6], 13, 11);
    let w = randn::<F64, 3>([3, 4, 13], 12);
    let logits = big.forward(toks.clone());
    let big_grads = read_grads(&big, &logits.clone().mul(w.clone()).sum().backward());
    let big_params = read_params(&big);
    let big_logits = to_vec(logits);
    let per = big_logits.len() / 3;
    for (r, rep) in REPLICAS.iter().enumerate() {
        let small = model(std::slice::from_ref(rep));
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
    let big = model(&REPLICAS);
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
