//! `msym doctor`'s checks on deliberately broken models and configs: each check fails on
//! the breakage it is for, names what broke, and passes on the unbroken model.

use anchor_data::{Dataset, TaskConfig, generate};
use burn::backend::{Autodiff, NdArray};
use burn::module::Param;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use models::{Model, ParamVisitor, ReplicaInit, VisitParams, build_model, read_params, write_params};
use msym_config::{ConvKind, ExperimentConfig, Mamba2Config, ModelConfig};
use trainer::doctor::{self, Budgets, Check, MemoryProbe, Status};

type B = Autodiff<NdArray<f32>>;

/// A small composite task and Mamba2 (seconds per check on a CPU).
fn config() -> ExperimentConfig {
    let toml = r#"
        seed = 1
        [task]
        kind = "composite"
        n_samples = 3000
        [model]
        kind = "mamba2"
        depth = 2
        d_model = 16
        d_state = 16
        [train]
        batch_size = 128
        lr_peak = 1e-2
    "#;
    msym_config::parse(toml, "test.toml".as_ref(), &[]).unwrap().resolve()
}

fn data(cfg: &ExperimentConfig) -> Dataset {
    generate(&cfg.task, cfg.data_seed()).unwrap()
}

fn model(cfg: &ExperimentConfig) -> Model<B> {
    let init = [ReplicaInit {
        seed: cfg.seed,
        gamma: cfg.init.gamma,
    }];
    build_model::<B>(cfg, &init, &Default::default())
}

fn budgets() -> Budgets {
    Budgets {
        batch: 128,
        probe_batch: 64,
        overfit_samples: 10,
        overfit_steps: 200,
        nan_steps: 8,
        profile_steps: 1,
    }
}

fn all_checks(cfg: &ExperimentConfig) -> Vec<Check> {
    doctor::run::<B>(
        cfg,
        &data(cfg),
        &budgets(),
        &MemoryProbe::Resident,
        &Default::default(),
        &mut |_| {},
    )
}

fn status_of<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn every_check_passes_on_a_sound_model() {
    let checks = all_checks(&config());
    let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "shapes",
            "initialization",
            "gradient flow",
            "overfit",
            "profile",
            "NaN hunt"
        ]
    );
    for c in &checks {
        assert_eq!(c.status, Status::Pass, "{c}");
    }
    assert!(status_of(&checks, "profile").details[0].contains("peak resident memory"));
}

#[test]
fn a_model_with_a_smaller_vocabulary_than_the_labels_fails_the_shapes_check() {
    let cfg = config();
    let ds = data(&cfg);
    // Built from the same config but a vocabulary of 100: labels reach 109.
    let mut small = cfg.clone();
    if let TaskConfig::Composite(t) = &mut small.task {
        t.vocab_size = 100;
    }
    let c = doctor::shapes(&model(&small), &ds, 201, 64, &Default::default());
    assert_eq!(c.status, Status::Fail, "{c}");
    assert!(
        c.details
            .iter()
            .any(|d| d.contains("logits have 100 classes but task.vocab_size is 201")),
        "{c}"
    );
    assert!(
        c.details
            .iter()
            .any(|d| d.contains("labels lie outside the logits' 0..99")),
        "{c}"
    );
    assert!(c.hint.as_ref().unwrap().contains("at least 110"), "{c}");
    let ok = doctor::shapes(&model(&cfg), &ds, 201, 64, &Default::default());
    assert_eq!(ok.status, Status::Pass, "{ok}");
}

#[test]
fn a_weight_left_at_zero_or_at_unit_std_fails_the_init_check_by_name() {
    let cfg = config();
    let sound = model(&cfg);
    assert_eq!(doctor::init_std(&read_params(&sound), &cfg).status, Status::Pass);
    for (value, name) in [(0.0, "backbone.layers.1.mixer.in_proj.weight"), (1.0, "lm_head.weight")] {
        let mut m = model(&cfg);
        let params = read_params(&m);
        let n = params[name].values.len();
        // "Init not applied": the tensor keeps a constant (0) or a unit-std draw (what a
        // framework default of N(0, 1) would give), not d1^-gamma.
        let values: Vec<f64> = (0..n)
            .map(|i| {
                if value == 0.0 {
                    0.0
                } else {
                    (i as f64 * 0.7).sin() * 1.41
                }
            })
            .collect();
        let missing = write_params(&mut m, &|k| (k == name).then(|| values.clone()));
        assert_eq!(missing.len(), params.len() - 1);
        let c = doctor::init_std(&read_params(&m), &cfg);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(
            c.summary.contains(&format!(
                "1 of 8 weights more than 10% off d1^-gamma (rule first_dim, gamma 1): {name}"
            )),
            "{c}"
        );
    }
}

/// Freezes one parameter, as a forgotten `set_require_grad(false)` would.
struct Freeze(&'static str);

impl<Bk: Backend> ParamVisitor<Bk> for Freeze {
    fn visit<const D: usize>(&mut self, name: &str, _shape: &[usize], param: &mut Param<Tensor<Bk, D>>) {
        if name == self.0 {
            *param = param.clone().set_require_grad(false);
        }
    }
}

#[test]
fn a_frozen_layer_fails_gradient_flow_and_an_intended_frozen_kernel_does_not() {
    let cfg = config();
    let ds = data(&cfg);
    let mut m = model(&cfg);
    m.visit_params("", &mut Freeze("backbone.layers.0.mixer.out_proj.weight"));
    let c = doctor::grad_flow(&m, &ds, &cfg, 64, &Default::default());
    assert_eq!(c.status, Status::Fail, "{c}");
    assert_eq!(
        c.details,
        ["backbone.layers.0.mixer.out_proj.weight: frozen (requires no gradient), though the config trains it"]
    );
    let mut ones = cfg.clone();
    if let ModelConfig::Mamba2(Mamba2Config { conv, .. }) = &mut ones.model {
        *conv = ConvKind::AllOnesFrozen;
    }
    let c = doctor::grad_flow(&model(&ones), &ds, &ones, 64, &Default::default());
    assert_eq!(c.status, Status::Pass, "{c}");
    assert!(c.summary.contains("2 frozen by model.conv"), "{c}");
    assert_eq!(
        doctor::init_std(&read_params(&model(&ones)), &ones).status,
        Status::Pass
    );
}

#[test]
fn a_learning_rate_of_1e3_fails_the_nan_hunt_naming_a_layer_and_the_overfit_test() {
    let mut cfg = config();
    cfg.train.lr_peak = 1e3;
    let checks = all_checks(&cfg);
    let nan = status_of(&checks, "NaN hunt");
    assert_eq!(nan.status, Status::Fail, "{nan}");
    assert!(nan.summary.contains("first non-finite value at step"), "{nan}");
    assert!(nan.summary.contains("layer 0 (backbone.layers.0)"), "{nan}");
    assert!(nan.hint.as_ref().unwrap().contains("lower train.lr_peak"));
    let over = status_of(&checks, "overfit");
    assert_eq!(over.status, Status::Fail, "{over}");
    assert!(over.details[0].starts_with("loss curve: step 1:"), "{over}");
    for name in ["shapes", "initialization", "gradient flow"] {
        assert_eq!(status_of(&checks, name).status, Status::Pass);
    }
}

#[test]
fn a_learning_rate_too_small_to_move_fails_the_overfit_test_with_its_curve() {
    let mut cfg = config();
    cfg.train.lr_peak = 1e-9;
    let c = doctor::overfit(model(&cfg), &data(&cfg), &cfg, 10, 30, &Default::default());
    assert_eq!(c.status, Status::Fail, "{c}");
    assert!(c.details[0].contains("step 30:"), "{c}");
}

#[test]
fn a_gamma_whose_std_underflows_f32_fails_init_and_gradient_flow() {
    let mut cfg = config();
    cfg.init.gamma = 20.0;
    let checks = all_checks(&cfg);
    let init = status_of(&checks, "initialization");
    assert_eq!(init.status, Status::Fail, "{init}");
    assert!(init.hint.as_ref().unwrap().contains("below the smallest f32"), "{init}");
    let flow = status_of(&checks, "gradient flow");
    assert_eq!(flow.status, Status::Fail, "{flow}");
    assert!(flow.details.iter().any(|d| d.contains("exactly zero (dead)")), "{flow}");
}

#[test]
fn the_first_steps_replay_is_bitwise_reproducible_and_seed_dependent() {
    let cfg = config();
    let a = trainer::first_steps::first_steps::<B>(&cfg, 3, &Default::default()).unwrap();
    let b = trainer::first_steps::first_steps::<B>(&cfg, 3, &Default::default()).unwrap();
    assert_eq!(a, b);
    let mut other = cfg.clone();
    other.seed = 2;
    other.data_seed = Some(2);
    let c = trainer::first_steps::first_steps::<B>(&other, 3, &Default::default()).unwrap();
    assert_ne!(a.weights_digest, c.weights_digest);
    assert_ne!(a.losses, c.losses);
    assert!(a.losses.iter().all(|l| l.is_finite() && *l > 0.0));
}
