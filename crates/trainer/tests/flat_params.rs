//! The step keeps the parameters' flat row (crate::flat) from one update to the next instead
//! of laying the model's parameters end to end again (one copy kernel per parameter tensor
//! a step). That row must be the model's parameters bit for bit: four steps with it give the
//! same weights, to the bit, as four steps that re-read the model every time
//! (`StepState::model_changed` before each), and so do steps after a model_changed in the
//! middle (what a checkpoint resume does).

use burn::backend::{Autodiff, NdArray};
use models::{ReplicaInit, build_model, read_params};
use msym_config::ExperimentConfig;
use trainer::data::DeviceData;
use trainer::step::{StepState, train_step};

type B = Autodiff<NdArray<f32>>;

fn config() -> ExperimentConfig {
    let text = "[task]\nkind = \"composite\"\nn_samples = 3000\n[model]\nkind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4\n\
         [train]\nbatch_size = 512\n";
    msym_config::parse(text, std::path::Path::new("t.toml"), &[])
        .unwrap()
        .resolve()
}

/// The weights after `steps` steps; `reread(k)` says whether step k re-reads the model.
fn train(steps: usize, reread: impl Fn(usize) -> bool) -> std::collections::BTreeMap<String, models::NamedTensor> {
    let cfg = config();
    let device = Default::default();
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    let ds = anchor_data::generate(&cfg.task, 1).unwrap();
    let data = DeviceData::<B>::new(&[ds.clone(), ds], &[1, 2], &device);
    let t = &cfg.train;
    let mut s = StepState::new(build_model::<B>(&cfg, &replicas, &device), t, None, &device);
    let order = data.epoch_order(0);
    for k in 0..steps {
        if reread(k) {
            s.model_changed();
        }
        train_step(&mut s, &data, &order, (k % 4) * 512, k, &[1e-3, 2e-3], t);
    }
    read_params(&s.model)
}

#[test]
fn the_kept_row_is_the_models_parameters_bit_for_bit() {
    let kept = train(4, |_| false);
    let reread = train(4, |_| true);
    let resumed = train(4, |k| k == 2);
    let initial = read_params(&build_model::<B>(
        &config(),
        &[ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }],
        &Default::default(),
    ));
    for (name, p) in &kept {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&p.values),
            bits(&reread[name].values),
            "{name}: kept row against re-read"
        );
        assert_eq!(
            bits(&p.values),
            bits(&resumed[name].values),
            "{name}: kept row against a model_changed at step 2"
        );
        if p.trainable {
            assert_ne!(
                p.values, initial[name].values,
                "{name} did not move: the steps compared nothing"
            );
        }
    }
}
