//! in_proj's xBC rows and the conv stage in one forward kernel: xbc = u W^T, then
//! out = SiLU(causal depthwise conv(xbc) + bias), writing xbc (the conv backward's input) and
//! out, where the block ran a TF32 product [R, B L, D] x [R, D, C] into pitched rows and the
//! conv kernel read them back.
//!
//! Why: at fig3's size (d_model 32, C = 320, depth 4, R = 36 on an H200) the xBC product took
//! 0.45 ms a layer forward for an output it writes at about 2 TB/s, and the conv forward
//! 0.42 ms reading it again (results/bench/NOTES.md, sessions 19 and 21). Here each unit holds
//! one sequence's L tokens of `per` channels in registers: per step over D it reads L values
//! of u (staged in shared memory, the same for every unit of the sequence) and `per` of the
//! weight, then makes L x per multiply-adds, and the conv runs on the registers.
//!
//! Rounding: xbc[t, c] = sum over d in order of u[t, d] w[c, d], from zero, in f32 (a fused
//! multiply-add on CUDA), where burn's product on tensor cores rounds u and w to TF32. So the
//! path changes the bits of a run: it is an A/B switch until measured (models::fused_proj_conv).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::conv_silu::{ConvShape, load_taps, pre_activations, silu};
use crate::ssd_common::stage_rows;
use crate::{array_arg, assert_holds};

/// The sizes of one launch: the conv's (its channels C are in_proj's xBC rows) and d_model.
/// Arrays: u [R, B, L, D] (token rows may be longer than D: `u_row`), wt [R, D, C] (the xBC
/// rows of in_proj's weight, transposed), w [R, C, K], bias [R, C]; xbc, out [R, B, L, C].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjConvShape {
    pub conv: ConvShape,
    pub d_model: usize,
}

impl ProjConvShape {
    /// The shape of u [R, B, L, D] and a conv of C channels and K taps.
    pub const fn new(replicas: usize, batch: usize, len: usize, channels: usize, taps: usize, d_model: usize) -> Self {
        Self {
            conv: ConvShape {
                replicas,
                batch,
                len,
                channels,
                taps,
            },
            d_model,
        }
    }
    /// Channels a unit: [`crate::PROJ_CONV_PER`]'s where set and a divisor of C, else 2
    /// where C is even, else 1. Measured at fig3's 320 channels, depth 4, R = 36 on an H200
    /// (ncu, results/bench/session22-h200-2026-11-28, call 3): 2 a unit 0.70 ms a launch at 62
    /// registers and 44% occupancy; 5 a unit 0.75 ms at 128 registers and 24%; 4 a unit
    /// 0.94 ms (80 slots: a part-empty third warp); 1 a unit 1.14 ms (320 slots: two cubes a
    /// sequence, the second a quarter full).
    pub fn per_unit(&self) -> usize {
        let c = self.conv.channels;
        crate::PROJ_CONV_PER
            .get()
            .map(|p| p as usize)
            .filter(|p| c.is_multiple_of(*p))
            .unwrap_or(if c.is_multiple_of(2) { 2 } else { 1 })
    }
    /// The steps over D that the kernel unrolls: [`crate::PROJ_CONV_UNROLL`]'s where set
    /// and a divisor of D, else all of D.
    pub fn chunk(&self) -> usize {
        let d = self.d_model;
        crate::PROJ_CONV_UNROLL
            .get()
            .map(|k| k as usize)
            .filter(|k| d.is_multiple_of(*k))
            .unwrap_or(d)
    }
    /// Units a sequence: C / per; unit i takes channels i, i + C/per, ..., so that a warp's
    /// stores of one channel slot are contiguous.
    pub fn units_per_sequence(&self) -> usize {
        self.conv.channels / self.per_unit()
    }
    /// Elements of a u whose token rows are `u_row` apart that the kernel may read.
    pub fn u_extent(&self, u_row: usize) -> usize {
        let s = &self.conv;
        (s.replicas * s.batch * s.len).saturating_sub(1) * u_row + self.d_model
    }
    /// Elements of wt.
    pub fn wt_len(&self) -> usize {
        self.conv.replicas * self.d_model * self.conv.channels
    }
}

/// One cube per (sequence p = CUBE_POS_X, block of `units` channel slots = CUBE_POS_Y); unit
/// i of the sequence takes channels i + j C/per for j < per. The sequence's L rows of u go to
/// shared memory first ([`stage_rows`]): every unit reads all of them, and a comptime index into
/// shared memory is one instruction, where each global read of u took its address arithmetic
/// and the checked launch's bounds test (the first form, global reads and D a runtime loop,
/// ran 1.17 ms a layer at depth 4, R = 36 on an H200 against 0.42 + 0.45 ms for the conv and
/// the product it replaces: results/bench/session22-h200-2026-11-28, call 1).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn proj_conv_silu_forward_kernel<F: Float>(
    u: &Array<F>,       // [R, B, L, D], token rows `u_row` apart
    wt: &Array<F>,      // [R, D, C]
    w: &Array<F>,       // [R, C, K]
    bias: &Array<F>,    // [R, C]
    xbc: &mut Array<F>, // [R, B, L, C]
    out: &mut Array<F>, // [R, B, L, C]
    batch: u32,
    channels: u32,
    u_row: u32,
    #[comptime] l: usize,
    #[comptime] d: usize,
    #[comptime] k: usize,
    #[comptime] per: usize,
    #[comptime] chunk: usize,
    #[comptime] units: usize,
) {
    let p = CUBE_POS_X as usize;
    let r = p / (batch as usize);
    let ch = channels as usize;
    let slots = ch / per;
    let mut us = SharedMemory::<F>::new(comptime!(l * (d + 1))); // u's rows, d + 1 apart
    stage_rows(u, p * l * (u_row as usize), u_row as usize, &mut us, l, d, units);
    sync_cube();
    let i = CUBE_POS_Y as usize * units + UNIT_POS_X as usize;
    if i < slots {
        // acc[t per + j]: token t of channel i + j slots
        let mut acc = Array::<F>::new(comptime!(l * per));
        #[unroll]
        for a in 0..comptime!(l * per) {
            acc[a] = F::new(0.0);
        }
        let wbase = r * d * ch + i;
        // D in steps of `chunk`, each unrolled: the compiler hoists an unrolled step's weight
        // loads ahead of its multiply-adds, so a whole-D unroll holds more registers
        for d0 in 0..comptime!(d / chunk) {
            #[unroll]
            for dq in 0..chunk {
                let dd = d0 * chunk + dq;
                let mut wj = Array::<F>::new(per);
                #[unroll]
                for j in 0..per {
                    wj[j] = wt[wbase + dd * ch + j * slots];
                }
                #[unroll]
                for t in 0..l {
                    let ut = us[t * comptime!(d + 1) + dd];
                    #[unroll]
                    for j in 0..per {
                        acc[comptime!(t * per + j)] += ut * wj[j];
                    }
                }
            }
        }
        #[unroll]
        for j in 0..per {
            let mut xs = Array::<F>::new(l);
            #[unroll]
            for t in 0..l {
                xs[t] = acc[comptime!(t * per + j)];
            }
            conv_column_out(&xs, w, bias, xbc, out, r, i + j * slots, ch, p * l, l, k, true);
        }
    }
}

/// One channel column of a sequence: writes out = SiLU(conv(xs) + bias) at token rows row0..
/// of out [.., C], and where `keep`, its L xbc values `xs` into xbc alike; ch is the channel,
/// r the replica.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_column_out<F: Float>(
    xs: &Array<F>,
    w: &Array<F>,
    bias: &Array<F>,
    xbc: &mut Array<F>,
    out: &mut Array<F>,
    r: usize,
    ch: usize,
    channels: usize,
    row0: usize,
    #[comptime] l: usize,
    #[comptime] k: usize,
    #[comptime] keep: bool,
) {
    if comptime!(keep) {
        #[unroll]
        for t in 0..l {
            xbc[(row0 + t) * channels + ch] = xs[t];
        }
    }
    let taps = load_taps(w, bias, r, ch, channels, k);
    let pre = pre_activations(&taps, xs, l, k);
    #[unroll]
    for t in 0..l {
        out[(row0 + t) * channels + ch] = silu::<F>(pre[t]);
    }
}

/// The device arrays of one launch (sizes in [`ProjConvShape`]).
#[derive(Debug, Clone)]
pub struct ProjConvInputs {
    pub u: Handle,
    /// Elements from one token's row of u to the next (D where contiguous).
    pub u_row: usize,
    pub wt: Handle,
    pub w: Handle,
    pub bias: Handle,
}

impl ProjConvInputs {
    /// Panics, naming the array, where a handle holds fewer elements of `size` bytes than
    /// `shape` reads (the launch is unchecked).
    pub(crate) fn assert_sizes(&self, shape: &ProjConvShape, size: usize) {
        let s = &shape.conv;
        assert!(
            self.u_row >= shape.d_model,
            "proj_conv: u's rows ({}) are shorter than D ({})",
            self.u_row,
            shape.d_model
        );
        assert_holds(&self.u, shape.u_extent(self.u_row), size, "u");
        assert_holds(&self.wt, shape.wt_len(), size, "wt");
        assert_holds(&self.w, s.w_len(), size, "w");
        assert_holds(&self.bias, s.bias_len(), size, "bias");
    }
}

/// What the forward writes: out = SiLU(conv(xbc) + bias) [R, B, L, C], and what its backward
/// needs besides the inputs.
#[derive(Debug)]
pub struct ProjConvOut {
    pub out: Handle,
    pub kept: Kept,
}

/// The forward's state for the backward: xbc = u W^T itself [R, B, L, C] (the CUDA-core form;
/// the conv backward reads it), or W^T rounded to TF32 [R, D, C] (the tensor-core form, whose
/// backward forms xbc again from u: [`crate::proj_conv_mma_backward`]), which saves writing
/// xbc forward and reading it backward.
#[derive(Debug, Clone)]
pub enum Kept {
    Xbc(Handle),
    RoundedWt(Handle),
}

/// Units a cube: a sequence's slots rounded up to a warp, at most 256 (more slots take more
/// cubes along y).
fn units(s: &ProjConvShape) -> usize {
    (s.units_per_sequence().div_ceil(32) * 32).min(256)
}

/// out of `shape`, keeping xbc or the rounded W^T ([`Kept`]): on tensor cores ([`crate::proj_conv_mma`]) for f32 where the
/// runtime has TF32 products and the shape fits them, unless [`crate::PROJ_CONV_MMA`] is off;
/// else on the CUDA cores in f32. Panics where an input handle holds less than `shape` reads (the
/// launch is unchecked).
pub fn proj_conv_silu_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &ProjConvShape,
    inp: &ProjConvInputs,
) -> ProjConvOut {
    let s = &shape.conv;
    if core::any::TypeId::of::<F>() == core::any::TypeId::of::<f32>() && crate::proj_conv_mma::chosen(client, shape) {
        let res = crate::proj_conv_mma::forward(client, shape, inp, false);
        return ProjConvOut {
            out: res.out,
            kept: Kept::RoundedWt(res.wt),
        };
    }
    let bytes = s.x_len() * core::mem::size_of::<F>();
    let (xbc, out) = (client.empty(bytes), client.empty(bytes));
    let units = units(shape);
    inp.assert_sizes(shape, core::mem::size_of::<F>());
    // SAFETY: every index the kernel forms lies below the lengths of `shape` (a cube's
    // sequence and its channels; the staging reads the sequence's L rows of D, and slots past
    // C / per write nothing; tests/proj_conv_wgpu.rs checks shapes with part-empty cubes), and
    // every handle holds those lengths (asserted above; xbc and out are made here). Unchecked,
    // its loads and stores skip the bounds test that a checked launch adds to each.
    unsafe {
        proj_conv_silu_forward_kernel::launch_unchecked::<F, R>(
            client,
            CubeCount::Static(
                (s.replicas * s.batch) as u32,
                shape.units_per_sequence().div_ceil(units) as u32,
                1,
            ),
            CubeDim::new_1d(units as u32),
            array_arg(&inp.u, shape.u_extent(inp.u_row)),
            array_arg(&inp.wt, shape.wt_len()),
            array_arg(&inp.w, s.w_len()),
            array_arg(&inp.bias, s.bias_len()),
            array_arg(&xbc, s.x_len()),
            array_arg(&out, s.x_len()),
            s.batch as u32,
            s.channels as u32,
            inp.u_row as u32,
            s.len,
            shape.d_model,
            s.taps,
            shape.per_unit(),
            shape.chunk(),
            units,
        );
    }
    ProjConvOut {
        out,
        kept: Kept::Xbc(xbc),
    }
}
