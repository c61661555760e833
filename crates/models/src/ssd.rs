//! The SSM of a single-head Mamba2 layer (SSD), in its quadratic ("attention-like") form,
//! and the step-by-step recurrence kept as the test oracle.
//!
//! Symbols (SPEC 2.1): x_t [E] the SSM input, B_t, C_t [N], dt_t > 0 the step, A < 0 the
//! scalar decay (one head), a_t = A dt_t, D the skip. The state h_t [N, E] obeys
//! h_t = exp(a_t) h_{t-1} + dt_t B_t x_t^T and y_t = C_t^T h_t + D x_t. Unrolled:
//! y_t = sum_{s<=t} S[t, s] dt_s x_s + D x_t with S[t, s] = (C_t . B_s) exp(sum_{r=s+1..t} a_r).

use burn::tensor::{Tensor, backend::Backend};

use crate::f32_matmul::matmul;
use crate::grouped::scale_scalar;
use crate::ops::future_mask;
use crate::precision::to_dtype;

/// Inputs of one SSD layer, all per replica.
#[derive(Debug, Clone)]
pub struct SsdInputs<B: Backend> {
    /// [R, B, L, E]
    pub x: Tensor<B, 4>,
    /// [R, B, L], after softplus
    pub dt: Tensor<B, 3>,
    /// A = -exp(A_log): [R, 1]
    pub a: Tensor<B, 2>,
    /// [R, B, L, N]
    pub b: Tensor<B, 4>,
    /// [R, B, L, N]
    pub c: Tensor<B, 4>,
    /// [R, 1]
    pub d: Tensor<B, 2>,
}

/// The SSM matrix S: [R, B, L, L], zero above the diagonal.
pub fn ssm_matrix<B: Backend>(inp: &SsdInputs<B>) -> Tensor<B, 4> {
    let [r, bsz, l, _] = inp.x.dims();
    let a_t = scale_scalar(inp.dt.clone(), inp.a.clone()); // [R, B, L]
    let cs = a_t.cumsum(2); // cs[t] = sum_{r<=t} a_r
    // seg[t, s] = cs[t] - cs[s] = sum_{r=s+1..t} a_r; masked to -inf above the diagonal
    // before exp, where it would be positive and could overflow.
    let seg = cs.clone().unsqueeze_dim::<4>(3).sub(cs.unsqueeze_dim::<4>(2)); // [R, B, L, L]
    let device = seg.device();
    let decay = seg.mask_fill(future_mask(r, bsz, l, &device), f64::NEG_INFINITY).exp();
    let cb = matmul(inp.c.clone(), inp.b.clone().transpose()); // [R, B, L, L]: C_t . B_s
    // The decay is computed in dt's precision (the master one under mixed precision) and
    // applied in the activations' own.
    let dtype = cb.dtype();
    cb.mul(to_dtype(decay, dtype))
}

/// y = S (dt * x) + D x, with S optionally multiplied elementwise by `mask` (the blocking
/// probe; broadcastable to [R, B, L, L]). Returns (y [R, B, L, E], S as used).
pub fn ssd_quadratic<B: Backend>(inp: &SsdInputs<B>, mask: Option<Tensor<B, 4>>) -> (Tensor<B, 4>, Tensor<B, 4>) {
    let mut s = ssm_matrix(inp);
    if let Some(m) = mask {
        s = s.mul(m);
    }
    let dt = to_dtype(inp.dt.clone(), inp.x.dtype()).unsqueeze_dim::<4>(3); // [R, B, L, 1]
    let dtx = inp.x.clone().mul(dt); // [R, B, L, E]
    let y = matmul(s.clone(), dtx).add(scale_scalar(inp.x.clone(), inp.d.clone()));
    (y, s)
}

/// The SSD of one Mamba2 layer, from its input xbc [R, B, L, E + 2N] (x its first `e` columns,
/// then B, then C), dt [R, B, L], a and d [R, 1]: y [R, B, L, E], and S [R, B, L, L] where
/// `with_s`. Through the fused kernels of crates/kernels (one launch each way, reading x, B
/// and C in place) where the build, the backend, the dtypes and the switch (`fused_ssd`) allow
/// them and S is neither wanted nor masked (the kernels build no S); the plain ops
/// ([`ssd_quadratic`] on slices of xbc) otherwise.
pub fn ssd_of_xbc<B: Backend>(
    xbc: Tensor<B, 4>,
    e: usize,
    dt: Tensor<B, 3>,
    a: Tensor<B, 2>,
    d: Tensor<B, 2>,
    with_s: bool,
    mask: Option<Tensor<B, 4>>,
) -> (Tensor<B, 4>, Option<Tensor<B, 4>>) {
    #[cfg(feature = "cubecl")]
    if !with_s
        && mask.is_none()
        && let Some(y) = crate::fused_ssd::try_fused(&xbc, e, &dt, &a, &d)
    {
        return (y, None);
    }
    let n = (xbc.dims()[3] - e) / 2;
    let inputs = SsdInputs {
        x: xbc.clone().narrow(3, 0, e),
        dt,
        a,
        b: xbc.clone().narrow(3, e, n),
        c: xbc.narrow(3, e + n, n),
        d,
    };
    let (y, s) = ssd_quadratic(&inputs, mask);
    (y, with_s.then_some(s))
}

/// The recurrence, one step at a time (slow; the oracle for [`ssd_quadratic`]).
/// Returns y [R, B, L, E].
pub fn ssd_recurrent<B: Backend>(inp: &SsdInputs<B>) -> Tensor<B, 4> {
    let [r, bsz, l, e] = inp.x.dims();
    let n = inp.b.dims()[3];
    let step = |t: &Tensor<B, 4>, i: usize| t.clone().narrow(2, i, 1); // [R, B, 1, *]
    let mut h = Tensor::<B, 4>::zeros([r, bsz, n, e], &inp.x.device()); // [R, B, N, E]
    let mut ys = Vec::with_capacity(l);
    for i in 0..l {
        let dt_i = inp.dt.clone().narrow(2, i, 1).reshape([r, bsz, 1, 1]);
        let decay = dt_i.clone().mul(inp.a.clone().reshape([r, 1, 1, 1])).exp();
        let x_i = step(&inp.x, i); // [R, B, 1, E]
        let b_i = step(&inp.b, i).swap_dims(2, 3); // [R, B, N, 1]
        h = h.mul(decay).add(matmul(b_i, x_i.clone()).mul(dt_i)); // [R, B, N, E]
        let c_i = step(&inp.c, i); // [R, B, 1, N]
        ys.push(matmul(c_i, h.clone()).add(x_i.mul(inp.d.clone().reshape([r, 1, 1, 1]))));
    }
    Tensor::cat(ys, 2)
}
