//! The row views (models::fused_adam::row_views: at R = 1 the optimizer's row split into the
//! parameters without a kernel, trainer::flat laying each parameter at the memory alignment)
//! inside real training steps on burn's CubeCL backend over wgpu (lavapipe): four steps of
//! one replica with them on give the weights of four steps with them off, to f32 rounding
//! (the aligned layout sums the clipping norm in other groups), and every split made views.
//! Built with `cargo test -p trainer --features wgpu --test row_views_wgpu` (CI runs it).
#![cfg(feature = "wgpu")]

use models::fused_adam::{ROW_VIEW_ALIGN, row_align, row_views_calls, set_row_views};

mod common;
use common::{W, compare, require_vulkan, train};

/// The switch is process-wide: both runs in one test.
#[test]
fn row_views_train_the_weights_of_the_slices() {
    require_vulkan();
    set_row_views(false);
    assert_eq!(row_align::<W>(1), 1);
    let sliced = train(1, 4);
    assert_eq!(row_views_calls(), 0);
    set_row_views(true);
    assert_eq!(row_align::<W>(1), ROW_VIEW_ALIGN);
    assert_eq!(row_align::<W>(2), 1, "two replicas keep the layout end to end");
    let viewed = train(1, 4);
    assert_eq!(row_views_calls(), 4, "one split into views a step");
    compare(&sliced, &viewed, 1, 1e-6);
    // two replicas: no views, the end-to-end layout
    let _ = train(2, 1);
    assert_eq!(row_views_calls(), 4, "no views at R = 2");
}
