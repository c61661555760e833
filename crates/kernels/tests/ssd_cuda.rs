//! The staged SSD kernels on a CUDA GPU, where CUDA's compiler, not lavapipe's, decides what
//! it contracts into multiply-adds: built with the `cuda` feature into bin-xz/kernel-tests by
//! scripts/prepare-device.sh, run by device-batch.sh's `kernel-tests` job. Without the feature
//! the file is empty.
//!
//! At fig3's sizes (L = 8, E = 64, N = 128) and one other shape: the forward against the f64
//! recurrence, the kept S against its definition, and the same bits from every way of running
//! the pair: S kept by the forward or formed again in the backward, and the unstaged kernels.
//! (Session 25 also ran it with the staged kernels indexing in 64 bits, a launch setting then:
//! the same bits, and 0.99x, so the setting went.)
#![cfg(feature = "cuda")]

use cubecl::cuda::{CudaDevice, CudaRuntime};
use cubecl::prelude::*;
use kernels::oracle::{self, SsdHost};
use kernels::{SsdShape, ssd_backward_with, ssd_forward_as, ssd_forward_with};

mod common;
use common::{FIG3_SSD, download, inputs, lcg, ssd_device_inputs as device_inputs, upload, worst};

type R = CudaRuntime;

/// The bits of y, S (where kept) and the four gradients, with the backward reading the kept S
/// or not; `staged` false runs the unstaged pair (which keeps nothing).
fn run(c: &ComputeClient<R>, s: &SsdShape, h: &SsdHost, dy: &[f64], staged: bool, kept: bool) -> Vec<Vec<u64>> {
    let inp = device_inputs(c, s, h);
    let dy = upload(c, dy);
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    let fwd = ssd_forward_with::<R, f32>(c, s, &inp, None, staged, kept);
    let g = ssd_backward_with::<R, f32>(c, s, &inp, &dy, None, staged, fwd.scores.as_ref());
    [fwd.y, g.dxbc, g.ddt, g.da_part, g.dd_part]
        .map(|h| bits(download(c, h)))
        .into_iter()
        .collect()
}

#[test]
fn the_staged_ssd_gives_the_same_bits_every_way_on_cuda() {
    let c = R::client(&CudaDevice::new(0));
    let shapes = [
        FIG3_SSD,
        SsdShape {
            replicas: 3,
            batch: 2,
            len: 8,
            e: 24,
            n: 8,
        },
    ];
    for s in &shapes {
        let h = inputs(s, 5);
        let dy = lcg(9)(s.x_len(), -1.0, 2.0);
        // the forward against the f64 recurrence, and the kept S against its definition
        let inp = device_inputs(&c, s, &h);
        let y = download(&c, ssd_forward_as::<R, f32>(&c, s, &inp, None, true));
        let err = worst(&y, &oracle::recurrence(s, &h));
        assert!(err < 1e-4, "{s:?}: y off the recurrence by {err:e}");
        let kept = ssd_forward_with::<R, f32>(&c, s, &inp, None, true, true)
            .scores
            .expect("kept");
        let err = worst(&download(&c, kept), &oracle::scores(s, &h));
        assert!(err < 1e-5, "{s:?}: kept S off its definition by {err:e}");
        let base = run(&c, s, &h, &dy, true, false);
        assert_eq!(
            run(&c, s, &h, &dy, true, true),
            base,
            "{s:?}: S kept against formed again"
        );
        assert_eq!(
            run(&c, s, &h, &dy, false, false),
            base,
            "{s:?}: unstaged against staged"
        );
        // a kept S that is not S changes dx: the backward reads what it is given
        let zeros = upload(&c, &vec![0.0; s.scores_len()]);
        let wrong = ssd_backward_with::<R, f32>(&c, s, &inp, &upload(&c, &dy), None, true, Some(&zeros));
        let dx_bits = download(&c, wrong.dxbc)
            .into_iter()
            .map(f64::to_bits)
            .collect::<Vec<_>>();
        assert_ne!(dx_bits, base[1], "{s:?}: a zero S left dx as it was");
    }
}
