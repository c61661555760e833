//! What the wgpu training-step tests (adam_wgpu.rs, row_views_wgpu.rs) share: a small
//! Mamba2 config and a few training steps on burn's CubeCL backend over wgpu (lavapipe).

use std::collections::BTreeMap;

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::WgpuRuntime;
use models::{NamedTensor, ReplicaInit, build_model, read_params};
use msym_config::ExperimentConfig;
use trainer::data::DeviceData;
use trainer::step::{StepState, train_step};

pub type W = Autodiff<CubeBackend<WgpuRuntime, f32, i32, u32>>;

pub fn config() -> ExperimentConfig {
    // grad_clip 0.05, not 0: the kernel takes its clipping branch
    let text = "[task]\nkind = \"composite\"\nn_samples = 3000\n[model]\nkind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4\n\
         [train]\nbatch_size = 512\ngrad_clip = 0.05\n";
    msym_config::parse(text, std::path::Path::new("t.toml"), &[])
        .unwrap()
        .resolve()
}

/// Replica r trains with seed r + 1, gamma 0.5 (r + 1) and learning rate 1e-3 (r + 1).
pub fn replicas(n: usize) -> Vec<ReplicaInit> {
    (0..n)
        .map(|r| ReplicaInit {
            seed: r as u64 + 1,
            gamma: 0.5 * (r + 1) as f64,
        })
        .collect()
}

/// Asks for a Vulkan driver (scripts/setup-vulkan.sh installs lavapipe).
pub fn require_vulkan() {
    let icds = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        icds > 0,
        "no Vulkan driver on this machine: run scripts/setup-vulkan.sh"
    );
}

/// The weights of `n` replicas after `steps` steps.
pub fn train(n: usize, steps: usize) -> BTreeMap<String, NamedTensor> {
    let cfg = config();
    let device = Default::default();
    let ds = anchor_data::generate(&cfg.task, 1).unwrap();
    let seeds: Vec<u64> = (1..=n as u64).collect();
    let data = DeviceData::<W>::new(&vec![ds; n], &seeds, &device);
    let t = &cfg.train;
    let mut s = StepState::new(build_model::<W>(&cfg, &replicas(n), &device), t, None, &device);
    let order = data.epoch_order(0);
    let lrs: Vec<f64> = (1..=n).map(|r| 1e-3 * r as f64).collect();
    for k in 0..steps {
        train_step(&mut s, &data, &order, (k % 4) * 512, k, &lrs, t);
    }
    read_params(&s.model)
}

/// Asserts that each parameter's largest |a - b| over its largest |a| is at most `tol`, and
/// that each trainable one moved from the initial weights by far more than that difference.
pub fn compare(a: &BTreeMap<String, NamedTensor>, b: &BTreeMap<String, NamedTensor>, n: usize, tol: f64) {
    let initial = read_params(&build_model::<W>(&config(), &replicas(n), &Default::default()));
    for (name, p) in a {
        let f = &b[name].values;
        let scale = p.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = p.values.iter().zip(f).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale;
        assert!(err <= tol, "{name}: error {err:.1e} of its largest value");
        if p.trainable {
            let moved = p
                .values
                .iter()
                .zip(&initial[name].values)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                moved > 100.0 * err * scale,
                "{name}: moved {moved:.1e}, too little to compare"
            );
        }
    }
}
