//! The learning rate per step (SPEC 3): linear from lr_start to the peak over
//! `warmup_epochs`, then a half cosine from the peak to lr_end over `cosine_epochs`, then
//! lr_end. A pure function of the step, so a resumed run continues the same curve.

use msym_config::TrainConfig;

/// Learning rate at optimizer step `step` (0-based) with `steps_per_epoch` steps per epoch
/// and peak `peak` (the per-replica learning rate; `t.lr_peak` unless swept).
pub fn lr_at(step: usize, steps_per_epoch: usize, t: &TrainConfig, peak: f64) -> f64 {
    let warmup = (t.warmup_epochs * steps_per_epoch) as f64;
    let cosine = (t.cosine_epochs * steps_per_epoch) as f64;
    let s = step as f64;
    if s < warmup {
        t.lr_start + (peak - t.lr_start) * s / warmup
    } else if s < warmup + cosine {
        let progress = (s - warmup) / cosine;
        t.lr_end + (peak - t.lr_end) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    } else {
        t.lr_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC 3 values: 123 steps an epoch (253 125 rows / 2048), 10 warmup + 200 cosine epochs.
    #[test]
    fn values_at_start_end_of_warmup_and_last_step() {
        let t = TrainConfig::default();
        let spe = 123;
        assert_eq!(lr_at(0, spe, &t, t.lr_peak), 1e-5);
        assert!(
            (lr_at(1230 / 2, spe, &t, t.lr_peak) - (1e-5 + 2.4e-4 / 2.0)).abs() < 1e-15,
            "half way up"
        );
        assert!(
            (lr_at(1230, spe, &t, t.lr_peak) - 2.5e-4).abs() < 1e-18,
            "end of warmup = peak"
        );
        let mid = lr_at(1230 + 12300, spe, &t, t.lr_peak);
        assert!((mid - (1e-5 + 2.4e-4 / 2.0)).abs() < 1e-15, "cosine half way: {mid}");
        let last = lr_at(210 * spe - 1, spe, &t, t.lr_peak);
        assert!(
            (last - 1e-5).abs() < 1e-12 && last > 1e-5,
            "last step just above lr_end: {last}"
        );
        assert_eq!(lr_at(210 * spe, spe, &t, t.lr_peak), 1e-5);
    }

    #[test]
    fn a_swept_peak_scales_the_curve() {
        let t = TrainConfig::default();
        assert_eq!(lr_at(1230, 123, &t, 1e3), 1e3);
    }
}
