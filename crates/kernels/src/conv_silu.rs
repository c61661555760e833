//! The Mamba2 conv stage as two kernels: out = SiLU(causal depthwise conv(x) + bias), forward
//! and backward, in place of the ~40 plain ops a layer (`models::ops::conv_silu`: padding,
//! K shifted products, their sum, the bias, SiLU, and the autodiff nodes of each).
//!
//! Symbols as `models::ops::causal_conv`: pre[t, c] = bias[c] + sum_k w[c, k] x[t - (K-1) + k, c]
//! with x = 0 before the sequence (tap K-1 weighs the current token), out = pre * sigma(pre).
//! Backward, with g the upstream gradient and gp = g * SiLU'(pre),
//! SiLU'(u) = sigma(u) (1 + u (1 - sigma(u))):
//!   dx[t, c]   = sum_k w[c, k] gp[t + (K-1) - k, c]       (terms with t + (K-1) - k < L)
//!   dw[c, k]   = sum over sequences and t of gp[t, c] x[t - (K-1) + k, c]
//!   dbias[c]   = sum over sequences and t of gp[t, c]
//! dw and dbias are sums over every token of a replica: the kernel writes one partial sum per
//! group of sequences ([R, G, C, K] and [R, G, C]), and the caller sums over G (the same
//! split as `models::grouped`, for the same reason: a sum into few outputs on few threads
//! is the slow kernel of the profile).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// The sizes of one conv launch. Arrays are row-major: x, out, dx [R, B, L, C] (x's token
/// rows may be longer than C: [`ConvInputs::x_row`]); w [R, C, K]; bias [R, C].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub replicas: usize,
    pub batch: usize,
    pub len: usize,
    pub channels: usize,
    pub taps: usize,
}

impl ConvShape {
    /// Elements of x (and out, dx).
    pub fn x_len(&self) -> usize {
        self.replicas * self.batch * self.len * self.channels
    }
    /// Elements of an x whose token rows are `x_row` apart that the kernels may read: the
    /// last token's row ends at its C-th element.
    pub fn x_extent(&self, x_row: usize) -> usize {
        let tokens = self.replicas * self.batch * self.len;
        tokens.saturating_sub(1) * x_row + self.channels
    }
    /// Elements of w.
    pub fn w_len(&self) -> usize {
        self.replicas * self.channels * self.taps
    }
    /// Elements of bias.
    pub fn bias_len(&self) -> usize {
        self.replicas * self.channels
    }
    /// Sequence groups of the backward's partial sums: the largest divisor of B not above
    /// sqrt(B x L), so that a unit's loop (B / G sequences of L tokens) and the sum over G
    /// are about equally long (G = 128 for the fig3 batch of 2048 x 8).
    pub fn groups(&self) -> usize {
        let cap = (self.batch * self.len).isqrt().max(1);
        (1..=cap.min(self.batch))
            .rev()
            .find(|g| self.batch.is_multiple_of(*g))
            .unwrap_or(1)
    }
}

/// Units per cube (one channel each): a warp pair; the channel blocks are the cube grid's y.
const UNITS: usize = 64;

fn channel_blocks(s: &ConvShape) -> u32 {
    s.channels.div_ceil(UNITS) as u32
}

/// A unit's channel c of replica r, held in registers: its K taps w[c, ..] and its bias.
#[derive(CubeType)]
pub(crate) struct Taps<F: Float> {
    w: Array<F>,
    bias: F,
}

/// Loads channel c's taps and bias (w [R, C, K], bias [R, C]) into registers.
#[cube]
pub(crate) fn load_taps<F: Float>(
    w: &Array<F>,
    bias: &Array<F>,
    r: usize,
    c: usize,
    channels: usize,
    #[comptime] k: usize,
) -> Taps<F> {
    let wc = (r * channels + c) * k;
    let mut wk = Array::<F>::new(k);
    #[unroll]
    for kk in 0..k {
        wk[kk] = w[wc + kk];
    }
    Taps::<F> {
        w: wk,
        bias: bias[r * channels + c],
    }
}

/// Sequence p's L inputs x[t, c] at channel c (token rows `row` apart) into registers: each
/// read once, where a unit that reads its K taps' inputs anew for every output reads each
/// input K times. Why: the fused conv + SSD forward, which convolved that way, issued an
/// instruction in 82% of its cycles with DRAM at 18% (ncu,
/// results/bench/session18-h200-2026-11-28/call2); in registers the conv kernels ran 1.08x
/// at depth 2, R = 9 and 36 (call 3).
#[cube]
pub(crate) fn load_column<F: Float>(x: &Array<F>, p: usize, c: usize, row: usize, #[comptime] l: usize) -> Array<F> {
    let mut xs = Array::<F>::new(l);
    #[unroll]
    for t in 0..l {
        xs[t] = x[(p * l + t) * row + c];
    }
    xs
}

/// pre[t] = bias + sum_k w[k] x[t - (K-1) + k] of one channel (x = 0 before the sequence:
/// tap K-1 weighs the current token), summed from the bias over k in order, as every conv
/// kernel here sums it (so they give the same bits).
#[cube]
pub(crate) fn pre_activations<F: Float>(
    taps: &Taps<F>,
    xs: &Array<F>,
    #[comptime] l: usize,
    #[comptime] k: usize,
) -> Array<F> {
    let mut pre = Array::<F>::new(l);
    #[unroll]
    for t in 0..l {
        let mut acc = taps.bias;
        #[unroll]
        for kk in 0..k {
            // the input token t - (K-1) + kk exists only when t + kk >= K - 1
            if comptime!(t + kk >= k - 1) {
                acc += taps.w[kk] * xs[comptime!(t + kk - (k - 1))];
            }
        }
        pre[t] = acc;
    }
    pre
}

/// SiLU(pre) = pre sigma(pre), written as the forward kernel writes it.
#[cube]
pub(crate) fn silu<F: Float>(pre: F) -> F {
    let sig = F::new(1.0) / (F::new(1.0) + F::exp(-pre));
    pre * sig
}

/// g SiLU'(pre) = g sigma (1 + pre (1 - sigma)), written as the backward kernel writes it.
#[cube]
pub(crate) fn silu_grad<F: Float>(g: F, pre: F) -> F {
    let sig = F::new(1.0) / (F::new(1.0) + F::exp(-pre));
    g * sig * (F::new(1.0) + pre * (F::new(1.0) - sig))
}

/// One channel's backward over one sequence, in registers: gp[t] = g[t] SiLU'(pre[t]) from
/// the upstream gradient `g` and the inputs `xs`; adds gp into `db` and gp x into `dw`
/// (token by token, taps in order), and returns dx[t] = sum_k w[k] gp[t + (K-1) - k].
#[cube]
pub(crate) fn column_backward<F: Float>(
    taps: &Taps<F>,
    xs: &Array<F>,
    g: &Array<F>,
    dw: &mut Array<F>,
    db: &mut F,
    #[comptime] l: usize,
    #[comptime] k: usize,
) -> Array<F> {
    let pre = pre_activations(taps, xs, l, k);
    let mut gp = Array::<F>::new(l);
    #[unroll]
    for t in 0..l {
        let gpt = silu_grad::<F>(g[t], pre[t]);
        gp[t] = gpt;
        *db += gpt;
        #[unroll]
        for kk in 0..k {
            if comptime!(t + kk >= k - 1) {
                dw[kk] += gpt * xs[comptime!(t + kk - (k - 1))];
            }
        }
    }
    let mut dx = Array::<F>::new(l);
    #[unroll]
    for t in 0..l {
        let mut s = F::new(0.0);
        #[unroll]
        for kk in 0..k {
            // dx[t] takes gp at t' = t + (K-1) - kk, the token whose tap kk reads t
            if comptime!(t + (k - 1) - kk < l) {
                s += taps.w[kk] * gp[comptime!(t + (k - 1) - kk)];
            }
        }
        dx[t] = s;
    }
    dx
}

/// One unit per (sequence p = CUBE_POS_X, channel c); it walks the L tokens in registers.
#[cube(launch)]
fn conv_silu_forward_kernel<F: Float>(
    x: &Array<F>,       // [R, B, L, C], token rows `row` apart
    w: &Array<F>,       // [R, C, K]
    bias: &Array<F>,    // [R, C]
    out: &mut Array<F>, // [R, B, L, C]
    batch: u32,
    channels: u32,
    row: u32,
    #[comptime] l: usize,
    #[comptime] k: usize,
) {
    let p = CUBE_POS_X as usize;
    let r = p / (batch as usize);
    let ch = channels as usize;
    let c = CUBE_POS_Y as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    if c < ch {
        let taps = load_taps(w, bias, r, c, ch, k);
        let pre = pre_activations(&taps, &load_column(x, p, c, row as usize, l), l, k);
        #[unroll]
        for t in 0..l {
            out[(p * l + t) * ch + c] = silu::<F>(pre[t]);
        }
    }
}

/// One unit per (replica r and sequence group g = CUBE_POS_X, channel c): for each of the
/// group's sequences it takes its channel's L tokens through [`column_backward`] in
/// registers, writing dx and adding to its partial sums of dw and dbias.
#[cube(launch)]
fn conv_silu_backward_kernel<F: Float>(
    x: &Array<F>,           // [R, B, L, C], token rows `row` apart
    w: &Array<F>,           // [R, C, K]
    bias: &Array<F>,        // [R, C]
    g: &Array<F>,           // [R, B, L, C], the upstream gradient
    dx: &mut Array<F>,      // [R, B, L, C]
    dw_part: &mut Array<F>, // [R, G, C, K]
    db_part: &mut Array<F>, // [R, G, C]
    batch: u32,
    channels: u32,
    row: u32,
    groups: u32,
    #[comptime] l: usize,
    #[comptime] k: usize,
    #[comptime] units: usize,
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let grp = rg % gs;
    let bsz = batch as usize;
    let per = bsz / gs;
    let ch = channels as usize;
    let xr = row as usize;
    let c = CUBE_POS_Y as usize * units + UNIT_POS_X as usize;
    if c < ch {
        let taps = load_taps(w, bias, r, c, ch, k);
        let mut dw = Array::<F>::new(k);
        #[unroll]
        for kk in 0..k {
            dw[kk] = F::new(0.0);
        }
        let mut db = F::new(0.0);
        for b in grp * per..(grp + 1) * per {
            let p = r * bsz + b;
            let xs = load_column(x, p, c, xr, l);
            let gs_col = load_column(g, p, c, ch, l);
            let d = column_backward(&taps, &xs, &gs_col, &mut dw, &mut db, l, k);
            #[unroll]
            for t in 0..l {
                dx[(p * l + t) * ch + c] = d[t];
            }
        }
        let part = (r * gs + grp) * ch + c;
        #[unroll]
        for kk in 0..k {
            dw_part[part * k + kk] = dw[kk];
        }
        db_part[part] = db;
    }
}

/// The device arrays of one conv launch (sizes in [`ConvShape`]).
#[derive(Debug, Clone)]
pub struct ConvInputs {
    pub x: Handle,
    pub w: Handle,
    pub bias: Handle,
    /// Elements from one token's row of x to the next: C for a contiguous x, more where
    /// the rows are padded. Why: on CUDA a new tensor's rows are pitched (cubecl-runtime
    /// 0.10 pads xBC's 320 floats to 384), so a contiguous copy of xBC for this kernel cost
    /// 1.4 ms a layer at R = 36 (results/bench/paths-h200-2026-11-27).
    pub x_row: usize,
}

impl ConvInputs {
    fn args<R: Runtime>(&self, s: &ConvShape) -> [ArrayArg<R>; 3] {
        [
            array_arg(&self.x, s.x_extent(self.x_row)),
            array_arg(&self.w, s.w_len()),
            array_arg(&self.bias, s.bias_len()),
        ]
    }
}

/// out = SiLU(conv(x) + bias) [R, B, L, C]. The input handles must hold the sizes of `shape`
/// (the launch is bounds-checked: a short handle reads zeros, not another buffer).
pub fn conv_silu_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &ConvShape,
    inp: &ConvInputs,
) -> Handle {
    let out = client.empty(shape.x_len() * core::mem::size_of::<F>());
    let [x, w, bias] = inp.args::<R>(shape);
    conv_silu_forward_kernel::launch::<F, R>(
        client,
        CubeCount::Static((shape.replicas * shape.batch) as u32, channel_blocks(shape), 1),
        CubeDim::new_1d(UNITS as u32),
        x,
        w,
        bias,
        array_arg(&out, shape.x_len()),
        shape.batch as u32,
        shape.channels as u32,
        inp.x_row as u32,
        shape.len,
        shape.taps,
    );
    out
}

/// What [`conv_silu_backward`] returns: dx [R, B, L, C] whole, dw and dbias as partial sums
/// over the G = [`ConvShape::groups`] sequence groups ([R, G, C, K] and [R, G, C]).
#[derive(Debug)]
pub struct ConvGrads {
    pub dx: Handle,
    pub dw_part: Handle,
    pub db_part: Handle,
}

/// The gradients of sum(g * out) with respect to x, w and bias.
pub fn conv_silu_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &ConvShape,
    inp: &ConvInputs,
    g: &Handle,
) -> ConvGrads {
    let f = core::mem::size_of::<F>();
    let groups = shape.groups();
    let parts = shape.replicas * groups * shape.channels;
    let grads = ConvGrads {
        dx: client.empty(shape.x_len() * f),
        dw_part: client.empty(parts * shape.taps * f),
        db_part: client.empty(parts * f),
    };
    let [x, w, bias] = inp.args::<R>(shape);
    conv_silu_backward_kernel::launch::<F, R>(
        client,
        CubeCount::Static((shape.replicas * groups) as u32, channel_blocks(shape), 1),
        CubeDim::new_1d(UNITS as u32),
        x,
        w,
        bias,
        array_arg(g, shape.x_len()),
        array_arg(&grads.dx, shape.x_len()),
        array_arg(&grads.dw_part, parts * shape.taps),
        array_arg(&grads.db_part, parts),
        shape.batch as u32,
        shape.channels as u32,
        inp.x_row as u32,
        groups as u32,
        shape.len,
        shape.taps,
        UNITS,
    );
    grads
}
