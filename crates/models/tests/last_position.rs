//! The last Mamba2 block after its SSD at the last position alone (MSYM_LAST_POSITION)
//! computes the model of the full last block: in f64, logits and every parameter's gradient
//! agree to rounding for every block variant, one to three blocks, a tied head, positional
//! encodings, with in_proj as one product and split; and the path is not taken where a probe
//! asks for the layers' records; left to the default, the CPU backend keeps the full block.
//! Its own test binary, because the switches are process-wide.

mod common;

use common::{F64, assert_same_model, model_outputs, tiny_config, tokens};
use models::mamba2::{LAST_POSITION, set_split_in_proj};
use models::{Probes, ReplicaInit, build_model};

#[test]
fn the_last_position_gives_the_full_blocks_logits_and_gradients() {
    let base = "kind = \"mamba2\"\nd_model = 4\nd_state = 3";
    // left to the default, the CPU backend keeps the full block (the README's numbers)
    let calls = LAST_POSITION.calls();
    model_outputs(&tiny_config(&format!("{base}\ndepth = 2")));
    assert_eq!(LAST_POSITION.calls(), calls, "the last position by default on the CPU");
    for split in [false, true] {
        set_split_in_proj(split);
        for extra in [
            "depth = 2",
            "depth = 1",
            "depth = 3\nresidual_around_conv = true",
            "depth = 2\ngated_residual = true",
            "depth = 2\nconv = \"all_ones_frozen\"",
            "depth = 2\npos_encoding = \"learned\"",
            "depth = 2\npos_encoding = \"sinusoidal\"",
        ] {
            let cfg = tiny_config(&format!("{base}\n{extra}"));
            let run = |last: bool| {
                LAST_POSITION.set(last);
                let calls = LAST_POSITION.calls();
                let out = model_outputs(&cfg);
                assert_eq!(LAST_POSITION.calls() - calls, usize::from(last), "{extra:?}: calls");
                out
            };
            let (full, last) = (run(false), run(true));
            assert_eq!(full.0.len(), 2 * 5 * 13);
            let label = format!("{extra} (split in_proj {split})");
            assert_same_model(&label, &full, &last, 1e-12, 1e-10);
        }
    }
    // in the same test: the switches are process-wide and tests run in parallel
    a_tied_head_gets_the_same_gradients();
    a_probe_that_records_keeps_every_position();
}

fn a_tied_head_gets_the_same_gradients() {
    set_split_in_proj(true);
    let mut cfg = tiny_config("kind = \"mamba2\"\ndepth = 2\nd_model = 4\nd_state = 3");
    cfg.init.tied_head = true;
    let run = |last: bool| {
        LAST_POSITION.set(last);
        model_outputs(&cfg)
    };
    assert_same_model("tied head", &run(false), &run(true), 1e-12, 1e-10);
}

fn a_probe_that_records_keeps_every_position() {
    let cfg = tiny_config("kind = \"mamba2\"\ndepth = 2\nd_model = 4\nd_state = 3");
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }];
    let model = build_model::<F64>(&cfg, &replicas, &Default::default());
    LAST_POSITION.set(true);
    let calls = LAST_POSITION.calls();
    let (_, records) = model.forward_probed(tokens::<F64>([1, 3, 6], 13, 5), &Probes::record());
    assert_eq!(
        LAST_POSITION.calls(),
        calls,
        "a recording forward took the last position"
    );
    // both layers recorded, the last with its output and S over all 6 positions
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].hidden.dims(), [1, 3, 6, 4]);
    assert_eq!(records[1].mixing.as_ref().unwrap().dims(), [1, 3, 6, 6]);
}
