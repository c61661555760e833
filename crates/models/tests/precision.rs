//! Mixed precision on the CPU: f64 master weights with an f32 compute copy stand in for
//! f32 masters with bf16 compute (the CPU backend has no bf16). The same code path runs:
//! the cast copy's logits come out in the narrow type, the gradients land on the master
//! parameters in the master type, and both agree with the all-f64 computation to f32
//! accuracy.

mod common;

use burn::tensor::{DType, Tensor};
use common::{F64, max_abs_diff, randn, tiny_config, to_vec, tokens};
use models::{Model, ReplicaInit, build_model, cast_module, read_grads};

const REPLICAS: [ReplicaInit; 2] = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];

/// Every place that widens back to the master type: RMSNorm, dt and the decay (Mamba2),
/// LayerNorm and softmax (Transformer), the sinusoidal table and the conv's zero padding.
const MODELS: [&str; 2] = [
    "kind = \"mamba2\"\ndepth = 2\nd_model = 4\nd_state = 3\npos_encoding = \"sinusoidal\"",
    "kind = \"transformer\"\ndepth = 2\nd_model = 4\nd_k = 3\nd_v = 5\nd_ff = 6\nconv_before_qkv = true",
];

#[test]
fn narrow_compute_matches_master_precision_and_grads_reach_the_masters() {
    for m in MODELS {
        let cfg = tiny_config(m);
        let master: Model<F64> = build_model(&cfg, &REPLICAS, &Default::default());
        let toks = tokens::<F64>([2, 5, 6], 13, 3);
        let w = randn::<F64, 3>([2, 5, 13], 4);

        let wide = master.forward(toks.clone());
        let wide_grads = read_grads(&master, &wide.clone().mul(w.clone()).sum().backward());

        let narrow = cast_module(&master, DType::F32).forward(toks); // [R, B, V]
        assert_eq!(narrow.dtype(), DType::F32, "{m}: logits of the cast copy");
        let loss = models::widen(narrow.clone()).mul(w).sum();
        assert_eq!(loss.dtype(), DType::F64);
        let grads = loss.backward();
        let narrow_grads = read_grads(&master, &grads);

        let (a, b) = (to_vec(wide), to_vec(narrow));
        let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            max_abs_diff(&a, &b) <= 1e-5 * scale.max(1.0),
            "{m}: logits differ by {}",
            max_abs_diff(&a, &b)
        );
        assert_eq!(
            wide_grads.keys().collect::<Vec<_>>(),
            narrow_grads.keys().collect::<Vec<_>>()
        );
        for (name, g64) in &wide_grads {
            let (Some(g64), Some(g32)) = (g64, &narrow_grads[name]) else {
                assert!(
                    g64.is_none() && narrow_grads[name].is_none(),
                    "{m}: {name} has a gradient in one run only"
                );
                continue;
            };
            let scale = g64.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let diff = max_abs_diff(g64, g32);
            assert!(
                diff <= 1e-4 * scale.max(1e-3),
                "{m}: {name}: grads differ by {diff} (scale {scale})"
            );
        }
        // The gradient tensors themselves are in the master type.
        let embedding = match &master {
            Model::Mamba2(lm) => lm.embedding.val(),
            Model::Transformer(lm) => lm.embedding.val(),
        };
        let g: Tensor<_, 3> = embedding.grad(&grads).expect("embedding gradient");
        assert_eq!(g.dtype(), DType::F64);
    }
}

#[test]
fn casting_to_the_master_type_changes_nothing() {
    let cfg = tiny_config(MODELS[0]);
    let master: Model<F64> = build_model(&cfg, &REPLICAS, &Default::default());
    let toks = tokens::<F64>([2, 5, 6], 13, 3);
    let same = cast_module(&master, DType::F64).forward(toks.clone());
    assert_eq!(to_vec(master.forward(toks)), to_vec(same));
}
