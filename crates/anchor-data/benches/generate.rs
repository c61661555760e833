//! Seconds to generate the paper-size datasets (300 000 composite samples, 100 000 inverse
//! matching samples). Run with `cargo bench -p anchor-data`; prints min and median of 7 runs.

use std::time::Instant;

use anchor_data::{CompositeTask, FullSymmetryTask, InverseMatchingTask, TaskConfig, generate};

fn time(name: &str, task: &TaskConfig) {
    let mut secs: Vec<f64> = (0..7)
        .map(|seed| {
            let start = Instant::now();
            let ds = generate(task, seed).expect("valid task");
            let t = start.elapsed().as_secs_f64();
            std::hint::black_box(ds.len());
            t
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    println!(
        "{name:<28} n={:<7} min {:.3} s  median {:.3} s",
        task.n_samples(),
        secs[0],
        secs[3]
    );
}

fn main() {
    time("composite", &TaskConfig::Composite(CompositeTask::default()));
    time("full_symmetry", &TaskConfig::FullSymmetry(FullSymmetryTask::default()));
    time(
        "inverse_matching",
        &TaskConfig::InverseMatching(InverseMatchingTask::default()),
    );
    let start = Instant::now();
    let ds = generate(&TaskConfig::Composite(CompositeTask::default()), 1).expect("valid task");
    let digest = ds.digest();
    println!(
        "composite generate + blake3 digest: {:.3} s ({digest})",
        start.elapsed().as_secs_f64()
    );
}
