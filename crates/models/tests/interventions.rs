//! The interventions of fig4a and fig4b as the analyses build them, and the SSM matrix S as
//! they read it: blocking nothing (an all-zero blocking pattern) changes nothing; blocking
//! the edges from key and anchors to later tokens does; substituting a sequence's own
//! post-conv states after the anchors changes nothing, another sequence's does; and S
//! recorded by the probes, with the recorded post-conv states, reproduces each layer's
//! SSM output (against the step-by-step recurrence) and mixer output.

mod common;

use burn::tensor::Tensor;
use common::{F64, RULE, max_abs_diff, small_block, to_vec, tokens};
use models::activation::{silu, softplus};
use models::grouped::linear;
use models::mamba2::NORM_EPS;
use models::ops::rms_norm;
use models::probes::{edges_into, later_edges, positions_from};
use models::ssd::{SsdInputs, ssd_recurrent};
use models::{Initializer, LayerProbe, Mamba2Lm, Mamba2LmConfig, Probes, ReplicaInit, Substitution};

const L: usize = 6;

fn lm() -> Mamba2Lm<F64> {
    let replicas = [ReplicaInit { seed: 5, gamma: 0.5 }];
    let cfg = Mamba2LmConfig {
        block: small_block(),
        vocab: 13,
        max_len: L,
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

/// Key positions of the 3 sequences of the tests (anchors at p+1, p+2).
const KEYS: [usize; 3] = [0, 1, 2];

#[test]
fn later_edges_block_exactly_the_edges_from_the_sources_to_later_tokens() {
    let m = to_vec(later_edges::<F64>(&[vec![1, 2], vec![]], 4, &Default::default()));
    for (i, v) in m.iter().enumerate() {
        let (b, t, s) = (i / 16, (i / 4) % 4, i % 4);
        let expected = b == 0 && (s == 1 || s == 2) && t > s;
        assert_eq!(*v, f64::from(u8::from(expected)), "b {b} t {t} s {s}");
    }
    assert_eq!(
        to_vec(positions_from::<F64>(&[2, 4], 4, &Default::default())),
        [0., 0., 1., 1., 0., 0., 0., 0.]
    );
}

#[test]
fn edges_into_keeps_the_edges_to_targets_before_the_first_one() {
    // Key at 1, anchors at 2 and 3, L = 6: only the targets 4 and 5 lose their edges.
    let m = to_vec(edges_into::<F64>(&[vec![1, 2, 3]], &[4], 6, &Default::default()));
    for (i, v) in m.iter().enumerate() {
        let (t, s) = (i / 6, i % 6);
        let expected = (1..=3).contains(&s) && t >= 4;
        assert_eq!(*v, f64::from(u8::from(expected)), "t {t} s {s}");
    }
}

#[test]
fn an_all_zero_blocking_pattern_changes_nothing_and_blocking_key_and_anchors_does() {
    let lm = lm();
    let toks = tokens::<F64>([1, 3, L], 13, 11);
    let plain = to_vec(lm.forward(toks.clone()));
    let run = |sources: Vec<Vec<usize>>| {
        let probe = LayerProbe::blocking(later_edges::<F64>(&sources, L, &Default::default()));
        let probes = Probes {
            record: false,
            layers: vec![probe; 2],
        };
        to_vec(lm.forward_probed(toks.clone(), &probes).0)
    };
    assert_eq!(run(vec![Vec::new(); 3]), plain, "blocking nothing is exact");
    let key_and_anchors = KEYS.iter().map(|&p| vec![p, p + 1, p + 2]).collect();
    assert!(max_abs_diff(&run(key_and_anchors), &plain) > 1e-4);
}

#[test]
fn substituting_own_states_after_the_anchors_changes_nothing_and_others_do() {
    let lm = lm();
    let toks = tokens::<F64>([1, 3, L], 13, 12);
    let other = tokens::<F64>([1, 3, L], 13, 13);
    let plain = to_vec(lm.forward(toks.clone()));
    let from: Vec<usize> = KEYS.iter().map(|p| p + 3).collect();
    let run = |donor: Tensor<F64, 3, burn::tensor::Int>| {
        let (_, recs) = lm.forward_probed(donor, &Probes::record());
        let layers = recs
            .into_iter()
            .map(|r| LayerProbe {
                mixing_mask: None,
                substitution: Some(Substitution {
                    states: r.post_conv.unwrap(),
                    mask: positions_from::<F64>(&from, L, &Default::default()),
                }),
            })
            .collect();
        to_vec(lm.forward_probed(toks.clone(), &Probes { record: false, layers }).0)
    };
    assert!(max_abs_diff(&run(toks.clone()), &plain) < 1e-12);
    assert!(max_abs_diff(&run(other), &plain) > 1e-4);
}

#[test]
fn recorded_s_reproduces_the_ssm_output_and_the_mixer_output_of_every_layer() {
    let lm = lm();
    let toks = tokens::<F64>([1, 3, L], 13, 14);
    let (_, recs) = lm.forward_probed(toks.clone(), &Probes::record());
    let mut h_in = models::embed::embed(lm.embedding.val(), toks); // [1, B, L, D]
    for (layer, rec) in lm.layers.iter().zip(&recs) {
        let d = layer.dims;
        let (e, n, c) = (d.d_inner(), d.d_state, d.conv_dim());
        let zxbcdt = linear(rms_norm(h_in.clone(), layer.norm.val(), NORM_EPS), layer.in_proj.val());
        let z = zxbcdt.clone().narrow(3, 0, e);
        let dt = softplus(
            zxbcdt
                .narrow(3, e + c, 1)
                .reshape([1, 3, L])
                .add(layer.dt_bias.val().reshape([1, 1, 1])),
        );
        let post = rec.post_conv.clone().unwrap(); // [1, B, L, C]
        let x = post.clone().narrow(3, 0, e);
        let s = rec.mixing.clone().unwrap(); // [1, B, L, L]
        // y_t = sum_s S[t, s] dt_s x_s + D x_t, from the recorded S alone
        let y = s
            .matmul(x.clone().mul(dt.clone().unsqueeze_dim::<4>(3)))
            .add(x.clone().mul(layer.d.val().reshape([1, 1, 1, 1])));
        let oracle = ssd_recurrent(&SsdInputs {
            x,
            dt,
            a: layer.a_log.val().exp().neg(),
            b: post.clone().narrow(3, e, n),
            c: post.narrow(3, e + n, n),
            d: layer.d.val(),
        });
        assert!(max_abs_diff(&to_vec(y.clone()), &to_vec(oracle)) < 1e-10);
        let mixer = linear(
            rms_norm(y.mul(silu(z)), layer.mixer_norm.val(), NORM_EPS),
            layer.out_proj.val(),
        );
        assert!(max_abs_diff(&to_vec(mixer), &to_vec(rec.mixer_out.clone())) < 1e-10);
        h_in = rec.hidden.clone();
    }
}
