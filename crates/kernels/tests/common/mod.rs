//! Helpers shared by the kernels' tests: the Vulkan check and the fixed random inputs.
#![allow(dead_code)]

use burn::tensor::{Tensor, TensorData, backend::Backend};
use cubecl::prelude::*;
use cubecl::server::Handle;
use cubecl::wgpu::WgpuRuntime;
use kernels::conv_oracle::ConvHost;
use kernels::conv_silu::ConvShape;
use kernels::linear::LinearShape;
use kernels::oracle::SsdHost;
use kernels::proj_conv::{ProjConvInputs, ProjConvShape};
use kernels::{SsdInputs, SsdShape};

/// Fails with the fix where the machine has no Vulkan driver (the tests need lavapipe).
pub fn require_vulkan() {
    let icds = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        icds > 0 || std::env::var_os("VK_ICD_FILENAMES").is_some(),
        "no Vulkan driver on this machine: run scripts/setup-vulkan.sh (installs Mesa's lavapipe, a CPU Vulkan)"
    );
}

/// Inputs drawn from a fixed LCG: x, B, C in [-0.5, 0.5), dt in [0.1, 1.1), A in [-1.5, -0.5),
/// D in [0, 1); f32 values, kept as f64 for the oracle.
pub fn inputs(s: &SsdShape, seed: u64) -> SsdHost {
    let mut draw = lcg(seed);
    SsdHost {
        x: draw(s.x_len(), -0.5, 1.0),
        dt: draw(s.dt_len(), 0.1, 1.0),
        a: draw(s.replicas, -1.5, 1.0),
        b: draw(s.bc_len(), -0.5, 1.0),
        c: draw(s.bc_len(), -0.5, 1.0),
        d: draw(s.replicas, 0.0, 1.0),
    }
}

/// fig3's SSD sizes (L = 8, E = 64, N = 128) at 2 replicas of 3 sequences.
pub const FIG3_SSD: SsdShape = SsdShape {
    replicas: 2,
    batch: 3,
    len: 8,
    e: 64,
    n: 128,
};

/// The SSD's host inputs on the device, xbc laid out as the kernels read it.
pub fn ssd_device_inputs<R: Runtime>(c: &ComputeClient<R>, s: &SsdShape, h: &SsdHost) -> SsdInputs {
    SsdInputs {
        xbc: upload(c, &h.xbc(s)),
        dt: upload(c, &h.dt),
        a: upload(c, &h.a),
        d: upload(c, &h.d),
    }
}

/// A fixed LCG: draw(len, lo, width) gives len f32 values in [lo, lo + width), as f64.
pub fn lcg(seed: u64) -> impl FnMut(usize, f64, f64) -> Vec<f64> {
    let mut state = seed;
    move |len, lo, width| {
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (lo + width * ((state >> 40) as f64 / (1u64 << 24) as f64)) as f32 as f64
            })
            .collect()
    }
}

/// Conv inputs from the same LCG: x in [-1, 1), w in [-0.5, 0.5), bias in [-0.25, 0.25).
pub fn conv_inputs(s: &ConvShape, seed: u64) -> ConvHost {
    let mut draw = lcg(seed);
    ConvHost {
        x: draw(s.x_len(), -1.0, 2.0),
        w: draw(s.w_len(), -0.5, 1.0),
        bias: draw(s.bias_len(), -0.25, 0.5),
    }
}

/// A kernel's per-group partial sums [R, G, inner] summed over the G token groups, in f64:
/// -> [R, inner] (the sum the burn operations run after the kernels).
pub fn sum_over_groups(v: &[f64], groups: usize, inner: usize) -> Vec<f64> {
    let mut out = vec![0.0; v.len() / groups];
    for (i, x) in v.iter().enumerate() {
        out[(i / (groups * inner)) * inner + i % inner] += x;
    }
    out
}

/// Largest |got - want| / max(1, |want|).
pub fn worst(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// The wgpu (lavapipe) compute client, after the Vulkan check.
pub fn client() -> ComputeClient<WgpuRuntime> {
    require_vulkan();
    WgpuRuntime::client(&Default::default())
}

/// v as f32 on the device.
pub fn upload<R: Runtime>(c: &ComputeClient<R>, v: &[f64]) -> Handle {
    let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    c.create_from_slice(f32::as_bytes(&f))
}

/// A kernel's f32 output, read back as f64.
pub fn download<R: Runtime>(c: &ComputeClient<R>, h: Handle) -> Vec<f64> {
    let bytes = c.read_one(h).expect("read back a kernel output");
    f32::from_bytes(&bytes).iter().map(|&x| x as f64).collect()
}

/// v as an f32 burn tensor of `dims`.
pub fn tensor<B: Backend, const D: usize>(v: &[f64], dims: [usize; D], dev: &B::Device) -> Tensor<B, D> {
    let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(f, dims), dev)
}

/// A burn tensor's f32 values as f64.
pub fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data()
        .to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// The fused xBC product + conv's inputs from the same LCG: u in [-1, 1), wx in [-0.5, 0.5)
/// (PyTorch's [R, C, D]), and the conv's w and bias.
pub fn proj_conv_inputs(s: &ProjConvShape, seed: u64) -> (Vec<f64>, Vec<f64>, ConvHost) {
    let mut draw = lcg(seed);
    let tokens = s.conv.replicas * s.conv.batch * s.conv.len;
    let u = draw(tokens * s.d_model, -1.0, 2.0);
    let wx = draw(s.conv.replicas * s.conv.channels * s.d_model, -0.5, 1.0);
    (u, wx, conv_inputs(&s.conv, seed + 1))
}

/// [R, C, D] -> [R, D, C], as the operation hands the kernel its weight.
pub fn transposed(s: &ProjConvShape, wx: &[f64]) -> Vec<f64> {
    let (ch, d) = (s.conv.channels, s.d_model);
    let mut out = vec![0.0; wx.len()];
    for (i, v) in wx.iter().enumerate() {
        let (r, c, k) = (i / (ch * d), i / d % ch, i % d);
        out[(r * d + k) * ch + c] = *v;
    }
    out
}

/// u's token rows padded by `pad` elements of junk (1e3), as a pitched tensor's.
pub fn padded_rows(u: &[f64], d: usize, pad: usize) -> Vec<f64> {
    u.chunks(d)
        .flat_map(|row| row.iter().copied().chain(std::iter::repeat_n(1e3, pad)))
        .collect()
}

/// The fused product + conv's device inputs: u (token rows `u_row` apart), wx transposed to
/// [R, D, C] as the operation hands it over, and the conv's w and bias.
pub fn proj_conv_device<R: Runtime>(
    c: &ComputeClient<R>,
    s: &ProjConvShape,
    u: &[f64],
    u_row: usize,
    wx: &[f64],
    conv: &ConvHost,
) -> ProjConvInputs {
    ProjConvInputs {
        u: upload(c, u),
        u_row,
        wt: upload(c, &transposed(s, wx)),
        w: upload(c, &conv.w),
        bias: upload(c, &conv.bias),
    }
}

/// The linear map's oracle in f64 (tests/linear_wgpu.rs checks it against finite
/// differences): y = x W^T and the gradients of sum(g * y), (y, dx, dw), for x [R, M, K],
/// w [R, N, K], g [R, M, N].
pub fn linear_oracle(s: &LinearShape, x: &[f64], w: &[f64], g: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut y, mut dx, mut dw) = (vec![0.0; s.y_len()], vec![0.0; s.x_len()], vec![0.0; s.w_len()]);
    for r in 0..s.replicas {
        for t in 0..s.tokens {
            let row = r * s.tokens + t;
            for o in 0..s.n {
                let wo = (r * s.n + o) * s.k;
                let mut acc = 0.0;
                for i in 0..s.k {
                    acc += x[row * s.k + i] * w[wo + i];
                    dx[row * s.k + i] += g[row * s.n + o] * w[wo + i];
                    dw[wo + i] += g[row * s.n + o] * x[row * s.k + i];
                }
                y[row * s.n + o] = acc;
            }
        }
    }
    (y, dx, dw)
}
