//! The speed paths inside the real Mamba2 model, on burn's CubeCL backend over wgpu (lavapipe,
//! scripts/setup-vulkan.sh): with a switch on (the fused SSD's, the fused conv's, the split
//! in_proj's, the fused gated norm's, the fused input RMSNorm's, the fused embedding's, or
//! several), the model's logits and every parameter's gradient equal those of the plain ops,
//! and the kernels did run once per layer. Left unset, all six are on here (each since its
//! GPU A/B adopted it). CubeCL's own matmul and kernels run
//! here as on CUDA, so a layout they refuse fails here (the split in_proj's first form failed
//! only on the GPU). Built with `cargo test -p models --features wgpu` (CI runs it).
#![cfg(feature = "wgpu")]

mod common;

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use common::{max_abs_diff, randn, tiny_config, to_vec, tokens};
use cubecl::wgpu::WgpuRuntime;
use models::fused_conv::{fused_conv_calls, set_fused_conv};
use models::fused_embed::{fused_embed_calls, set_fused_embed};
use models::fused_norm::{fused_norm_calls, set_fused_norm};
use models::fused_rms::{fused_rms_norm_calls, set_fused_rms_norm};
use models::fused_ssd::{fused_ssd_calls, set_fused_ssd};
use models::mamba2::{set_split_in_proj, split_in_proj_calls};
use models::{ReplicaInit, build_model, read_grads};

type W = Autodiff<CubeBackend<WgpuRuntime, f32, i32, u32>>;

/// The switches are process-wide: the cases run one after another in one test.
#[test]
fn the_speed_paths_give_the_plain_models_logits_and_gradients() {
    let icds = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        icds > 0,
        "no Vulkan driver on this machine: run scripts/setup-vulkan.sh"
    );
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4";
    // Nothing set yet (and no MSYM_* variable in the environment): the defaults put all six
    // paths on here, f32 on a CubeCL backend: once per layer of the forward, the input
    // RMSNorm once per layer and once for the final norm, the embedding once (the gated
    // norm, the RMSNorm and the embedding since their H200 A/Bs of 2026-11-27).
    let cfg = tiny_config(base);
    let model = build_model::<W>(&cfg, &[ReplicaInit { seed: 1, gamma: 0.5 }], &Default::default());
    let _ = model.forward(tokens::<W>([1, 2, 6], 13, 3)).sum().backward();
    assert_eq!(
        (
            fused_ssd_calls(),
            fused_conv_calls(),
            split_in_proj_calls(),
            fused_norm_calls(),
            fused_rms_norm_calls(),
            fused_embed_calls()
        ),
        (2, 2, 2, 2, 3, 1),
        "the speed paths' defaults on wgpu f32 (SSD, conv, split, gated norm, RMSNorm, embedding calls)"
    );
    // (model, SSD fused, conv fused, split in_proj, gated norm fused, input RMSNorm fused,
    // embedding fused);
    // fig5b's frozen all-ones conv, then the residual around the conv (fig7's variant)
    let cases = [
        (base.to_string(), true, false, false, false, false, false),
        (base.to_string(), false, true, false, false, false, false),
        (base.to_string(), false, false, true, false, false, false),
        (base.to_string(), false, false, false, true, false, false),
        (base.to_string(), false, false, false, false, true, false),
        (base.to_string(), false, false, false, false, false, true),
        (base.to_string(), true, true, true, false, false, false),
        (base.to_string(), true, true, true, true, false, false),
        (base.to_string(), true, true, true, true, true, true),
        (
            format!("{base}\nconv = \"all_ones_frozen\""),
            false,
            true,
            false,
            false,
            false,
            false,
        ),
        // the split's xbc comes grouped [R, G, M/G, C]; the residual around the conv adds it
        (
            format!("{base}\nresidual_around_conv = true"),
            true,
            true,
            true,
            true,
            true,
            true,
        ),
        // a head tied to the embedding: the table's gradient comes from both uses
        (
            format!("{base}\n[init]\ntied_head = true"),
            false,
            false,
            false,
            false,
            false,
            true,
        ),
    ];
    for (model, ssd, conv, split, norm, rms, emb) in cases {
        let cfg = tiny_config(&model);
        let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
        let toks = tokens::<W>([2, 5, 6], 13, 3);
        let w = randn::<W, 3>([2, 5, 13], 4);
        let run = |ssd: bool, conv: bool, split: bool, norm: bool, rms: bool, emb: bool| {
            set_fused_ssd(ssd);
            set_fused_conv(conv);
            set_split_in_proj(split);
            set_fused_norm(norm);
            set_fused_rms_norm(rms);
            set_fused_embed(emb);
            let model = build_model::<W>(&cfg, &replicas, &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (to_vec(logits), grads)
        };
        let what = format!(
            "SSD fused {ssd}, conv fused {conv}, split in_proj {split}, norm fused {norm}, RMSNorm fused {rms}, embedding fused {emb}, model {model:?}"
        );
        let (plain_logits, plain_grads) = run(false, false, false, false, false, false);
        let count = || {
            (
                fused_ssd_calls(),
                fused_conv_calls(),
                fused_norm_calls(),
                fused_rms_norm_calls(),
                fused_embed_calls(),
            )
        };
        let before = count();
        let (fused_logits, fused_grads) = run(ssd, conv, split, norm, rms, emb);
        let after = count();
        let calls = (
            after.0 - before.0,
            after.1 - before.1,
            after.2 - before.2,
            after.3 - before.3,
            after.4 - before.4,
        );
        let per_layer = |on: bool| if on { 2 } else { 0 };
        // the RMSNorm: each layer's input norm and the final norm; the embedding: once
        let rms_calls = if rms { 3 } else { 0 };
        assert_eq!(
            calls,
            (
                per_layer(ssd),
                per_layer(conv),
                per_layer(norm),
                rms_calls,
                usize::from(emb)
            ),
            "{what}: fused calls (SSD, conv, norm, RMSNorm, embedding), one per layer of the forward"
        );
        let scale = plain_logits.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(
            max_abs_diff(&plain_logits, &fused_logits) < 1e-5 * scale.max(1.0),
            "{what}: logits"
        );
        for (name, g) in plain_grads {
            let (g, f) = match (g, &fused_grads[&name]) {
                (Some(g), Some(f)) => (g, f),
                (None, None) => continue, // frozen: no gradient either way
                (g, f) => panic!(
                    "{what}: {name} has a gradient {} the plain ops and {} the kernels",
                    if g.is_some() { "with" } else { "without" },
                    if f.is_some() { "with" } else { "without" }
                ),
            };
            let scale = g.iter().map(|v| v.abs()).fold(0.0, f64::max);
            let diff = max_abs_diff(&g, f);
            assert!(
                diff < 1e-4 * scale.max(1e-3),
                "{what}: gradient of {name} differs by {diff:.2e} (scale {scale:.2e})"
            );
        }
    }
}
