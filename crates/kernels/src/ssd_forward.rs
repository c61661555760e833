//! SSD forward: y = S (dt * x) + D x for every sequence, one cube per sequence.

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::ssd_common::{c_dot_b, decay_prefix};
use crate::ssd_staged_forward::ssd_forward_staged_kernel;
use crate::{SsdInputs, SsdShape, array_arg};

/// One cube per sequence p = r * B + b (CUBE_POS_X); its units stride over the L x L entries
/// of S, then over the E channels of y. `l` is comptime: it sizes the shared arrays.
#[cube(launch)]
fn ssd_forward_kernel<F: Float>(
    xbc: &Array<F>,   // [R, B, L, E + 2N]
    dt: &Array<F>,    // [R, B, L]
    a: &Array<F>,     // [R]
    d: &Array<F>,     // [R]
    y: &mut Array<F>, // [R, B, L, E]
    batch: u32,
    e_dim: u32,
    n_dim: u32,
    #[comptime] l: usize,
) {
    let p = CUBE_POS_X as usize;
    let r = p / (batch as usize);
    let e = e_dim as usize;
    let n = n_dim as usize;
    let row = e + 2 * n;
    let step = CUBE_DIM_X as usize;
    let mut cs = SharedMemory::<F>::new(l); // cs_t = sum_{r<=t} A dt_r
    let mut dts = SharedMemory::<F>::new(l);
    let mut sm = SharedMemory::<F>::new(l * l); // S[t, s], zero above the diagonal
    decay_prefix(dt, a[r], p, &mut cs, &mut dts, l);
    sync_cube();
    let mut i = UNIT_POS_X as usize;
    while i < l * l {
        let t = i / l;
        let s = i % l;
        let mut v = F::new(0.0);
        if s <= t {
            let g = c_dot_b(xbc, p, t, s, e, n, l);
            // cs_t - cs_s <= 0 on and below the diagonal (A < 0, dt > 0): exp cannot overflow
            v = g * F::exp(cs[t] - cs[s]);
        }
        sm[i] = v;
        i += step;
    }
    sync_cube();
    let dv = d[r];
    let mut j = UNIT_POS_X as usize;
    while j < e {
        for t in 0..l {
            let mut acc = dv * xbc[(p * l + t) * row + j];
            for s in 0..t + 1 {
                acc += sm[t * l + s] * dts[s] * xbc[(p * l + s) * row + j];
            }
            y[(p * l + t) * e + j] = acc;
        }
        j += step;
    }
}

/// Launches the forward kernel with `units` per cube (None: [`SsdShape::default_units`]) and
/// returns y [R, B, L, E], with S for the backward where `keep` and the kernel is the staged
/// one (crate::ssd_staged_forward, the same bits), which runs where the client's shared memory
/// holds a staged sequence ([`SsdShape::stages`]); else this file's. The input handles must
/// hold the sizes of `shape`: the staged launch, which skips the bounds test of each access,
/// panics where one is short; the other is bounds-checked (a short handle reads zeros rather
/// than another buffer).
pub fn ssd_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &SsdShape,
    inp: &SsdInputs,
    units: Option<u32>,
    keep: bool,
) -> SsdForward {
    ssd_forward_with::<R, F>(client, shape, inp, units, shape.stages::<R, F>(client), keep)
}

/// [`ssd_forward`] with the kernel chosen by the caller (`staged`: the staged kernel, which
/// needs [`SsdShape::staged_bytes`] of shared memory): for the tests that compare the two.
pub fn ssd_forward_as<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &SsdShape,
    inp: &SsdInputs,
    units: Option<u32>,
    staged: bool,
) -> Handle {
    ssd_forward_with::<R, F>(client, shape, inp, units, staged, false).y
}

/// The forward's y [R, B, L, E], and S [R, B, L, L] where the staged kernel kept it.
#[derive(Debug, Clone)]
pub struct SsdForward {
    pub y: Handle,
    pub scores: Option<Handle>,
}

/// [`ssd_forward_as`], with the staged kernel also keeping S for the backward where `keep`
/// (crate::ssd_backward_with reads it; the unstaged kernel keeps nothing).
pub fn ssd_forward_with<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &SsdShape,
    inp: &SsdInputs,
    units: Option<u32>,
    staged: bool,
    keep: bool,
) -> SsdForward {
    let size = core::mem::size_of::<F>();
    let y = client.empty(shape.x_len() * size);
    let keep = keep && staged;
    let scores = keep.then(|| client.empty(shape.scores_len() * size));
    let [xbc, dt, a, d] = inp.args::<R>(shape);
    let cubes = CubeCount::Static(shape.samples() as u32, 1, 1);
    let units = units.unwrap_or_else(|| shape.default_units());
    let dim = CubeDim::new_1d(units);
    let y_arg = array_arg(&y, shape.x_len());
    if staged {
        inp.assert_sizes(shape, core::mem::size_of::<F>());
        // SAFETY: every index the staged kernel forms lies below the lengths of `shape`
        // (one cube a sequence, its L rows; tests/ssd_wgpu.rs checks the kernel on several
        // shapes), and every handle holds those lengths (asserted above; y is made here).
        // Unchecked, its loads and stores skip the bounds test that a checked launch adds to
        // each: the kernel is bound by issuing instructions (ncu, session 20 call 1).
        unsafe {
            ssd_forward_staged_kernel::launch_unchecked::<F, R>(
                client,
                cubes,
                dim,
                xbc,
                dt,
                a,
                d,
                y_arg,
                // where nothing is kept the kernel never touches this argument: one element
                // stands in (not y, which would bind one buffer twice as writable)
                match &scores {
                    Some(h) => array_arg(h, shape.scores_len()),
                    None => array_arg(&client.empty(size), 1),
                },
                shape.batch as u32,
                shape.len,
                shape.e,
                shape.n,
                units as usize,
                keep,
            );
        }
    } else {
        ssd_forward_kernel::launch::<F, R>(
            client,
            cubes,
            dim,
            xbc,
            dt,
            a,
            d,
            y_arg,
            shape.batch as u32,
            shape.e as u32,
            shape.n as u32,
            shape.len,
        );
    }
    SsdForward { y, scores }
}
