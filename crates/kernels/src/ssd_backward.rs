//! SSD backward: the gradients of sum(dy * y) with respect to x, dt, A, B, C and D, one cube
//! per sequence. With u_s = dt_s x_s and XY[t, s] = dy_t . x_s:
//!   dS[t, s] = dt_s XY[t, s]                       (s <= t)
//!   dx_s     = dt_s sum_{t>=s} S[t, s] dy_t + D dy_s
//!   dC_t     = sum_{s<=t} dS[t, s] W[t, s] B_s,    dB_s = sum_{t>=s} dS[t, s] W[t, s] C_t
//!   dcs_k    = sum_{s<=k} P[k, s] - sum_{t>=k} P[t, k],  P = dS * S   (S = G W, W = exp(cs_t - cs_s))
//!   d(a_r)   = sum_{t>=r} dcs_t                    (a_r = A dt_r feeds cs_t for t >= r)
//!   ddt_r    = sum_{t>=r} S[t, r] XY[t, r] + A d(a_r),   dA = sum_r dt_r d(a_r),   dD = sum_t XY[t, t]
//! dA and dD come out per sequence ([R * B]); the caller sums each replica's B of them.

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::ssd_common::{c_dot_b, decay_prefix, decay_scan, decay_terms};
use crate::ssd_staged_backward::ssd_backward_staged_kernel;
use crate::{SsdInputs, SsdShape, array_arg};

#[cube(launch)]
fn ssd_backward_kernel<F: Float>(
    xbc: &Array<F>,         // [R, B, L, E + 2N]
    dt: &Array<F>,          // [R, B, L]
    a: &Array<F>,           // [R]
    d: &Array<F>,           // [R]
    dy: &Array<F>,          // [R, B, L, E]
    dxbc: &mut Array<F>,    // [R, B, L, E + 2N]: dx | dB | dC
    ddt: &mut Array<F>,     // [R, B, L]
    da_part: &mut Array<F>, // [R * B]
    dd_part: &mut Array<F>, // [R * B]
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
    let av = a[r];
    let mut cs = SharedMemory::<F>::new(l);
    let mut dts = SharedMemory::<F>::new(l);
    let mut w = SharedMemory::<F>::new(l * l); // W[t, s]
    let mut sm = SharedMemory::<F>::new(l * l); // S[t, s]
    let mut xy = SharedMemory::<F>::new(l * l); // XY[t, s]
    let mut dcs = SharedMemory::<F>::new(l);
    let mut via = SharedMemory::<F>::new(l);
    decay_prefix(dt, av, p, &mut cs, &mut dts, l);
    sync_cube();
    let mut i = UNIT_POS_X as usize;
    while i < l * l {
        let t = i / l;
        let s = i % l;
        let mut wv = F::new(0.0);
        let mut sv = F::new(0.0);
        let mut xyv = F::new(0.0);
        if s <= t {
            let g = c_dot_b(xbc, p, t, s, e, n, l);
            wv = F::exp(cs[t] - cs[s]);
            sv = g * wv;
            for j in 0..e {
                xyv += dy[(p * l + t) * e + j] * xbc[(p * l + s) * row + j];
            }
        }
        w[i] = wv;
        sm[i] = sv;
        xy[i] = xyv;
        i += step;
    }
    sync_cube();
    decay_terms(&dts, &xy, &sm, &mut dcs, &mut via, l);
    let dv = d[r];
    let mut j = UNIT_POS_X as usize;
    while j < e {
        for s in 0..l {
            let mut du = F::new(0.0);
            for t in s..l {
                du += sm[t * l + s] * dy[(p * l + t) * e + j];
            }
            dxbc[(p * l + s) * row + j] = dts[s] * du + dv * dy[(p * l + s) * e + j];
        }
        j += step;
    }
    // unit q handles dC[t, k] and dB[s = t, k]
    let mut q = UNIT_POS_X as usize;
    while q < l * n {
        let t = q / n;
        let k = q % n;
        let mut gc = F::new(0.0);
        for s in 0..t + 1 {
            gc += dts[s] * xy[t * l + s] * w[t * l + s] * xbc[(p * l + s) * row + e + k];
        }
        dxbc[(p * l + t) * row + e + n + k] = gc;
        let mut gb = F::new(0.0);
        for t2 in t..l {
            gb += dts[t] * xy[t2 * l + t] * w[t2 * l + t] * xbc[(p * l + t2) * row + e + n + k];
        }
        dxbc[(p * l + t) * row + e + k] = gb;
        q += step;
    }
    sync_cube();
    if UNIT_POS_X == 0 {
        decay_scan(&dts, &xy, &dcs, &via, av, p, ddt, da_part, dd_part, l);
    }
}

/// The gradients, on the device: dxbc [R, B, L, E + 2N] (dx | dB | dC, xbc's layout), ddt
/// [R, B, L], and dA and dD per sequence [R * B] (sum each replica's B entries for [R]).
#[derive(Debug, Clone)]
pub struct SsdGrads {
    pub dxbc: Handle,
    pub ddt: Handle,
    pub da_part: Handle,
    pub dd_part: Handle,
}

/// Launches the backward kernel for the upstream gradient `dy` [R, B, L, E] (units, and the
/// staged kernel where it fits, as in [`crate::ssd_forward`]), reading S from `scores` where
/// that forward kept it.
pub fn ssd_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &SsdShape,
    inp: &SsdInputs,
    dy: &Handle,
    units: Option<u32>,
    scores: Option<&Handle>,
) -> SsdGrads {
    ssd_backward_with::<R, F>(client, shape, inp, dy, units, shape.stages::<R, F>(client), scores)
}

/// [`ssd_backward`] with the kernel chosen by the caller, as [`crate::ssd_forward_as`].
pub fn ssd_backward_as<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &SsdShape,
    inp: &SsdInputs,
    dy: &Handle,
    units: Option<u32>,
    staged: bool,
) -> SsdGrads {
    ssd_backward_with::<R, F>(client, shape, inp, dy, units, staged, None)
}

/// [`ssd_backward_as`], with the staged kernel reading S from `scores` [R, B, L, L] (as
/// [`crate::ssd_forward_with`] kept it) where given, instead of forming it: the same bits.
/// Panics where `scores` is given to the unstaged kernel or is short.
pub fn ssd_backward_with<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &SsdShape,
    inp: &SsdInputs,
    dy: &Handle,
    units: Option<u32>,
    staged: bool,
    scores: Option<&Handle>,
) -> SsdGrads {
    assert!(staged || scores.is_none(), "kept SSD scores need the staged backward");
    let size = core::mem::size_of::<F>();
    let g = SsdGrads {
        dxbc: client.empty(shape.xbc_len() * size),
        ddt: client.empty(shape.dt_len() * size),
        da_part: client.empty(shape.samples() * size),
        dd_part: client.empty(shape.samples() * size),
    };
    let [xbc, dt, a, d] = inp.args::<R>(shape);
    let cubes = CubeCount::Static(shape.samples() as u32, 1, 1);
    let units = units.unwrap_or_else(|| shape.default_units());
    let dim = CubeDim::new_1d(units);
    let outs = (
        array_arg(dy, shape.x_len()),
        array_arg(&g.dxbc, shape.xbc_len()),
        array_arg(&g.ddt, shape.dt_len()),
        array_arg(&g.da_part, shape.samples()),
        array_arg(&g.dd_part, shape.samples()),
    );
    if staged {
        inp.assert_sizes(shape, size);
        crate::assert_holds(dy, shape.x_len(), size, "dy");
        if let Some(h) = scores {
            crate::assert_holds(h, shape.scores_len(), size, "scores");
        }
        // SAFETY: as the staged forward's launch (crate::ssd_forward): the kernel's indices
        // lie below the lengths of `shape`, which the inputs hold (asserted above) and the
        // outputs were made with.
        unsafe {
            ssd_backward_staged_kernel::launch_unchecked::<F, R>(
                client,
                cubes,
                dim,
                xbc,
                dt,
                a,
                d,
                // without kept scores the kernel never reads this argument: dy stands in
                match scores {
                    Some(h) => array_arg(h, shape.scores_len()),
                    None => array_arg(dy, shape.x_len()),
                },
                outs.0,
                outs.1,
                outs.2,
                outs.3,
                outs.4,
                shape.batch as u32,
                shape.len,
                shape.e,
                shape.n,
                units as usize,
                scores.is_some(),
            );
        }
    } else {
        ssd_backward_kernel::launch::<F, R>(
            client,
            cubes,
            dim,
            xbc,
            dt,
            a,
            d,
            outs.0,
            outs.1,
            outs.2,
            outs.3,
            outs.4,
            shape.batch as u32,
            shape.e as u32,
            shape.n as u32,
            shape.len,
        );
    }
    g
}
