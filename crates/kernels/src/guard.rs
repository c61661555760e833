//! The NaN/Inf guard's step (trainer::guard) as one kernel: which replicas stay active, and
//! for those that stop at this step, the step, loss, learning rate and every parameter's
//! gradient norm. The plain ops take 21 launches of one or two cubes for this (is_nan, is_inf,
//! not, and, four mask_where, a fill, a sqrt, a cast to the optimizer's 0/1 mask; ncu at
//! depth 4, R = 1, results/bench/session27-h200-2026-11-29); at R = 1 each launch costs host
//! time, which sets the step there.
//!
//! Every output is a selection between two inputs, or a square root that IEEE rounds
//! exactly: the same bits as the plain ops (tests/guard_wgpu.rs checks them exactly).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// Units a cube.
const UNITS: u32 = 256;

/// The guard's state, each replica a row: active (1.0 where it trains, 0.0 where it stopped),
/// bad_step, bad_loss, bad_lr [R, 1] and bad_norms [R, P]. The same layout comes out.
#[derive(Debug, Clone)]
pub struct GuardState {
    pub active: Handle,
    pub bad_step: Handle,
    pub bad_loss: Handle,
    pub bad_lr: Handle,
    pub bad_norms: Handle,
}

/// One step's observations: loss, lr and the gradient's global norm [R, 1]; each parameter's
/// squared gradient norm [R, P].
#[derive(Debug, Clone)]
pub struct GuardInputs {
    pub loss: Handle,
    pub lr: Handle,
    pub norm: Handle,
    pub squared: Handle,
}

/// Unit (r, j) of [R, P]: replica r's decision, parameter j's norm; unit (r, 0) also writes
/// the replica's [R, 1] outputs. A replica stops when its loss or norm is NaN or infinite
/// while it is active; the values recorded are those of the step that stopped it.
#[allow(clippy::too_many_arguments)]
#[cube(launch)]
fn guard_kernel(
    loss: &Array<f32>,    // [R]
    lr: &Array<f32>,      // [R]
    norm: &Array<f32>,    // [R]
    squared: &Array<f32>, // [R, P]
    active: &Array<f32>,  // [R]
    bad_step: &Array<f32>,
    bad_loss: &Array<f32>,
    bad_lr: &Array<f32>,
    bad_norms: &Array<f32>, // [R, P]
    active_out: &mut Array<f32>,
    bad_step_out: &mut Array<f32>,
    bad_loss_out: &mut Array<f32>,
    bad_lr_out: &mut Array<f32>,
    bad_norms_out: &mut Array<f32>,
    params: u32,
    step: f32,
) {
    let pos = ABSOLUTE_POS;
    if pos < squared.len() {
        let p = params as usize;
        let r = pos / p;
        let (l, n) = (loss[r], norm[r]);
        let finite = !(f32::is_nan(l) || f32::is_inf(l) || f32::is_nan(n) || f32::is_inf(n));
        let was = active[r] == 1.0f32;
        let newly = was && !finite;
        let mut g = bad_norms[pos];
        if newly {
            g = f32::sqrt(squared[pos]);
        }
        bad_norms_out[pos] = g;
        if pos == r * p {
            let mut a = 0.0f32;
            if was && finite {
                a = 1.0f32;
            }
            active_out[r] = a;
            let (mut s, mut bl, mut blr) = (bad_step[r], bad_loss[r], bad_lr[r]);
            if newly {
                s = step;
                bl = l;
                blr = lr[r];
            }
            bad_step_out[r] = s;
            bad_loss_out[r] = bl;
            bad_lr_out[r] = blr;
        }
    }
}

/// The guard after one step, for R replicas and P parameters (all f32 handles of the sizes
/// [`GuardState`] and [`GuardInputs`] give); `step` is the step's number, recorded as f32 as
/// the plain ops' fill does.
pub fn guard_step<R: Runtime>(
    client: &ComputeClient<R>,
    replicas: usize,
    params: usize,
    state: &GuardState,
    x: &GuardInputs,
    step: f32,
) -> GuardState {
    let f = core::mem::size_of::<f32>();
    let (rs, n) = (replicas, replicas * params);
    let out = GuardState {
        active: client.empty(rs * f),
        bad_step: client.empty(rs * f),
        bad_loss: client.empty(rs * f),
        bad_lr: client.empty(rs * f),
        bad_norms: client.empty(n * f),
    };
    let cubes = n.div_ceil(UNITS as usize).max(1) as u32;
    guard_kernel::launch::<R>(
        client,
        CubeCount::Static(cubes, 1, 1),
        CubeDim::new_1d(UNITS),
        array_arg(&x.loss, rs),
        array_arg(&x.lr, rs),
        array_arg(&x.norm, rs),
        array_arg(&x.squared, n),
        array_arg(&state.active, rs),
        array_arg(&state.bad_step, rs),
        array_arg(&state.bad_loss, rs),
        array_arg(&state.bad_lr, rs),
        array_arg(&state.bad_norms, n),
        array_arg(&out.active, rs),
        array_arg(&out.bad_step, rs),
        array_arg(&out.bad_loss, rs),
        array_arg(&out.bad_lr, rs),
        array_arg(&out.bad_norms, n),
        params as u32,
        step,
    );
    out
}
