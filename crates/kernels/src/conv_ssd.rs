//! The conv stage and the SSD of one layer fused, forward and backward:
//! y = SSD(SiLU(conv(x) + bias), dt, A, D) with the SSD's x, B and C read from the conv's
//! output (crate docs and conv_silu.rs for the symbols). The separate kernels write the
//! post-conv tensor [R, B, L, E + 2N] to device memory and read it back, and its gradient
//! the same way; the fused pair keeps both on chip (results/bench/NOTES.md, session 17's ncu
//! profile: the conv and SSD kernels were 13.8 ms of a 32.1 ms step at depth 4, R = 36).
//!
//! The sums are those of the separate kernels in the same order (the conv's, then the staged
//! SSD's; the backward's dw and dbias per [`ConvShape::groups`] sequence group), so the fused
//! pair gives the same bits (tests/conv_ssd_wgpu.rs).

use cubecl::prelude::*;
use cubecl::server::Handle;

use crate::conv_silu::ConvShape;
use crate::conv_ssd_backward::conv_ssd_backward_kernel;
use crate::conv_ssd_forward::conv_ssd_forward_kernel;
use crate::{SsdShape, array_arg};

/// Units a cube, forward and backward: as the SSD's default at fig3's sizes (256).
const UNITS: u32 = 256;

/// The sizes of one fused launch: the SSD's, with C = E + 2N the conv's channels, and its taps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSsdShape {
    pub ssd: SsdShape,
    pub taps: usize,
}

impl ConvSsdShape {
    /// The conv's own shape (its sizes and its sequence groups).
    pub fn conv(&self) -> ConvShape {
        let s = self.ssd;
        ConvShape {
            replicas: s.replicas,
            batch: s.batch,
            len: s.len,
            channels: s.row(),
            taps: self.taps,
        }
    }

    /// Shared memory of a backward cube (the larger) for elements of `size` bytes: two
    /// sequences (the conv's output and its gradient, rows C + 1), dy (rows E + 1), P, S and
    /// XY, dt, cs and the decay's two terms a position, and the partial dw and dbias. The conv's input is read from device
    /// memory through the cache, as the conv kernels read it: staging it too (40 KB a cube at
    /// fig3's sizes) did not fit lavapipe's shared memory, where the tests run.
    pub fn backward_bytes(&self, size: usize) -> usize {
        let (s, c) = (self.ssd, self.ssd.row());
        let l = s.len;
        (2 * l * (c + 1) + l * (s.e + 1) + 3 * l * l + 4 * l + c * self.taps + c) * size
    }

    /// Whether `client`'s shared memory holds a backward cube for elements of F; where it does
    /// not, the caller runs the separate kernels.
    pub fn fits<R: Runtime, F>(&self, client: &ComputeClient<R>) -> bool {
        self.backward_bytes(core::mem::size_of::<F>()) <= client.properties().hardware.max_shared_memory_size
    }
}

/// The device arrays of one fused launch: x [R, B, L, C] (token rows `x_row` apart, as
/// [`crate::conv_silu::ConvInputs`]), w [R, C, K], bias [R, C], dt [R, B, L], a and d [R].
#[derive(Debug, Clone)]
pub struct ConvSsdInputs {
    pub x: Handle,
    pub x_row: usize,
    pub w: Handle,
    pub bias: Handle,
    pub dt: Handle,
    pub a: Handle,
    pub d: Handle,
}

impl ConvSsdInputs {
    fn args<R: Runtime>(&self, s: &ConvSsdShape) -> [ArrayArg<R>; 6] {
        let (ssd, conv) = (s.ssd, s.conv());
        [
            array_arg(&self.x, conv.x_extent(self.x_row)),
            array_arg(&self.w, conv.w_len()),
            array_arg(&self.bias, conv.bias_len()),
            array_arg(&self.dt, ssd.dt_len()),
            array_arg(&self.a, ssd.replicas),
            array_arg(&self.d, ssd.replicas),
        ]
    }
}

/// y [R, B, L, E]. The caller checks [`ConvSsdShape::fits`]; the handles must hold the sizes
/// of `shape` (the launch is bounds-checked: a short handle reads zeros).
pub fn conv_ssd_forward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &ConvSsdShape,
    inp: &ConvSsdInputs,
) -> Handle {
    let s = shape.ssd;
    let y = client.empty(s.x_len() * core::mem::size_of::<F>());
    let [x, w, bias, dt, a, d] = inp.args::<R>(shape);
    conv_ssd_forward_kernel::launch::<F, R>(
        client,
        CubeCount::Static(s.samples() as u32, 1, 1),
        CubeDim::new_1d(UNITS),
        x,
        w,
        bias,
        dt,
        a,
        d,
        array_arg(&y, s.x_len()),
        s.batch as u32,
        inp.x_row as u32,
        s.len,
        s.e,
        s.n,
        shape.taps,
    );
    y
}

/// What [`conv_ssd_backward`] returns: dx [R, B, L, C] (contiguous), ddt [R, B, L], dA and
/// dD per sequence [R * B], dw and dbias per sequence group ([R, G, C, K] and [R, G, C],
/// G = [`ConvShape::groups`]).
#[derive(Debug)]
pub struct ConvSsdGrads {
    pub dx: Handle,
    pub ddt: Handle,
    pub da_part: Handle,
    pub dd_part: Handle,
    pub dw_part: Handle,
    pub db_part: Handle,
}

/// The gradients of sum(dy * y) with respect to x, dt, A, D, w and bias.
pub fn conv_ssd_backward<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    shape: &ConvSsdShape,
    inp: &ConvSsdInputs,
    dy: &Handle,
) -> ConvSsdGrads {
    let (s, conv) = (shape.ssd, shape.conv());
    let f = core::mem::size_of::<F>();
    let groups = conv.groups();
    let parts = s.replicas * groups * conv.channels;
    let g = ConvSsdGrads {
        dx: client.empty(conv.x_len() * f),
        ddt: client.empty(s.dt_len() * f),
        da_part: client.empty(s.samples() * f),
        dd_part: client.empty(s.samples() * f),
        dw_part: client.empty(parts * shape.taps * f),
        db_part: client.empty(parts * f),
    };
    let [x, w, bias, dt, a, d] = inp.args::<R>(shape);
    conv_ssd_backward_kernel::launch::<F, R>(
        client,
        CubeCount::Static((s.replicas * groups) as u32, 1, 1),
        CubeDim::new_1d(UNITS),
        x,
        w,
        bias,
        dt,
        a,
        d,
        array_arg(dy, s.x_len()),
        array_arg(&g.dx, conv.x_len()),
        array_arg(&g.ddt, s.dt_len()),
        array_arg(&g.da_part, s.samples()),
        array_arg(&g.dd_part, s.samples()),
        array_arg(&g.dw_part, parts * shape.taps),
        array_arg(&g.db_part, parts),
        s.batch as u32,
        inp.x_row as u32,
        groups as u32,
        s.len,
        s.e,
        s.n,
        shape.taps,
        UNITS as usize,
    );
    g
}
