//! A weight's row block (kernels::burn_op_rows) on lavapipe: at one replica a tensor over the
//! weight's memory (its handle starts at the block's first byte), at two burn's slice; the
//! values of the rows either way, and as gradient the block's gradient in the block's rows
//! with zeros elsewhere, bit for bit.

use burn::backend::Autodiff;
use burn_cubecl::CubeBackend;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use kernels::burn_op_rows::{rows_autodiff, rows_inference};

mod common;
use common::{client, lcg, require_vulkan, tensor, values};

type R = WgpuRuntime;
type Inner = CubeBackend<R, f32, i32, u32>;
type Ad = Autodiff<Inner>;

#[test]
fn a_row_block_reads_its_rows_and_pads_its_gradient() {
    require_vulkan();
    let dev = WgpuDevice::default();
    // rows wide enough that every row starts at the memory alignment
    let d = (client().properties().memory.alignment as usize / 4).max(4);
    let rows = 7;
    for (replicas, start, len) in [(1, 2, 3), (1, 6, 1), (1, 0, 7), (2, 2, 3)] {
        let n = replicas * rows * d;
        let host = lcg(5)(n, -1.0, 1.0);
        let w = tensor::<Inner, 3>(&host, [replicas, rows, d], &dev);
        let want: Vec<f64> = (0..replicas)
            .flat_map(|r| host[(r * rows + start) * d..(r * rows + start + len) * d].to_vec())
            .collect();
        let block = rows_inference::<R, i32, u32>(w, start, len);
        assert_eq!(block.dims(), [replicas, len, d]);
        let prim = block.clone().into_primitive().tensor();
        if replicas == 1 {
            assert_eq!(
                prim.handle.offset_start,
                Some((start * d * 4) as u64),
                "a view of the weight"
            );
        }
        assert_eq!(values(block), want, "R = {replicas}, rows {start}..{}", start + len);
        // the gradient of sum(block * c): c in the block's rows, zeros elsewhere
        let c = lcg(9)(replicas * len * d, -1.0, 1.0);
        let wa = tensor::<Ad, 3>(&host, [replicas, rows, d], &dev).require_grad();
        let loss = rows_autodiff::<R, i32, u32, _>(wa.clone(), start, len)
            .mul(tensor::<Ad, 3>(&c, [replicas, len, d], &dev))
            .sum();
        let grads = loss.backward();
        let got = values(wa.grad(&grads).expect("a gradient"));
        let mut want = vec![0.0; n];
        for r in 0..replicas {
            let (to, from) = ((r * rows + start) * d, r * len * d);
            for k in 0..len * d {
                want[to + k] = f64::from(c[from + k] as f32);
            }
        }
        assert_eq!(got, want, "R = {replicas}: the padded gradient");
    }
}
