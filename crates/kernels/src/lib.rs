//! Fused CubeCL kernels for the Mamba2 block (issue 8: the step is bound by hundreds of small
//! elementwise kernels; results/bench/NOTES.md has the profile).
//!
//! The first pair is the SSD of one layer, forward and backward, one cube per sequence:
//! the sequences are 8 tokens long, so S [L, L], the decays and every reduction over L fit
//! in shared memory, and one launch replaces the ~60 kernels of the plain-op version
//! (`models::ssd::ssd_quadratic` and its autodiff backward).
//!
//! Symbols as in `models::ssd` (SPEC 2.1): x_t [E], B_t, C_t [N] (read from one row of xbc,
//! the block's post-conv tensor), dt_t > 0, A < 0 (one head, per replica), D the skip; a_t = A dt_t, cs_t = sum_{r<=t} a_r,
//! S[t, s] = (C_t . B_s) exp(cs_t - cs_s) for s <= t, y_t = sum_{s<=t} S[t, s] dt_s x_s + D x_t.
//!
//! [`burn_op`] makes the pair one burn operation with its own backward on the CubeCL
//! backends. The tests check the kernels against the f64 recurrence of [`oracle`] and its
//! finite differences, and the burn operation's gradients against the same.
//!
//! The second pair is the conv stage, SiLU(causal depthwise conv + bias), in [`conv_silu`]
//! (oracle: [`conv_oracle`]; burn operation: [`burn_op_conv`]).
//!
//! The third is the gated RMSNorm after the SSD, RMSNorm(y * SiLU(z)) * w, in [`gated_norm`]
//! (oracle: [`gated_norm_oracle`]; burn operation: [`burn_op_norm`]); without the gate it is
//! the plain RMSNorm.
//!
//! The conv stage and the SSD also come fused into one pair, [`conv_ssd`], which keeps the
//! post-conv tensor and its gradient on chip (the same bits as the two pairs in turn).
//! And in_proj's xBC rows come with the conv stage's forward in one kernel, [`proj_conv`]
//! (burn operation: [`burn_op_proj_conv`], whose backward is the conv's kernels and two
//! products), so the product's output is written once and not read back. On a GPU with TF32
//! tensor cores it takes [`proj_conv_mma`]'s form (the same bits as burn's product and the
//! conv apart), whose backward forms xBC again from u ([`proj_conv_mma_backward`]): those are
//! tested on the GPU machine (tests/*_cuda.rs; lavapipe has no tensor cores).
//!
//! The fourth is the token embedding, a lookup and its scatter-sum gradient, in [`embed`]
//! (burn operation: [`burn_op_embed`]; the tests' oracle is a host table lookup).
//!
//! The fifth is the loss at the last position, each sample's cross-entropy and its gradient,
//! in [`cross_entropy`] (burn operation: [`burn_op_ce`]; the tests' oracle is the f64
//! definition).
//!
//! [`burn_op_matmul`] is no kernel of ours: it launches cubek's SimpleUnit matmul, which
//! multiplies in f32 where burn's own matmul rounds f32 inputs to TF32 on tensor cores, or
//! another cubek kernel chosen for an A/B run.

pub mod adamw;
mod burn_common;
pub mod burn_op;
pub mod burn_op_adamw;
pub mod burn_op_ce;
pub mod burn_op_conv;
pub mod burn_op_conv_ssd;
pub mod burn_op_dt;
pub mod burn_op_embed;
pub mod burn_op_guard;
pub mod burn_op_linear;
pub mod burn_op_matmul;
pub mod burn_op_norm;
pub mod burn_op_proj_conv;
pub mod burn_op_rows;
pub mod conv_oracle;
pub mod conv_silu;
pub mod conv_ssd;
mod conv_ssd_backward;
mod conv_ssd_forward;
pub mod cross_entropy;
pub mod dt_proj;
pub mod embed;
pub mod gated_norm;
pub mod gated_norm_oracle;
pub mod guard;
pub mod linear;
pub mod oracle;
pub mod proj_conv;
pub mod proj_conv_mma;
pub mod proj_conv_mma_backward;
pub mod proj_grads_mma;
mod ssd_backward;
mod ssd_common;
mod ssd_forward;
mod ssd_staged_backward;
mod ssd_staged_forward;

pub use ssd_backward::{SsdGrads, ssd_backward, ssd_backward_as, ssd_backward_with};
pub use ssd_forward::{SsdForward, ssd_forward, ssd_forward_as, ssd_forward_with};

use cubecl::prelude::{ArrayArg, Runtime};
use cubecl::server::Handle;

/// The sizes of one SSD launch. Arrays are contiguous, row-major: xbc [R, B, L, E + 2N], the
/// SSM's input as the block makes it (x in columns 0..E, B in E..E+N, C in E+N..E+2N; read in
/// place, so neither the three slices nor their gradients are ever copied apart); y [R, B, L, E];
/// dt [R, B, L]; a, d [R].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsdShape {
    pub replicas: usize,
    pub batch: usize,
    pub len: usize,
    pub e: usize,
    pub n: usize,
}

impl SsdShape {
    /// Sequences, one cube each: R * B.
    pub fn samples(&self) -> usize {
        self.replicas * self.batch
    }
    /// Elements of y (and dy; x's share of xbc).
    pub fn x_len(&self) -> usize {
        self.samples() * self.len * self.e
    }
    /// Elements of b (and of c: each one's share of xbc).
    pub fn bc_len(&self) -> usize {
        self.samples() * self.len * self.n
    }
    /// A row of xbc: E + 2N.
    pub fn row(&self) -> usize {
        self.e + 2 * self.n
    }
    /// Elements of xbc (and dxbc).
    pub fn xbc_len(&self) -> usize {
        self.samples() * self.len * self.row()
    }
    /// Elements of dt (and ddt).
    pub fn dt_len(&self) -> usize {
        self.samples() * self.len
    }
    /// Elements of S [R, B, L, L], as the staged forward keeps it for the backward.
    pub fn scores_len(&self) -> usize {
        self.samples() * self.len * self.len
    }
    /// Units per cube when the caller does not choose: enough for the widest loop (E, L x N
    /// or L x L), rounded up to a warp, at most 128 where a sequence's xbc has at most 4096
    /// elements, else at most 256. At fig3's sizes (8 x 320) 128 units ran the staged kernels
    /// 6% faster than 256 (forward 319 -> 300 us, backward 626 -> 592 us a depth-4, R = 36
    /// launch on an H200; 1.01x a step at depth 2, R = 36); at fig7's (29 x 512, whose shared
    /// memory holds 2 cubes an SM) 10-26% slower (session 25, calls 4-5).
    pub fn default_units(&self) -> u32 {
        let widest = self.e.max(self.len * self.n).max(self.len * self.len);
        let cap = if self.len * self.row() <= 4096 { 128 } else { 256 };
        (widest.div_ceil(32) * 32).min(cap) as u32
    }
    /// Shared memory of a cube of the staged kernels (the backward's, the larger) for elements
    /// of `size` bytes: the sequence's L rows of xbc and of dy, each padded by one element,
    /// the L x L matrices S, P and XY, and dt, cs and the decay's two sums a position.
    pub fn staged_bytes(&self, size: usize) -> usize {
        let l = self.len;
        (l * (self.row() + 1) + l * (self.e + 1) + 3 * l * l + 4 * l) * size
    }
    /// Whether `client`'s shared memory holds a cube of the staged kernels for elements of F:
    /// where it does, [`ssd_forward`] and [`ssd_backward`] launch them (one answer for both,
    /// from the backward's larger need).
    pub fn stages<R: Runtime, F>(&self, client: &cubecl::prelude::ComputeClient<R>) -> bool {
        self.staged_bytes(core::mem::size_of::<F>()) <= client.properties().hardware.max_shared_memory_size
    }
}

/// The inputs of one SSD launch, on the device (sizes in [`SsdShape`]).
#[derive(Debug, Clone)]
pub struct SsdInputs {
    pub xbc: Handle,
    pub dt: Handle,
    pub a: Handle,
    pub d: Handle,
}

/// Units a cube of the SSD kernels as [`burn_op`] launches them, forward and backward (0: the
/// shape's [`SsdShape::default_units`]). For A/B runs of the launch shape alone (msym reads
/// MSYM_SSD_UNITS): the outputs are the same bits whatever the units, since every output is
/// summed by one unit in one order (tests/ssd_wgpu.rs checks it).
static SSD_UNITS: [core::sync::atomic::AtomicU32; 2] = [
    core::sync::atomic::AtomicU32::new(0),
    core::sync::atomic::AtomicU32::new(0),
];

/// Sets the units a cube of the SSD kernels' burn operation (0: the default), for this process.
pub fn set_ssd_units(forward: u32, backward: u32) {
    use core::sync::atomic::Ordering::Relaxed;
    SSD_UNITS[0].store(forward, Relaxed);
    SSD_UNITS[1].store(backward, Relaxed);
}

/// The units set by [`set_ssd_units`]: (forward, backward), None where left to the default.
pub fn ssd_units() -> (Option<u32>, Option<u32>) {
    use core::sync::atomic::Ordering::Relaxed;
    let get = |k: usize| Some(SSD_UNITS[k].load(Relaxed)).filter(|u| *u > 0);
    (get(0), get(1))
}

/// One process-wide launch setting of a kernel, for A/B runs (msym reads it from its
/// environment variable at start, models::launch_shape): a count, 0 meaning the kernel's
/// default. None of these changes a bit, only how the kernel cuts its work.
#[derive(Debug)]
pub struct LaunchSetting(core::sync::atomic::AtomicU32);

impl LaunchSetting {
    const fn new() -> Self {
        Self(core::sync::atomic::AtomicU32::new(0))
    }

    /// Sets the count (0: back to the kernel's default).
    pub fn set(&self, count: u32) {
        self.0.store(count, core::sync::atomic::Ordering::Relaxed);
    }

    /// The count set, None where left to the default.
    pub fn get(&self) -> Option<u32> {
        Some(self.0.load(core::sync::atomic::Ordering::Relaxed)).filter(|k| *k > 0)
    }
}

/// Channels a unit of the fused xBC product + conv forward (MSYM_PROJ_CONV_PER; default:
/// [`proj_conv::ProjConvShape::per_unit`]'s rule): every xbc element is the same sum whatever
/// the tiling (tests/proj_conv_wgpu.rs).
pub static PROJ_CONV_PER: LaunchSetting = LaunchSetting::new();

/// Steps over D that the fused xBC product + conv forward unrolls at once
/// (MSYM_PROJ_CONV_UNROLL; default: all of D, [`proj_conv::ProjConvShape::chunk`]): the sums
/// keep their order (tests/proj_conv_wgpu.rs).
pub static PROJ_CONV_UNROLL: LaunchSetting = LaunchSetting::new();

/// Groups of TM tokens (TM = lcm(L, 16)) a cube of the fused xBC product + conv forward's
/// tensor-core form takes in turn (MSYM_PROJ_CONV_ROUNDS; default 16,
/// [`proj_conv_mma`]): each group's products and conv are the same whatever the count.
pub static PROJ_CONV_ROUNDS: LaunchSetting = LaunchSetting::new();

/// Whether the fused xBC product + conv forward takes its tensor-core form where it can
/// ([`proj_conv_mma::chosen`]; MSYM_PROJ_CONV_MMA=0 turns it off for an A/B run against the
/// CUDA-core form, which sums in f32 and so gives other bits).
pub static PROJ_CONV_MMA: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);

/// Whether the xBC product's two gradients after the fused product + conv's tensor-core
/// backward come from one tensor-core kernel that reads dxbc once
/// ([`proj_grads_mma::product_grads_mma`], MSYM_PROJ_CONV_GRADS=1), where the shape allows
/// it, or from burn's two products (the default). Other bits either way (other sums). Off by
/// default: 0.99-1.00x at depth 2, R = 36 on an H200 (session 24, calls 6-7).
pub static PROJ_CONV_GRADS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether the staged SSD forward keeps S [R, B, L, L] for the staged backward, which then
/// reads it instead of forming it again (MSYM_SSD_SCORES=0 turns it off for an A/B run): the
/// same products, so the same bits either way (tests/ssd_wgpu.rs).
pub static SSD_KEEP_SCORES: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);

/// Whether the operations here sum their kernels' per-group partials (dw_part [R, G, ..] over
/// G, dA's and dD's per-sequence values) with [`linear::sum_groups`], one unit an output in
/// group order, instead of burn's reduction (the same bits: both walk the groups in order).
/// Why: at R = 1 each of burn's reductions costs the host about 10-14 us (its set-up, and a
/// copy of the device properties a launch) against about 3 for a small kernel, and about 60
/// of them ran a step at depth 4 (host profile, results/bench/session27-h200-2026-11-29,
/// call 5). On since its H200 A/B (results/bench/session28-h200-2026-11-29, call 1): the same
/// bits over five epochs of nine fig3 cells (`sums-check`, as burn's: tests/linear_cuda.rs),
/// 1.01x at R = 36; MSYM_GROUP_SUMS=0 turns it off.
pub static GROUP_SUMS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);

/// Tokens a unit of the gated norm backward takes a batch, at most (MSYM_NORM_BWD_PER_UNIT;
/// default: [`gated_norm::BACKWARD_PER_UNIT`]): the tiling changes no bit (tests/norm_wgpu.rs).
pub static NORM_BACKWARD_PER_UNIT: LaunchSetting = LaunchSetting::new();

/// Token groups a replica for the kernels that walk a replica's T tokens one cube a group
/// (the gated norm's, the embedding's): the largest divisor of T not above sqrt(T), so that
/// a cube's loop over its tokens and the caller's sum of the partials over G are about
/// equally long (G = 128 for fig3's 2048 x 8 tokens).
pub(crate) fn token_groups(tokens: usize) -> usize {
    let cap = tokens.isqrt().max(1);
    (1..=cap).rev().find(|g| tokens.is_multiple_of(*g)).unwrap_or(1)
}

/// The launch of those kernels: one cube per (replica, token group), `units` units a cube.
pub(crate) fn token_group_cubes(
    replicas: usize,
    tokens: usize,
    units: usize,
) -> (cubecl::prelude::CubeCount, cubecl::prelude::CubeDim) {
    (
        cubecl::prelude::CubeCount::Static((replicas * token_groups(tokens)) as u32, 1, 1),
        cubecl::prelude::CubeDim::new_1d(units as u32),
    )
}

/// `h` as a kernel argument of `len` elements.
pub(crate) fn array_arg<R: Runtime>(h: &Handle, len: usize) -> ArrayArg<R> {
    // SAFETY: `len` is the element count that the launch's `SsdShape` gives this array, and
    // the launches are bounds-checked (`#[cube(launch)]`, not `launch_unchecked`), so a short
    // handle reads zeros rather than another buffer.
    unsafe { ArrayArg::from_raw_parts(h.clone(), len) }
}

/// Panics unless `h` holds `len` elements of `size` bytes (`what` names it): the staged SSD
/// kernels launch unchecked and rely on it.
pub(crate) fn assert_holds(h: &Handle, len: usize, size: usize, what: &str) {
    let need = (len * size) as u64;
    assert!(
        h.size_in_used() >= need,
        "kernel launch: {what} holds {} bytes where the shape needs {need}",
        h.size_in_used()
    );
}

impl SsdInputs {
    /// Panics unless xbc, dt, a and d hold the sizes of `s` in elements of `size` bytes.
    pub(crate) fn assert_sizes(&self, s: &SsdShape, size: usize) {
        assert_holds(&self.xbc, s.xbc_len(), size, "xbc");
        assert_holds(&self.dt, s.dt_len(), size, "dt");
        assert_holds(&self.a, s.replicas, size, "a");
        assert_holds(&self.d, s.replicas, size, "d");
    }

    /// xbc, dt, a, d as kernel arguments, in the kernels' order.
    pub(crate) fn args<R: Runtime>(&self, s: &SsdShape) -> [ArrayArg<R>; 4] {
        [
            array_arg(&self.xbc, s.xbc_len()),
            array_arg(&self.dt, s.dt_len()),
            array_arg(&self.a, s.replicas),
            array_arg(&self.d, s.replicas),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::SsdShape;

    fn shape(len: usize, e: usize, n: usize) -> SsdShape {
        SsdShape {
            replicas: 1,
            batch: 1,
            len,
            e,
            n,
        }
    }

    #[test]
    fn the_default_units_follow_the_widest_loop_and_the_sequence_size() {
        // fig3 (L 8, E 64, N 128: 2560 elements a sequence) takes 128; fig7 (L 29, E 256,
        // N 128) 256; a small shape its widest loop rounded up to a warp
        assert_eq!(shape(8, 64, 128).default_units(), 128);
        assert_eq!(shape(29, 256, 128).default_units(), 256);
        assert_eq!(shape(8, 16, 4).default_units(), 64);
        assert_eq!(shape(3, 20, 2).default_units(), 32);
        // 4096 elements is the last size at 128, one more row of them 256
        assert_eq!(shape(8, 256, 128).default_units(), 128);
        assert_eq!(shape(9, 256, 128).default_units(), 256);
    }
}
