//! The guard's kernel (kernels::guard, through kernels::burn_op_guard) on lavapipe against the
//! guard's rule written out on the host in f32: the same bits, for a replica that trains on,
//! one whose loss turns NaN, one whose norm turns infinite, and one that stopped before (its
//! record stays as it was), over two steps.

use burn::tensor::Tensor;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_guard::{GuardTensors, guard_step_tensors};

mod common;
use common::{require_vulkan, tensor};

type Plain = CubeBackend<WgpuRuntime, f32, i32, u32>;

/// The guard's state on the host: active, bad_step, bad_loss, bad_lr [R]; bad_norms [R, P].
#[derive(Debug, Clone, PartialEq)]
struct Host {
    active: Vec<f32>,
    bad_step: Vec<f32>,
    bad_loss: Vec<f32>,
    bad_lr: Vec<f32>,
    bad_norms: Vec<f32>,
}

/// trainer::guard's rule: a replica stops when its loss or norm is not finite while it
/// trains, and keeps the step, loss, lr and sqrt(squared) of that step.
fn oracle(s: &Host, loss: &[f32], lr: &[f32], norm: &[f32], squared: &[f32], step: usize) -> Host {
    let mut out = s.clone();
    let p = squared.len() / loss.len();
    for r in 0..loss.len() {
        let finite = loss[r].is_finite() && norm[r].is_finite();
        let was = s.active[r] == 1.0;
        let newly = was && !finite;
        out.active[r] = if was && finite { 1.0 } else { 0.0 };
        if newly {
            out.bad_step[r] = step as f32;
            out.bad_loss[r] = loss[r];
            out.bad_lr[r] = lr[r];
            for j in 0..p {
                out.bad_norms[r * p + j] = squared[r * p + j].sqrt();
            }
        }
    }
    out
}

fn up(v: &[f32], cols: usize) -> Tensor<Plain, 2> {
    let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
    tensor::<Plain, 2>(&v, [v.len() / cols, cols], &WgpuDevice::default())
}

fn down(t: Tensor<Plain, 2>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

/// Bit patterns, so that NaN compares equal to NaN.
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn run(s: &Host, loss: &[f32], lr: &[f32], norm: &[f32], squared: &[f32], step: usize) -> Host {
    let p = squared.len() / loss.len();
    let state = GuardTensors {
        active: up(&s.active, 1),
        bad_step: up(&s.bad_step, 1),
        bad_loss: up(&s.bad_loss, 1),
        bad_lr: up(&s.bad_lr, 1),
        bad_norms: up(&s.bad_norms, p),
    };
    let out = guard_step_tensors(state, up(loss, 1), up(lr, 1), up(norm, 1), up(squared, p), step);
    Host {
        active: down(out.active),
        bad_step: down(out.bad_step),
        bad_loss: down(out.bad_loss),
        bad_lr: down(out.bad_lr),
        bad_norms: down(out.bad_norms),
    }
}

fn same(got: &Host, want: &Host, what: &str) {
    for (name, g, w) in [
        ("active", &got.active, &want.active),
        ("bad_step", &got.bad_step, &want.bad_step),
        ("bad_loss", &got.bad_loss, &want.bad_loss),
        ("bad_lr", &got.bad_lr, &want.bad_lr),
        ("bad_norms", &got.bad_norms, &want.bad_norms),
    ] {
        assert_eq!(bits(g), bits(w), "{what}: {name} {g:?} against {w:?}");
    }
}

#[test]
fn the_guard_kernel_keeps_the_rule_bit_for_bit() {
    require_vulkan();
    let (r, p) = (4, 3);
    // replica 3 stopped at step 2 before
    let start = Host {
        active: vec![1.0, 1.0, 1.0, 0.0],
        bad_step: vec![-1.0, -1.0, -1.0, 2.0],
        bad_loss: vec![0.0, 0.0, 0.0, f32::NAN],
        bad_lr: vec![0.0, 0.0, 0.0, 3e-4],
        bad_norms: (0..r * p)
            .map(|i| if i >= 3 * p { 0.5 + i as f32 } else { 0.0 })
            .collect(),
    };
    let squared: Vec<f32> = (0..r * p).map(|i| 0.37 * i as f32 + 0.011).collect();
    let lr = [1e-3, 2e-3, 3e-3, 4e-3];
    // step 7: replica 1's loss is NaN, replica 2's norm infinite, replica 3's loss NaN again
    let loss = [2.5, f32::NAN, 1.25, f32::NAN];
    let norm = [0.7, 0.9, f32::INFINITY, 0.3];
    let want = oracle(&start, &loss, &lr, &norm, &squared, 7);
    assert_eq!(
        want.active,
        vec![1.0, 0.0, 0.0, 0.0],
        "the oracle stops replicas 1 and 2"
    );
    let got = run(&start, &loss, &lr, &norm, &squared, 7);
    same(&got, &want, "step 7");
    // step 8: replica 0's loss is -inf now; 1-3 keep their records
    let loss = [f32::NEG_INFINITY, 1.0, 1.0, 1.0];
    let norm = [0.1, 0.1, 0.1, 0.1];
    let want = oracle(&got, &loss, &lr, &norm, &squared, 8);
    let got = run(&got, &loss, &lr, &norm, &squared, 8);
    same(&got, &want, "step 8");
    assert_eq!(got.bad_step, vec![8.0, 7.0, 7.0, 2.0]);
}
