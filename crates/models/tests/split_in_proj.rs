//! The split in_proj (z, xBC and dt as three products on row slices of the weight, behind
//! MSYM_SPLIT_IN_PROJ) computes the model of the one product it replaces: in f64, logits and
//! every parameter's gradient agree to rounding for every Mamba2 block variant. Its own test
//! binary, because the switch is process-wide.

mod common;

use common::{assert_same_model, model_outputs, tiny_config};
use models::mamba2::set_split_in_proj;

#[test]
fn the_split_in_proj_gives_the_one_products_logits_and_gradients() {
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 4\nd_state = 3";
    for extra in [
        "",
        "residual_around_conv = true",
        "gated_residual = true",
        "conv = \"all_ones_frozen\"",
    ] {
        let cfg = tiny_config(&format!("{base}\n{extra}"));
        let run = |split: bool| {
            set_split_in_proj(split);
            model_outputs(&cfg)
        };
        assert_same_model(extra, &run(false), &run(true), 1e-12, 1e-10);
    }
}
