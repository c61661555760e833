//! The last block at the last position alone (MSYM_LAST_QUERY) computes the model's logits
//! of the full last block: in f64, logits and every parameter's gradient agree to rounding,
//! for the Transformer with and without the conv before Q, K, V, ReLU and SiLU, one and
//! three blocks; and the path is not taken where a probe asks for the layers' records. Its
//! own test binary, because the switch is process-wide.

mod common;

use common::{F64, assert_same_model, model_outputs, tiny_config, tokens};
use models::transformer::LAST_QUERY;
use models::{Probes, ReplicaInit, build_model};

#[test]
fn the_last_query_gives_the_full_blocks_logits_and_gradients() {
    let base = "kind = \"transformer\"\nd_model = 4\nd_k = 3\nd_v = 5\nd_ff = 6";
    for extra in [
        "depth = 2",
        "depth = 2\nconv_before_qkv = true",
        "depth = 1\nconv_before_qkv = true\nactivation = \"silu\"",
        "depth = 3\nactivation = \"silu\"",
    ] {
        let cfg = tiny_config(&format!("{base}\n{extra}"));
        let run = |last: bool| {
            LAST_QUERY.set(last);
            let calls = LAST_QUERY.calls();
            let out = model_outputs(&cfg);
            assert_eq!(LAST_QUERY.calls() - calls, usize::from(last), "{extra:?}: calls");
            out
        };
        let (full, last) = (run(false), run(true));
        assert_eq!(full.0.len(), 2 * 5 * 13);
        assert_same_model(extra, &full, &last, 1e-12, 1e-10);
    }
    // in the same test: the switch is process-wide and tests run in parallel
    a_probe_that_records_keeps_every_position();
}

fn a_probe_that_records_keeps_every_position() {
    let cfg = tiny_config("kind = \"transformer\"\ndepth = 2\nd_model = 4\nd_k = 3\nd_v = 5\nd_ff = 6");
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }];
    let model = build_model::<F64>(&cfg, &replicas, &Default::default());
    LAST_QUERY.set(true);
    let probes = Probes::record();
    let calls = LAST_QUERY.calls();
    let (_, records) = model.forward_probed(tokens::<F64>([1, 3, 6], 13, 5), &probes);
    assert_eq!(LAST_QUERY.calls(), calls, "a recording forward took the last query");
    // both layers recorded, the last with its [R, B, L, L] attention over all 6 positions
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].hidden.dims(), [1, 3, 6, 4]);
    assert_eq!(records[1].mixing.as_ref().unwrap().dims(), [1, 3, 6, 6]);
}
