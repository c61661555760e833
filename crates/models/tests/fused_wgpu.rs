//! The speed paths inside the real Mamba2 model, on burn's CubeCL backend over wgpu (lavapipe,
//! scripts/setup-vulkan.sh): with a switch on (the fused SSD's, the fused conv's, the split
//! in_proj's, the fused gated norm's, the fused input RMSNorm's, the fused embedding's, or
//! several), the model's logits and every parameter's gradient equal those of the plain ops,
//! and the kernels did run once per layer. Left unset, all six are on here (each since its
//! GPU A/B adopted it). The fused cross-entropy of the loss (`ops::nll_rows`) is checked the
//! same way, against burn's log_softmax. CubeCL's own matmul and kernels run
//! here as on CUDA, so a layout they refuse fails here (the split in_proj's first form failed
//! only on the GPU). Built with `cargo test -p models --features wgpu` (CI runs it).
#![cfg(feature = "wgpu")]

mod common;

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use common::{assert_same_model, max_abs_diff, randn, tiny_config, to_vec, tokens};
use cubecl::wgpu::WgpuRuntime;
use models::fused_ce::{fused_ce_calls, set_fused_ce};
use models::fused_conv::{fused_conv_calls, set_fused_conv};
use models::fused_conv_ssd::{fused_conv_ssd_calls, set_fused_conv_ssd};
use models::fused_dt::{fused_dt_calls, set_fused_dt};
use models::fused_embed::{fused_embed_calls, set_fused_embed};
use models::fused_linear::{fused_linear_calls, set_fused_linear};
use models::fused_norm::{fused_norm_calls, set_fused_norm};
use models::fused_proj_conv::{fused_proj_conv_calls, set_fused_proj_conv};
use models::fused_rms::{fused_rms_norm_calls, set_fused_rms_norm};
use models::fused_rows::{in_proj_rows_calls, set_in_proj_rows};
use models::fused_ssd::{fused_ssd_calls, set_fused_ssd};
use models::mamba2::{set_split_in_proj, split_in_proj_calls};
use models::ops::nll_rows;
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
    f32_matmul_gives_burns_products_and_gradients();
    conv_ssd_gives_the_separate_kernels_bits();
    proj_conv_gives_the_products_logits_and_gradients();
    fused_ce_gives_the_plain_losses_and_gradients();
    fused_dt_gives_the_plain_logits_and_gradients();
    in_proj_rows_give_the_narrows_bits();
    fused_linear_gives_burns_logits_and_gradients();
    group_sums_give_burns_bits();
    last_position_gives_the_full_blocks_logits_and_gradients();
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

/// MSYM_F32_MATMUL (models::f32_matmul): cubek's SimpleUnit kernel in place of burn's matmul.
/// On lavapipe both multiply in f32 (no tensor cores), so they agree to summation order: the
/// product and both gradients, with b broadcast over G and read transposed, as the models
/// call it; then whole models, the Mamba2 (its linear layers and the optimizer's sums go
/// through it) and the Transformer (attention too), with the switch off and on. Run inside
/// the one test above: the switches are process-wide, and a second test thread would flip
/// them under it.
fn f32_matmul_gives_burns_products_and_gradients() {
    use models::f32_matmul::{f32_matmul_calls, matmul, set_f32_matmul};
    let close = |what: &str, a: Vec<f64>, b: Vec<f64>| {
        let scale = a.iter().map(|v| v.abs()).fold(1e-3, f64::max);
        let d = max_abs_diff(&a, &b);
        assert!(
            d < 1e-5 * scale,
            "f32 matmul, {what}: differs by {d:.2e} (scale {scale:.2e})"
        );
    };
    // a [R, G, M, K] x b [R, 1, K, N] (broadcast over G), b given transposed ([R, 1, N, K])
    let weighting = randn::<W, 4>([2, 3, 4, 6], 7);
    let product = |f32_path: bool| {
        set_f32_matmul(f32_path);
        let a = randn::<W, 4>([2, 3, 4, 5], 5).require_grad();
        let bt = randn::<W, 4>([2, 1, 6, 5], 6).require_grad();
        let before = f32_matmul_calls();
        let out = matmul(a.clone(), bt.clone().swap_dims(2, 3)); // [2, 3, 4, 6]
        let calls = f32_matmul_calls() - before;
        let grads = out.clone().mul(weighting.clone()).sum().backward();
        let (ga, gb) = (a.grad(&grads).unwrap(), bt.grad(&grads).unwrap());
        assert_eq!(
            gb.dims(),
            [2, 1, 6, 5],
            "the broadcast input's gradient keeps its shape"
        );
        (calls, to_vec(out), to_vec(ga), to_vec(gb))
    };
    let (calls_off, out, ga, gb) = product(false);
    let (calls_on, out_f32, ga_f32, gb_f32) = product(true);
    assert_eq!((calls_off, calls_on), (0, 1), "the switch decides which kernel runs");
    close("product", out, out_f32);
    close("gradient of a", ga, ga_f32);
    close("gradient of b", gb, gb_f32);
    for model in [
        "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4",
        "kind = \"transformer\"\ndepth = 2\nd_model = 8\nd_k = 4\nd_v = 4\nd_ff = 8\nactivation = \"relu\"\nconv_before_qkv = true",
    ] {
        let cfg = tiny_config(model);
        let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
        let toks = tokens::<W>([2, 5, 6], 13, 3);
        let w = randn::<W, 3>([2, 5, 13], 4);
        let run = |f32_path: bool| {
            set_f32_matmul(f32_path);
            let before = f32_matmul_calls();
            let model = build_model::<W>(&cfg, &replicas, &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (f32_matmul_calls() - before, (to_vec(logits), grads))
        };
        let (off_calls, burns) = run(false);
        let (on_calls, f32s) = run(true);
        assert!(
            off_calls == 0 && on_calls > 0,
            "{model}: f32 matmul calls {off_calls} off, {on_calls} on"
        );
        // as `close`: 1e-5 of the largest logit (at least 1e-3), of each gradient's largest entry
        let logits_scale = burns.0.iter().map(|v| v.abs()).fold(1e-3, f64::max);
        assert_same_model(model, &burns, &f32s, 1e-5 * logits_scale, 1e-5);
    }
    set_f32_matmul(false);
}

/// The logits and every parameter's gradient of a small model, as `read_grads` gives them.
type Outputs = (Vec<f64>, std::collections::BTreeMap<String, Option<Vec<f64>>>);

/// One path that runs only where the block's conv input is read by nothing else, with every
/// default path on: first it must stay off unless set; then, on the standard block, fig5b's
/// frozen conv, the residual around the conv and with the conv kernels off, the model's
/// outputs with the path off and on, checked by `same`, and the path's layer calls (2 a
/// forward where it may run, else 0). `set` and `calls` are the path's switch and count.
fn one_conv_path(what: &str, set: fn(bool), calls: fn() -> usize, same: impl Fn(&str, &Outputs, &Outputs)) {
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4";
    let all_on = || {
        set_fused_ssd(true);
        set_fused_conv(true);
        set_split_in_proj(true);
        set_fused_norm(true);
        set_fused_rms_norm(true);
        set_fused_embed(true);
    };
    // (model, conv kernels on, layer calls of the path expected)
    let cases = [
        (base.to_string(), true, 2),
        (format!("{base}\nconv = \"all_ones_frozen\""), true, 2),
        (format!("{base}\nresidual_around_conv = true"), true, 0),
        (base.to_string(), false, 0),
    ];
    let before = calls();
    let cfg = tiny_config(base);
    all_on();
    let model = build_model::<W>(&cfg, &[ReplicaInit { seed: 1, gamma: 0.5 }], &Default::default());
    let _ = model.forward(tokens::<W>([1, 2, 6], 13, 3)).sum().backward();
    assert_eq!(calls(), before, "the {what} ran by default on lavapipe");
    for (model, conv, want) in cases {
        let cfg = tiny_config(&model);
        let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
        let toks = tokens::<W>([2, 5, 6], 13, 3);
        let w = randn::<W, 3>([2, 5, 13], 4);
        let run = |on: bool| {
            all_on();
            set_fused_conv(conv);
            set(on);
            let model = build_model::<W>(&cfg, &replicas, &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (to_vec(logits), grads)
        };
        let apart = run(false);
        let before = calls();
        let fused = run(true);
        set(false);
        let case = format!("{what}, model {model:?}, conv kernels {conv}");
        assert_eq!(calls() - before, want, "{case}: layer calls");
        same(&case, &apart, &fused);
    }
}

/// MSYM_FUSED_CONV_SSD (models::fused_conv_ssd): with every other path on, the fused conv +
/// SSD gives the logits and gradients of the conv and SSD kernels in turn, bit for bit, and
/// runs once per layer, except where the block adds to the post-conv states (the residual
/// around the conv) or where the conv or SSD kernels are off; it is off unless set. Run
/// inside the one test above (the switches are process-wide).
fn conv_ssd_gives_the_separate_kernels_bits() {
    one_conv_path(
        "fused conv + SSD",
        set_fused_conv_ssd,
        fused_conv_ssd_calls,
        |case, apart, fused| {
            assert!(fused.0 == apart.0, "{case}: logits differ");
            for (name, g) in &apart.1 {
                assert!(&fused.1[name] == g, "{case}: the gradient of {name} differs");
            }
        },
    );
}

/// MSYM_FUSED_PROJ_CONV (models::fused_proj_conv): in_proj's xBC rows and the conv in one
/// forward kernel give the separate product and conv's logits and gradients to f32 rounding
/// (it sums the product in another order, in f32 on every backend), once a layer where the
/// block's conv input is read by nothing else; off on lavapipe unless set (on by default only
/// where the kernels' tensor-core form runs, which lavapipe lacks). Run inside the one test
/// above (the switches are process-wide).
fn proj_conv_gives_the_products_logits_and_gradients() {
    one_conv_path(
        "fused product + conv",
        set_fused_proj_conv,
        fused_proj_conv_calls,
        |case, apart, fused| {
            let scale = apart.0.iter().map(|v| v.abs()).fold(1.0, f64::max);
            assert!(max_abs_diff(&apart.0, &fused.0) < 1e-5 * scale, "{case}: logits");
            for (name, g) in &apart.1 {
                let (Some(g), Some(f)) = (g, &fused.1[name]) else {
                    assert!(
                        g.is_none() && fused.1[name].is_none(),
                        "{case}: {name}'s gradient on one side only"
                    );
                    continue;
                };
                let scale = g.iter().map(|v| v.abs()).fold(1e-3, f64::max);
                let diff = max_abs_diff(g, f);
                assert!(
                    diff < 1e-4 * scale,
                    "{case}: gradient of {name} differs by {diff:.2e} (scale {scale:.2e})"
                );
            }
        },
    );
}

/// MSYM_FUSED_CE (models::fused_ce): each sample's loss through the cross-entropy kernels
/// gives the plain ops' losses and every parameter's gradient to f32 rounding, once a call;
/// it is on by default (since its H200 A/B). Run inside the one test above (the switches are
/// process-wide; nothing before this sets this one).
fn fused_ce_gives_the_plain_losses_and_gradients() {
    let cfg = tiny_config("kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4");
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    let toks = tokens::<W>([2, 5, 6], 13, 3);
    // one label a sample: the tokens' last position, as the tasks' labels are tokens
    let labels = toks.clone().narrow(2, 5, 1).reshape([2, 5]);
    let weights = randn::<W, 2>([2, 5], 6);
    let run = |fused: bool| {
        set_fused_ce(fused);
        let model = build_model::<W>(&cfg, &replicas, &Default::default());
        let nll = nll_rows(model.forward(toks.clone()), labels.clone());
        let grads = read_grads(&model, &nll.clone().mul(weights.clone()).sum().backward());
        set_fused_ce(true); // back to the default
        (to_vec(nll), grads)
    };
    let before = fused_ce_calls();
    let model = build_model::<W>(&cfg, &replicas, &Default::default());
    let _ = nll_rows(model.forward(toks.clone()), labels.clone());
    assert_eq!(fused_ce_calls() - before, 1, "the fused cross-entropy is on by default");
    let before = fused_ce_calls();
    let plain = run(false);
    assert_eq!(fused_ce_calls(), before, "the fused cross-entropy ran while set off");
    let fused = run(true);
    assert_eq!(fused_ce_calls() - before, 1, "one fused call a loss");
    let scale = plain.0.iter().map(|v| v.abs()).fold(0.0, f64::max);
    assert!(max_abs_diff(&plain.0, &fused.0) < 1e-5 * scale.max(1.0), "losses");
    for (name, g) in plain.1 {
        let (Some(g), Some(f)) = (g, &fused.1[&name]) else {
            panic!("{name}: a gradient on one side only");
        };
        let scale = g.iter().map(|v| v.abs()).fold(0.0, f64::max);
        let diff = max_abs_diff(&g, f);
        assert!(
            diff < 1e-4 * scale.max(1e-3),
            "gradient of {name} differs by {diff:.2e} (scale {scale:.2e})"
        );
    }
}

/// MSYM_FUSED_DT (models::fused_dt): dt's in_proj row, bias and softplus through the dt
/// kernels give the plain ops' logits and every parameter's gradient to f32 rounding (the
/// kernels sum in other orders), once a layer where the split in_proj runs (the whole in_proj
/// product's dt column otherwise), whatever the block's conv variant; on by default (since
/// its H200 A/B, session 26). Run inside the one test above (the switches are process-wide).
fn fused_dt_gives_the_plain_logits_and_gradients() {
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4";
    let before = fused_dt_calls();
    let model = build_model::<W>(
        &tiny_config(base),
        &[ReplicaInit { seed: 1, gamma: 0.5 }],
        &Default::default(),
    );
    let _ = model.forward(tokens::<W>([1, 2, 6], 13, 3)).sum().backward();
    assert_eq!(
        fused_dt_calls() - before,
        2,
        "the fused dt is on by default, once a layer"
    );
    // (model, split in_proj, layer calls of the path expected)
    let cases = [
        (base.to_string(), true, 2),
        (format!("{base}\nresidual_around_conv = true"), true, 2),
        (format!("{base}\n[init]\ntied_head = true"), true, 2),
        (base.to_string(), false, 0),
    ];
    for (model, split, want) in cases {
        let cfg = tiny_config(&model);
        let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
        let toks = tokens::<W>([2, 5, 6], 13, 3);
        let w = randn::<W, 3>([2, 5, 13], 4);
        let run = |on: bool| {
            set_split_in_proj(split);
            set_fused_dt(on);
            let model = build_model::<W>(&cfg, &replicas, &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (to_vec(logits), grads)
        };
        let plain = run(false);
        let before = fused_dt_calls();
        let fused = run(true);
        let on = fused_dt_calls();
        run(false);
        assert_eq!(fused_dt_calls(), on, "{model:?}: the fused dt ran while set off");
        set_split_in_proj(true); // back to the defaults, the fused dt on
        set_fused_dt(true);
        let case = format!("fused dt, model {model:?}, split in_proj {split}");
        assert_eq!(fused_dt_calls() - before, want, "{case}: layer calls");
        // logits to 1e-5 of the largest (at least 1), each gradient to 1e-4 of its largest entry
        let scale = plain.0.iter().map(|v| v.abs()).fold(1.0, f64::max);
        assert_same_model(&case, &plain, &fused, 1e-5 * scale, 1e-4);
    }
}

/// MSYM_IN_PROJ_ROWS (models::fused_rows): the split in_proj's three row blocks through
/// kernels::burn_op_rows (views at R = 1, burn's slice at R = 2; one launch backward) give
/// the narrows' logits and every parameter's gradient bit for bit, three blocks a layer. Run
/// inside the one test above (the switches are process-wide).
fn in_proj_rows_give_the_narrows_bits() {
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4";
    let cfg = tiny_config(base);
    let two = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    for replicas in [&two[..1], &two[..]] {
        let r = replicas.len();
        let toks = tokens::<W>([r, 5, 6], 13, 3);
        let w = randn::<W, 3>([r, 5, 13], 4);
        let run = |on: bool| {
            set_in_proj_rows(on);
            let model = build_model::<W>(&cfg, replicas, &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (to_vec(logits), grads)
        };
        let plain = run(false);
        let before = in_proj_rows_calls();
        let rows = run(true);
        assert_eq!(in_proj_rows_calls() - before, 6, "R = {r}: three blocks a layer");
        set_in_proj_rows(true); // its default
        assert_eq!(plain.0, rows.0, "R = {r}: logits");
        for (name, g) in &plain.1 {
            assert_eq!(g, &rows.1[name], "R = {r}: the gradient of {name}");
        }
    }
}

/// MSYM_FUSED_LINEAR (models::fused_linear): at one replica the linear maps (z's rows and
/// out_proj in each layer, the head) through kernels::burn_op_linear give burn's logits and
/// every parameter's gradient to f32 rounding (f32 products and other sum orders; on lavapipe
/// burn's matmul is f32 too), two maps a layer at depth 2 plus the head; none at two
/// replicas; on by default (since its H200 A/B, session 28). Run inside the one test above
/// (the switches are process-wide).
fn fused_linear_gives_burns_logits_and_gradients() {
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4";
    let two = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    let before = fused_linear_calls();
    let model = build_model::<W>(&tiny_config(base), &two[..1], &Default::default());
    let _ = model.forward(tokens::<W>([1, 2, 6], 13, 3)).sum().backward();
    assert_eq!(
        fused_linear_calls() - before,
        5,
        "the fused linear map by default at R = 1"
    );
    // (model, replicas, xBC's product gradients too, maps a forward expected): z and out_proj
    // a layer, and the head (the embedding's table where tied); with the fused product + conv
    // set on (lavapipe runs its CUDA-core form) and MSYM_LINEAR_XBC's setting on, its
    // backward's product gradients by the same kernels
    let cases = [
        (base.to_string(), 1, false, 5),
        (format!("{base}\n[init]\ntied_head = true"), 1, false, 5),
        (base.to_string(), 1, true, 5),
        (base.to_string(), 2, false, 0),
    ];
    for (model, r, xbc, want) in cases {
        let cfg = tiny_config(&model);
        let toks = tokens::<W>([r, 5, 6], 13, 3);
        let w = randn::<W, 3>([r, 5, 13], 4);
        let run = |on: bool| {
            set_split_in_proj(true); // where the fused product + conv runs
            set_fused_conv(true);
            set_fused_proj_conv(xbc);
            models::fused_linear::set_linear_xbc(xbc);
            set_fused_linear(on);
            let model = build_model::<W>(&cfg, &two[..r], &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (to_vec(logits), grads)
        };
        let plain = run(false);
        let before = fused_linear_calls();
        let before_xbc = fused_proj_conv_calls();
        let fused = run(true);
        assert_eq!(
            fused_proj_conv_calls() - before_xbc,
            if xbc { 2 } else { 0 },
            "the fused product + conv's layer calls"
        );
        set_fused_linear(true); // the defaults (the fused product + conv: off on lavapipe)
        models::fused_linear::set_linear_xbc(false);
        set_fused_proj_conv(false);
        let case = format!("fused linear, model {model:?}, R = {r}, xBC {xbc}");
        assert_eq!(fused_linear_calls() - before, want, "{case}: maps");
        // logits to 1e-5 of the largest (at least 1), each gradient to 1e-4 of its largest entry
        let scale = plain.0.iter().map(|v| v.abs()).fold(1.0, f64::max);
        assert_same_model(&case, &plain, &fused, 1e-5 * scale, 1e-4);
    }
}

/// kernels::GROUP_SUMS (MSYM_GROUP_SUMS): the kernels' per-group partials summed by
/// kernels::linear::sum_groups give burn's reduction's logits and gradients bit for bit, at
/// R = 1 and 2, fused linear maps off and on. Run inside the one test above.
fn group_sums_give_burns_bits() {
    use std::sync::atomic::Ordering::Relaxed;
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4";
    let cfg = tiny_config(base);
    let two = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    for (r, linear) in [(1, false), (1, true), (2, false)] {
        let toks = tokens::<W>([r, 5, 6], 13, 3);
        let w = randn::<W, 3>([r, 5, 13], 4);
        let run = |on: bool| {
            kernels::GROUP_SUMS.store(on, Relaxed);
            set_fused_linear(linear);
            let model = build_model::<W>(&cfg, &two[..r], &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (to_vec(logits), grads)
        };
        let burns = run(false);
        let ours = run(true);
        kernels::GROUP_SUMS.store(true, Relaxed); // the defaults
        set_fused_linear(true);
        assert_eq!(burns.0, ours.0, "R = {r}, fused linear {linear}: logits");
        for (name, g) in &burns.1 {
            assert_eq!(
                g, &ours.1[name],
                "R = {r}, fused linear {linear}: the gradient of {name}"
            );
        }
    }
}

/// MSYM_LAST_POSITION (models::mamba2::LAST_POSITION): the last block after its SSD at the
/// last position alone gives the full block's logits and every parameter's gradient to f32
/// rounding through the kernels this backend runs by default (the fused gated norm and
/// RMSNorm then read a strided slice; at R = 1 the fused linear maps take [B, 1] rows), at
/// R = 1 and 2, with a tied head too; on by default on this backend (since its H200 A/B,
/// session 29). Run inside the one test above.
fn last_position_gives_the_full_blocks_logits_and_gradients() {
    use models::mamba2::LAST_POSITION;
    let base = "kind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4";
    let two = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    let before = LAST_POSITION.calls();
    let model = build_model::<W>(&tiny_config(base), &two[..1], &Default::default());
    let _ = model.forward(tokens::<W>([1, 2, 6], 13, 3)).sum().backward();
    assert_eq!(LAST_POSITION.calls() - before, 1, "the last position by default here");
    for (model, r) in [
        (base.to_string(), 1),
        (base.to_string(), 2),
        (format!("{base}\n[init]\ntied_head = true"), 2),
    ] {
        let cfg = tiny_config(&model);
        let toks = tokens::<W>([r, 5, 6], 13, 3);
        let w = randn::<W, 3>([r, 5, 13], 4);
        let run = |on: bool| {
            LAST_POSITION.set(on);
            let model = build_model::<W>(&cfg, &two[..r], &Default::default());
            let logits = model.forward(toks.clone());
            let grads = read_grads(&model, &logits.clone().mul(w.clone()).sum().backward());
            (to_vec(logits), grads)
        };
        let full = run(false);
        let (before, norms) = (LAST_POSITION.calls(), fused_norm_calls());
        let last = run(true);
        LAST_POSITION.set(true); // its default here
        let case = format!("last position, model {model:?}, R = {r}");
        assert_eq!(LAST_POSITION.calls() - before, 1, "{case}: calls");
        assert_eq!(fused_norm_calls() - norms, 2, "{case}: the fused gated norm a layer");
        let scale = full.0.iter().map(|v| v.abs()).fold(1.0, f64::max);
        assert_same_model(&case, &full, &last, 1e-5 * scale, 1e-4);
    }
}
