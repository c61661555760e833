//! The fused SSD kernels' launch shape as an A/B setting (issue 8): the units a cube.

/// MSYM_SSD_UNITS = "FORWARD,BACKWARD": the units a cube of the fused SSD kernels (each a
/// multiple of 32 in 32..=1024), for GPU A/B runs of their launch shape alone; unset, the
/// kernels choose (kernels::SsdShape::default_units). The outputs are the same bits either way
/// (crates/kernels/tests/ssd_wgpu.rs). Applies the setting where this build has the kernels,
/// and returns it; a malformed value is one sentence naming the variable, the value and what
/// is allowed. msym reads it once at start.
pub fn apply_ssd_units_env() -> Result<Option<(u32, u32)>, String> {
    let Ok(text) = std::env::var("MSYM_SSD_UNITS") else {
        return Ok(None);
    };
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|u| (32..=1024).contains(u) && u % 32 == 0)
    };
    let units = match text.split(',').collect::<Vec<_>>()[..] {
        [f, b] => parse(f).zip(parse(b)),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "MSYM_SSD_UNITS={text:?}: expected two unit counts \"FORWARD,BACKWARD\", each a multiple of 32 from 32 to 1024 (e.g. \"64,256\")"
        )
    })?;
    #[cfg(feature = "cubecl")]
    kernels::set_ssd_units(units.0, units.1);
    Ok(Some(units))
}
