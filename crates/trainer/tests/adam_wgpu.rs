//! The fused optimizer tail (models::fused_adam: the gradients gathered into one row and the
//! clipped AdamW update, one kernel each) inside real training steps, on burn's CubeCL backend
//! over wgpu (lavapipe, scripts/setup-vulkan.sh): four steps of two replicas with it on give
//! the weights of four steps with it off, to f32 rounding, and the kernel ran once a step.
//! Built with `cargo test -p trainer --features wgpu --test adam_wgpu` (CI runs it).
#![cfg(feature = "wgpu")]

use std::collections::BTreeMap;

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::WgpuRuntime;
use models::fused_adam::{fused_adam_calls, set_fused_adam};
use models::{NamedTensor, ReplicaInit, build_model, read_params};
use msym_config::ExperimentConfig;
use trainer::data::DeviceData;
use trainer::step::{StepState, train_step};

type W = Autodiff<CubeBackend<WgpuRuntime, f32, i32, u32>>;

fn config() -> ExperimentConfig {
    // grad_clip 0.05, not 0: the kernel takes its clipping branch
    let text = "[task]\nkind = \"composite\"\nn_samples = 3000\n[model]\nkind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4\n\
         [train]\nbatch_size = 512\ngrad_clip = 0.05\n";
    msym_config::parse(text, std::path::Path::new("t.toml"), &[])
        .unwrap()
        .resolve()
}

fn replicas() -> [ReplicaInit; 2] {
    [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }]
}

/// The weights after `steps` steps.
fn train(steps: usize) -> BTreeMap<String, NamedTensor> {
    let cfg = config();
    let device = Default::default();
    let ds = anchor_data::generate(&cfg.task, 1).unwrap();
    let data = DeviceData::<W>::new(&[ds.clone(), ds], &[1, 2], &device);
    let t = &cfg.train;
    let mut s = StepState::new(build_model::<W>(&cfg, &replicas(), &device), t, None, &device);
    let order = data.epoch_order(0);
    for k in 0..steps {
        train_step(&mut s, &data, &order, (k % 4) * 512, k, &[1e-3, 2e-3], t);
    }
    read_params(&s.model)
}

/// The switch is process-wide: both runs in one test.
#[test]
fn the_fused_tail_trains_the_weights_of_the_plain_ops() {
    let icds = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        icds > 0,
        "no Vulkan driver on this machine: run scripts/setup-vulkan.sh"
    );
    set_fused_adam(false);
    let plain = train(4);
    assert_eq!(fused_adam_calls(), 0);
    set_fused_adam(true);
    let fused = train(4);
    assert_eq!(fused_adam_calls(), 4, "one fused update a step");
    let initial = read_params(&build_model::<W>(&config(), &replicas(), &Default::default()));
    for (name, p) in &plain {
        let f = &fused[name].values;
        let scale = p.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let err = p.values.iter().zip(f).fold(0.0f64, |a, (x, y)| a.max((x - y).abs())) / scale;
        assert!(
            err < 1e-6,
            "{name}: fused against plain, error {err:.1e} of its largest value"
        );
        if p.trainable {
            let moved = p
                .values
                .iter()
                .zip(&initial[name].values)
                .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
            assert!(
                moved > 100.0 * err * scale,
                "{name}: moved {moved:.1e}, too little to compare"
            );
        }
    }
}
