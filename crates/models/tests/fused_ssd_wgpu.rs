//! The fused SSD inside the real Mamba2 model, on burn's CubeCL backend over wgpu (lavapipe,
//! scripts/setup-vulkan.sh): with the switch on, the model's logits and every parameter's
//! gradient equal those of the plain ops, and the kernels did run. Built with
//! `cargo test -p models --features wgpu` (CI runs it).
#![cfg(feature = "wgpu")]

mod common;

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use common::{max_abs_diff, randn, tiny_config, to_vec, tokens};
use cubecl::wgpu::WgpuRuntime;
use models::fused_ssd::{fused_ssd_calls, set_fused_ssd};
use models::{ReplicaInit, build_model, read_grads};

type W = Autodiff<CubeBackend<WgpuRuntime, f32, i32, u32>>;

#[test]
fn the_fused_ssd_gives_the_plain_models_logits_and_gradients() {
    let icds = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        icds > 0,
        "no Vulkan driver on this machine: run scripts/setup-vulkan.sh"
    );
    let cfg = tiny_config("kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4");
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    let toks = tokens::<W>([2, 5, 6], 13, 3);
    let w = randn::<W, 3>([2, 5, 13], 4);
    let run = |fused: bool| {
        set_fused_ssd(fused);
        let model = build_model::<W>(&cfg, &replicas, &Default::default());
        let logits = model.forward(toks.clone());
        let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
        (to_vec(logits), grads)
    };
    let (plain_logits, plain_grads) = run(false);
    let before = fused_ssd_calls();
    let (fused_logits, fused_grads) = run(true);
    assert_eq!(
        fused_ssd_calls() - before,
        2,
        "one fused SSD call per layer of the forward"
    );
    let scale = plain_logits.iter().map(|v| v.abs()).fold(0.0, f64::max);
    assert!(
        max_abs_diff(&plain_logits, &fused_logits) < 1e-5 * scale.max(1.0),
        "logits"
    );
    for (name, g) in plain_grads {
        let (g, f) = (g.unwrap(), fused_grads[&name].clone().unwrap());
        let scale = g.iter().map(|v| v.abs()).fold(0.0, f64::max);
        let diff = max_abs_diff(&g, &f);
        assert!(
            diff < 1e-4 * scale.max(1e-3),
            "gradient of {name}: differs by {diff:.2e} (scale {scale:.2e})"
        );
    }
}
