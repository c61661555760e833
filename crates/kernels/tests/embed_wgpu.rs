//! The embedding kernels on the CPU through Vulkan (lavapipe, scripts/setup-vulkan.sh): the
//! lookup against the host table (exact: a lookup moves bits), the gradient against the
//! host's scatter-sum in f64, then the burn operation's gradient through an op after it, a
//! frozen table, and its inference form.

use burn::backend::Autodiff;
use burn::tensor::{Int, Tensor, TensorData};
use burn_cubecl::CubeBackend;
use cubecl::prelude::*;
use cubecl::server::Handle;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_embed::{embed_autodiff, embed_inference};
use kernels::embed::{EmbedShape, embed_backward, embed_forward};

mod common;
use common::{client, download, lcg, require_vulkan, sum_over_groups, tensor, upload, values, worst};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

/// fig3's D = 32 with token groups of several tokens (T = 24: G = 4), a D that is no
/// multiple of a warp (40) with one token a group (T = 3: G = 1).
const CASES: [EmbedShape; 2] = [
    EmbedShape {
        replicas: 2,
        tokens: 24,
        vocab: 7,
        d: 32,
    },
    EmbedShape {
        replicas: 3,
        tokens: 3,
        vocab: 5,
        d: 40,
    },
];

/// Tokens in 0..V, every replica its own (as each seed draws its own data), with repeats.
fn tokens(s: &EmbedShape, seed: i32) -> Vec<i32> {
    (0..s.tok_len() as i32)
        .map(|i| (i * 5 + seed) % s.vocab as i32)
        .collect()
}

fn upload_tokens(c: &ComputeClient<R>, t: &[i32]) -> Handle {
    c.create_from_slice(i32::as_bytes(t))
}

/// The host oracle: out[r, t] = w[r, tok] and dw[r, v] = sum of g[r, t] over tok = v, in f64.
fn lookup(s: &EmbedShape, tok: &[i32], w: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(s.x_len());
    for (k, &v) in tok.iter().enumerate() {
        let row = ((k / s.tokens) * s.vocab + v as usize) * s.d;
        out.extend_from_slice(&w[row..row + s.d]);
    }
    out
}

fn scatter(s: &EmbedShape, tok: &[i32], g: &[f64]) -> Vec<f64> {
    let mut dw = vec![0.0; s.w_len()];
    for (k, &v) in tok.iter().enumerate() {
        let row = ((k / s.tokens) * s.vocab + v as usize) * s.d;
        for i in 0..s.d {
            dw[row + i] += g[k * s.d + i];
        }
    }
    dw
}

#[test]
fn the_lookup_is_the_host_table_and_the_gradient_its_scatter_sum() {
    let c = client();
    for (k, s) in CASES.iter().enumerate() {
        let tok = tokens(s, k as i32);
        let w = lcg(71 + k as u64)(s.w_len(), -1.0, 2.0);
        let g = lcg(81 + k as u64)(s.x_len(), -1.0, 2.0);
        let t = upload_tokens(&c, &tok);
        let out = download(&c, embed_forward::<R, f32>(&c, s, &t, &upload(&c, &w)));
        assert_eq!(out, lookup(s, &tok, &w), "case {k} ({s:?}): the lookup");
        let dw = sum_over_groups(
            &download(&c, embed_backward::<R, f32>(&c, s, &t, &upload(&c, &g))),
            s.groups(),
            s.vocab * s.d,
        );
        let err = worst(&dw, &scatter(s, &tok, &g));
        assert!(err < 1e-5, "case {k} ({s:?}): dw max error {err:.2e}");
    }
}

#[test]
fn a_token_outside_the_vocabulary_embeds_as_zeros_and_gets_no_gradient() {
    // as the one-hot product does; every other token is untouched
    let c = client();
    let s = CASES[0];
    let mut tok = tokens(&s, 0);
    tok[3] = s.vocab as i32;
    tok[10] = -1;
    let w = lcg(91)(s.w_len(), -1.0, 2.0);
    let g = lcg(92)(s.x_len(), -1.0, 2.0);
    let t = upload_tokens(&c, &tok);
    let out = download(&c, embed_forward::<R, f32>(&c, &s, &t, &upload(&c, &w)));
    let dw = sum_over_groups(
        &download(&c, embed_backward::<R, f32>(&c, &s, &t, &upload(&c, &g))),
        s.groups(),
        s.vocab * s.d,
    );
    let (mut want_out, mut want_g) = (vec![0.0; s.x_len()], g.clone());
    for (k, &v) in tok.iter().enumerate() {
        let at = k * s.d..(k + 1) * s.d;
        if (0..s.vocab as i32).contains(&v) {
            let row = ((k / s.tokens) * s.vocab + v as usize) * s.d;
            want_out[at].copy_from_slice(&w[row..row + s.d]);
        } else {
            want_g[at].fill(0.0);
        }
    }
    assert_eq!(out, want_out, "the lookup with two tokens outside 0..V");
    let clipped: Vec<i32> = tok.iter().map(|&v| v.clamp(0, s.vocab as i32 - 1)).collect();
    let err = worst(&dw, &scatter(&s, &clipped, &want_g));
    assert!(err < 1e-5, "dw with two tokens outside 0..V: max error {err:.2e}");
}

#[test]
fn the_autodiff_op_gives_the_scatter_sum_through_the_graph() {
    // the table through an op before it (w * 2), the output through one after it (* g);
    // a frozen table gets no gradient; the inference form gives the same lookup
    let dev = WgpuDevice::default();
    require_vulkan();
    let s = CASES[0];
    let (r, v, d) = (s.replicas, s.vocab, s.d);
    let (b, l) = (3, s.tokens / 3);
    let tok = tokens(&s, 5);
    let toks = || Tensor::<Ad, 3, Int>::from_data(TensorData::new(tok.clone(), [r, b, l]), &dev);
    let w = lcg(101)(s.w_len(), -1.0, 2.0);
    let g = lcg(102)(s.x_len(), -1.0, 2.0);
    let half: Vec<f64> = w.iter().map(|x| x / 2.0).collect();
    let w_half = tensor::<Ad, 3>(&half, [r, v, d], &dev).require_grad();
    let out = embed_autodiff(w_half.clone().mul_scalar(2.0), toks());
    assert_eq!(out.dims(), [r, b, l, d]);
    assert_eq!(values(out.clone()), lookup(&s, &tok, &w), "forward");
    let grads = out.mul(tensor::<Ad, 4>(&g, [r, b, l, d], &dev)).sum().backward();
    let want: Vec<f64> = scatter(&s, &tok, &g).iter().map(|x| 2.0 * x).collect();
    let err = worst(&values(w_half.grad(&grads).unwrap()), &want);
    assert!(err < 2e-5, "dw through the scale: max error {err:.2e}");

    let frozen = tensor::<Ad, 3>(&w, [r, v, d], &dev);
    let grads = embed_autodiff(frozen.clone(), toks()).sum().backward();
    assert!(frozen.grad(&grads).is_none(), "a frozen table got a gradient");

    let out = embed_inference(
        tensor::<Inner, 3>(&w, [r, v, d], &dev),
        Tensor::<Inner, 3, Int>::from_data(TensorData::new(tok.clone(), [r, b, l]), &dev),
    );
    assert_eq!(values(out), lookup(&s, &tok, &w), "inference");
}
