//! Probes: recording changes nothing, a mask of ones (block nothing) changes nothing,
//! substituting a sequence's own post-conv states changes nothing, and real edits do
//! change the output; recorded S is causal.

mod common;

use burn::tensor::Tensor;
use common::{F64, RULE, max_abs_diff, small_block, to_vec, tokens};
use models::{Initializer, LayerProbe, Mamba2LmConfig, Probes, ReplicaInit, Substitution};

fn lm() -> models::Mamba2Lm<F64> {
    let replicas = [ReplicaInit { seed: 2, gamma: 0.5 }, ReplicaInit { seed: 3, gamma: 1.0 }];
    let cfg = Mamba2LmConfig {
        block: small_block(),
        vocab: 13,
        max_len: 6,
        tied_head: false,
    };
    cfg.init(
        &Initializer {
            replicas: &replicas,
            rule: RULE,
        },
        &Default::default(),
    )
}

#[test]
fn recording_and_neutral_edits_change_nothing() {
    let lm = lm();
    let toks = tokens::<F64>([2, 3, 6], 13, 4);
    let plain = to_vec(lm.forward(toks.clone()));
    let (recorded, records) = lm.forward_probed(toks.clone(), &Probes::record());
    assert_eq!(to_vec(recorded), plain);
    assert_eq!(records.len(), 2);
    let layers: Vec<LayerProbe<F64>> = records
        .iter()
        .map(|r| {
            let post = r.post_conv.clone().unwrap();
            let [rr, b, l, _] = post.dims();
            LayerProbe {
                mixing_mask: Some(Tensor::ones([rr, b, l, l], &Default::default())),
                substitution: Some(Substitution {
                    states: post,
                    mask: Tensor::ones([rr, b, l, 1], &Default::default()),
                }),
            }
        })
        .collect();
    let (edited, _) = lm.forward_probed(toks, &Probes { record: false, layers });
    assert!(max_abs_diff(&to_vec(edited), &plain) < 1e-12);
}

#[test]
fn blocking_every_edge_and_substituting_other_states_change_the_output() {
    let lm = lm();
    let toks = tokens::<F64>([2, 3, 6], 13, 4);
    let other = tokens::<F64>([2, 3, 6], 13, 5);
    let plain = to_vec(lm.forward(toks.clone()));
    let block_all = LayerProbe {
        mixing_mask: Some(Tensor::zeros([1, 1, 6, 6], &Default::default())),
        substitution: None,
    };
    let (blocked, recs) = lm.forward_probed(
        toks.clone(),
        &Probes {
            record: true,
            layers: vec![block_all.clone(), block_all],
        },
    );
    assert!(max_abs_diff(&to_vec(blocked), &plain) > 1e-4);
    assert!(
        to_vec(recs[0].mixing.clone().unwrap()).iter().all(|v| *v == 0.0),
        "the mask was applied to S"
    );
    let (_, theirs) = lm.forward_probed(other, &Probes::record());
    let sub = LayerProbe {
        mixing_mask: None,
        substitution: Some(Substitution {
            states: theirs[0].post_conv.clone().unwrap(),
            mask: Tensor::ones([2, 3, 6, 1], &Default::default()),
        }),
    };
    let (swapped, _) = lm.forward_probed(
        toks,
        &Probes {
            record: false,
            layers: vec![sub],
        },
    );
    assert!(max_abs_diff(&to_vec(swapped), &plain) > 1e-4);
}

#[test]
fn recorded_ssm_matrix_is_causal() {
    let lm = lm();
    let (_, recs) = lm.forward_probed(tokens::<F64>([2, 3, 6], 13, 7), &Probes::record());
    let s = to_vec(recs[1].mixing.clone().unwrap());
    for (i, v) in s.iter().enumerate() {
        let (t, u) = ((i / 6) % 6, i % 6);
        if u > t {
            assert_eq!(*v, 0.0);
        }
    }
    assert!(s.iter().any(|v| v.abs() > 1e-6));
}
