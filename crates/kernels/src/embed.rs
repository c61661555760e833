//! The token embedding as two kernels: the lookup out[r, t] = w[r, tok[r, t]] and its
//! gradient dw[r, v] = sum of g[r, t] over the tokens t with tok[r, t] = v. In place of the
//! one-hot product (`models::embed::embed`): a compare and a cast over [R, B, L, V] and a
//! matmul forward, a matmul backward, about 1.65 ms a step at R = 36 on an H200 whatever the
//! depth (results/bench/session12-h200-2026-11-27).
//!
//! One cube per (replica, token group), one unit per channel, as the gated norm's kernels.
//! The gradient is a scatter: each cube writes its own partial table [V, D] of dw_part
//! [R, G, V, D] (zeroed by the cube first), each unit its own channel, adding its tokens in
//! order, so no two units write one element and no atomics are needed: the sums repeat their
//! bits. The caller sums over G.
//!
//! Tokens are i32 (burn's int element on the CubeCL backends this project builds). A token
//! outside 0..V embeds as zeros and gets no gradient, as in the one-hot product (the model's
//! data never holds one: anchor-data checks its tokens against the vocabulary).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::array_arg;

/// The sizes of one launch. Arrays are contiguous, row-major: tokens [R, T] (T = B L tokens a
/// replica), w and dw [R, V, D], out and g [R, T, D].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedShape {
    pub replicas: usize,
    pub tokens: usize,
    pub vocab: usize,
    pub d: usize,
}

/// The widest D one cube takes (one unit a channel).
pub const MAX_D: usize = 256;

impl EmbedShape {
    /// Elements of tokens.
    pub fn tok_len(&self) -> usize {
        self.replicas * self.tokens
    }
    /// Elements of out (and g).
    pub fn x_len(&self) -> usize {
        self.tok_len() * self.d
    }
    /// Elements of w (and dw).
    pub fn w_len(&self) -> usize {
        self.replicas * self.vocab * self.d
    }
    /// Token groups a replica, as the gated norm's ([`crate::token_groups`]).
    pub fn groups(&self) -> usize {
        crate::token_groups(self.tokens)
    }
    /// Elements of dw_part [R, G, V, D].
    pub fn part_len(&self) -> usize {
        self.replicas * self.groups() * self.vocab * self.d
    }
    /// Whether one cube can take a token (D units).
    pub fn fits(&self) -> bool {
        self.d > 0 && self.d <= MAX_D
    }
}

/// Cube (replica r, group g) = CUBE_POS_X, unit i = UNIT_POS_X (one channel).
#[cube(launch)]
fn embed_forward_kernel<F: Float>(
    tokens: &Array<i32>, // [R, T]
    w: &Array<F>,        // [R, V, D]
    out: &mut Array<F>,  // [R, T, D]
    tokens_per: u32,
    groups: u32,
    vocab: u32,
    #[comptime] d: usize,
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let per = tokens_per as usize / gs;
    let i = UNIT_POS_X as usize;
    let first = r * (tokens_per as usize) + (rg % gs) * per;
    for t in first..first + per {
        let v = tokens[t];
        let mut x = F::new(0.0);
        if v >= 0 && (v as u32) < vocab {
            x = w[(r * (vocab as usize) + v as usize) * d + i];
        }
        out[t * d + i] = x;
    }
}

/// The same cubes: the cube's partial table zeroed, then each token's gradient row added to
/// its token's row, unit i on channel i.
#[cube(launch)]
fn embed_backward_kernel<F: Float>(
    tokens: &Array<i32>,    // [R, T]
    g: &Array<F>,           // [R, T, D], the upstream gradient
    dw_part: &mut Array<F>, // [R, G, V, D]
    tokens_per: u32,
    groups: u32,
    vocab: u32,
    #[comptime] d: usize,
) {
    let rg = CUBE_POS_X as usize;
    let gs = groups as usize;
    let r = rg / gs;
    let per = tokens_per as usize / gs;
    let i = UNIT_POS_X as usize;
    let table = rg * (vocab as usize) * d;
    for v in 0..vocab as usize {
        dw_part[table + v * d + i] = F::new(0.0);
    }
    let first = r * (tokens_per as usize) + (rg % gs) * per;
    for t in first..first + per {
        let v = tokens[t];
        if v >= 0 && (v as u32) < vocab {
            let at = table + (v as usize) * d + i;
            dw_part[at] = dw_part[at] + g[t * d + i];
        }
    }
}

fn launch_dims(s: &EmbedShape) -> (CubeCount, CubeDim) {
    assert!(s.fits(), "embed: D = {} is not in 1..={MAX_D}", s.d);
    crate::token_group_cubes(s.replicas, s.tokens, s.d)
}

/// out [R, T, D] = w[r, tokens[r, t]]. `tokens` holds i32, `w` F; the handles must hold the
/// sizes of `shape`.
pub fn embed_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &EmbedShape,
    tokens: &Handle,
    w: &Handle,
) -> Handle {
    let out = client.empty(shape.x_len() * core::mem::size_of::<F>());
    let (count, dim) = launch_dims(shape);
    embed_forward_kernel::launch::<F, R>(
        client,
        count,
        dim,
        array_arg(tokens, shape.tok_len()),
        array_arg(w, shape.w_len()),
        array_arg(&out, shape.x_len()),
        shape.tokens as u32,
        shape.groups() as u32,
        shape.vocab as u32,
        shape.d,
    );
    out
}

/// The gradient of sum(g * out) with respect to w, as partial sums over the G =
/// [`EmbedShape::groups`] token groups: dw_part [R, G, V, D].
pub fn embed_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &EmbedShape,
    tokens: &Handle,
    g: &Handle,
) -> Handle {
    let dw_part = client.empty(shape.part_len() * core::mem::size_of::<F>());
    let (count, dim) = launch_dims(shape);
    embed_backward_kernel::launch::<F, R>(
        client,
        count,
        dim,
        array_arg(tokens, shape.tok_len()),
        array_arg(g, shape.x_len()),
        array_arg(&dw_part, shape.part_len()),
        shape.tokens as u32,
        shape.groups() as u32,
        shape.vocab as u32,
        shape.d,
    );
    dw_part
}
