//! The linear kernels on a CUDA GPU, at fig3's one-replica sizes (16384 tokens a batch): built
//! with the `cuda` feature into bin-xz/kernel-tests by scripts/prepare-device.sh, run by
//! device-batch.sh's `kernel-tests` job. Without the feature the file is empty.
//!
//! The z rows (d_model 32 -> d_inner 64), out_proj (64 -> 32) and the xBC rows (32 -> 320,
//! whose weight takes 40 KiB of a cube's 48 KiB of shared memory): the forward and both
//! gradients against f64, the same bits on a second launch, and the group sum against burn's
//! reduction over the groups axis bit for bit (what MSYM_GROUP_SUMS relies on; lavapipe's
//! agree too, tests/linear_wgpu.rs).
#![cfg(feature = "cuda")]

use burn_cubecl::CubeBackend;
use cubecl::cuda::{CudaDevice, CudaRuntime};
use cubecl::prelude::*;
use kernels::linear::{LinearShape, linear_backward, linear_forward, sum_groups};

mod common;
use common::{download, lcg, linear_oracle, tensor, upload, values, worst};

type R = CudaRuntime;
type Inner = CubeBackend<R, f32, i32, u8>;

#[test]
fn the_linear_kernels_give_the_f64_products_and_repeat_their_bits_on_cuda() {
    let c = R::client(&CudaDevice::new(0));
    for (case, (k, n)) in [(32, 64), (64, 32), (32, 320)].into_iter().enumerate() {
        let s = LinearShape {
            replicas: 1,
            tokens: 16384,
            k,
            n,
        };
        assert!(s.fits_on(&c), "{s:?} does not fit this GPU's shared memory");
        let mut draw = lcg(60 + case as u64);
        let (x, w, g) = (
            draw(s.x_len(), -1.0, 2.0),
            draw(s.w_len(), -1.0, 2.0),
            draw(s.y_len(), -1.0, 2.0),
        );
        let (xd, wd, gd) = (upload(&c, &x), upload(&c, &w), upload(&c, &g));
        let (y, dx, dw) = linear_oracle(&s, &x, &w, &g);
        let got_y = download(&c, linear_forward::<R, f32>(&c, &s, &xd, &wd));
        let err = worst(&got_y, &y);
        assert!(err < 1e-5, "{s:?}: y max error {err:.2e}");
        let grads = linear_backward::<R, f32>(&c, &s, &xd, &wd, &gd);
        let (got_dx, got_dw) = (download(&c, grads.dx), download(&c, grads.dw));
        let err = worst(&got_dx, &dx);
        assert!(err < 1e-5, "{s:?}: dx max error {err:.2e}");
        // dw sums 16384 tokens: relative to its scale, about sqrt(16384) = 128
        let err = worst(&got_dw, &dw);
        assert!(err < 1e-3, "{s:?}: dw max error {err:.2e}");
        let again = linear_backward::<R, f32>(&c, &s, &xd, &wd, &gd);
        assert_eq!(download(&c, again.dx), got_dx, "{s:?}: dx bits changed");
        assert_eq!(download(&c, again.dw), got_dw, "{s:?}: dw bits changed");
        assert_eq!(
            download(&c, linear_forward::<R, f32>(&c, &s, &xd, &wd)),
            got_y,
            "{s:?}: y bits changed"
        );
    }
}

#[test]
fn the_group_sum_gives_burns_sums_bit_for_bit_on_cuda() {
    let dev = CudaDevice::new(0);
    let c = R::client(&dev);
    // a weight gradient's [R, G, N K], a norm's [R, G, E], dA's per-group sums [R, G, 1]
    for (k, [r, g, w]) in [[1, 128, 2048], [36, 32, 64], [1, 64, 1], [36, 45, 1], [3, 7, 5]]
        .into_iter()
        .enumerate()
    {
        let v = lcg(70 + k as u64)(r * g * w, -1.0, 2.0);
        let ours = download(&c, sum_groups::<R, f32>(&c, &upload(&c, &v), r, g, w));
        let burns = values(tensor::<Inner, 3>(&v, [r, g, w], &dev).sum_dim(1));
        assert_eq!(ours, burns, "[{r}, {g}, {w}] over axis 1");
    }
}
