//! A/B settings of the kernels (issue 8), read from the environment once at start, so that a
//! GPU run can time one setting against another with nothing else changed. All but the third
//! change how a kernel's work is cut, never its bits; the third changes the matmul kernel.
//!
//! - MSYM_SSD_UNITS = "FORWARD,BACKWARD": the units a cube of the fused SSD kernels (each a
//!   multiple of 32 in 32..=1024); unset, the kernels choose (kernels::SsdShape::default_units).
//!   The same bits either way (crates/kernels/tests/ssd_wgpu.rs).
//! - MSYM_NORM_BWD_PER_UNIT = K: the most tokens a unit of the gated norm backward takes
//!   between its barriers (1..=32); unset, kernels::gated_norm::BACKWARD_PER_UNIT.
//!   The same bits either way (crates/kernels/tests/norm_wgpu.rs).
//! - MSYM_MATMUL_KERNEL = NAME: every product through the matmul operation of
//!   kernels::burn_op_matmul with that cubek kernel (a name of MatmulKernel::ALL, e.g.
//!   "cyclic-cmma", burn's own choice, as the control); unset, burn's matmul. **Not** bit-neutral
//!   like the two above: another kernel may sum in another order, so a speed A/B of it is
//!   followed by an accuracy one before it becomes a default.
//! - MSYM_PROJ_CONV_PER = P: the channels a unit of the fused xBC product + conv forward
//!   (1..=8; used where it divides the conv's channels); unset, its default rule
//!   (kernels::proj_conv::ProjConvShape::per_unit). The same bits either way
//!   (crates/kernels/tests/proj_conv_wgpu.rs).
//! - MSYM_PROJ_CONV_UNROLL = K: the steps over d_model that the same kernel unrolls at once
//!   (1..=256; used where it divides d_model); unset, all of them. The same bits either way.
//!
//! A malformed value is one sentence naming the variable, the value and what is allowed.

/// Checks the five settings and applies them where this build has the kernels (the bench
/// records the variables as set).
#[cfg_attr(not(feature = "cubecl"), allow(unused_variables))] // without kernels: checked only
pub fn apply_launch_env() -> Result<(), String> {
    let units = std::env::var("MSYM_SSD_UNITS")
        .ok()
        .map(|t| parse_ssd_units(&t))
        .transpose()?;
    let per_unit = std::env::var("MSYM_NORM_BWD_PER_UNIT")
        .ok()
        .map(|t| parse_norm_per_unit(&t))
        .transpose()?;
    let matmul_kernel = std::env::var("MSYM_MATMUL_KERNEL")
        .ok()
        .map(|t| parse_matmul_kernel(&t))
        .transpose()?;
    let proj_per = std::env::var("MSYM_PROJ_CONV_PER")
        .ok()
        .map(|t| parse_proj_conv_per(&t))
        .transpose()?;
    let proj_unroll = std::env::var("MSYM_PROJ_CONV_UNROLL")
        .ok()
        .map(|t| parse_proj_conv_unroll(&t))
        .transpose()?;
    #[cfg(feature = "cubecl")]
    {
        if let Some(k) = proj_unroll {
            kernels::set_proj_conv_unroll(k);
        }
        if let Some(p) = proj_per {
            kernels::set_proj_conv_per(p);
        }
        if let Some(name) = matmul_kernel {
            let kernel = kernels::burn_op_matmul::MatmulKernel::from_name(name).expect("a parsed name");
            kernels::burn_op_matmul::set_matmul_kernel(kernel);
            crate::f32_matmul::set_f32_matmul(true);
        }
        if let Some((f, b)) = units {
            kernels::set_ssd_units(f, b);
        }
        if let Some(k) = per_unit {
            kernels::set_norm_backward_per_unit(k);
        }
    }
    Ok(())
}

/// MSYM_SSD_UNITS's value: "FORWARD,BACKWARD", each a multiple of 32 from 32 to 1024.
pub fn parse_ssd_units(text: &str) -> Result<(u32, u32), String> {
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|u| (32..=1024).contains(u) && u % 32 == 0)
    };
    match text.split(',').collect::<Vec<_>>()[..] {
        [f, b] => parse(f).zip(parse(b)),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "MSYM_SSD_UNITS={text:?}: expected two unit counts \"FORWARD,BACKWARD\", each a multiple of 32 from 32 to 1024 (e.g. \"64,256\")"
        )
    })
}

/// MSYM_NORM_BWD_PER_UNIT's value: a token count from 1 to 32.
pub fn parse_norm_per_unit(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|k| (1..=32).contains(k))
        .ok_or_else(|| {
            format!("MSYM_NORM_BWD_PER_UNIT={text:?}: expected the most tokens a unit takes a batch, a whole number from 1 to 32 (e.g. \"4\")")
        })
}

/// MSYM_PROJ_CONV_PER's value: a channel count from 1 to 8.
pub fn parse_proj_conv_per(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|k| (1..=8).contains(k))
        .ok_or_else(|| {
            format!("MSYM_PROJ_CONV_PER={text:?}: expected the channels a unit takes, a whole number from 1 to 8 (e.g. \"2\")")
        })
}

/// MSYM_PROJ_CONV_UNROLL's value: a step count from 1 to 256.
pub fn parse_proj_conv_unroll(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|k| (1..=256).contains(k))
        .ok_or_else(|| {
            format!("MSYM_PROJ_CONV_UNROLL={text:?}: expected the steps over d_model unrolled at once, a whole number from 1 to 256 (e.g. \"8\")")
        })
}

/// The kernels MSYM_MATMUL_KERNEL may name (kernels::burn_op_matmul::MatmulKernel::ALL's
/// names, kept here too so that a build without the kernels reads the variable the same way).
pub const MATMUL_KERNELS: [&str; 5] = [
    "f32-unit",
    "cyclic-cmma",
    "cyclic-mma",
    "double-cyclic-cmma",
    "double-cyclic-mma",
];

/// MSYM_MATMUL_KERNEL's value: one of [`MATMUL_KERNELS`].
pub fn parse_matmul_kernel(text: &str) -> Result<&'static str, String> {
    MATMUL_KERNELS
        .iter()
        .find(|k| **k == text.trim())
        .copied()
        .ok_or_else(|| {
            format!(
                "MSYM_MATMUL_KERNEL={text:?}: expected one of {}",
                MATMUL_KERNELS.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_parse_and_a_bad_one_names_the_variable() {
        #[cfg(feature = "cubecl")]
        for name in MATMUL_KERNELS {
            let kernel = kernels::burn_op_matmul::MatmulKernel::from_name(name).expect(name);
            assert_eq!(kernel.name(), name);
        }
        #[cfg(feature = "cubecl")]
        assert_eq!(kernels::burn_op_matmul::MatmulKernel::ALL.len(), MATMUL_KERNELS.len());
        assert_eq!(parse_ssd_units("64, 256"), Ok((64, 256)));
        assert_eq!(parse_norm_per_unit(" 4"), Ok(4));
        for bad in ["64", "64,250", "0,256", "64,2048", "a,b", "64,256,32"] {
            let e = parse_ssd_units(bad).unwrap_err();
            assert!(
                e.starts_with("MSYM_SSD_UNITS=") && e.contains("multiple of 32"),
                "{bad}: {e}"
            );
        }
        assert_eq!(parse_matmul_kernel("cyclic-mma "), Ok("cyclic-mma"));
        let e = parse_matmul_kernel("tf32").unwrap_err();
        assert!(
            e.starts_with("MSYM_MATMUL_KERNEL=\"tf32\"") && e.contains("f32-unit, cyclic-cmma"),
            "{e}"
        );
        assert_eq!(parse_proj_conv_per("2 "), Ok(2));
        assert_eq!(parse_proj_conv_unroll("8"), Ok(8));
        for bad in ["0", "257", "x"] {
            let e = parse_proj_conv_unroll(bad).unwrap_err();
            assert!(
                e.starts_with("MSYM_PROJ_CONV_UNROLL=") && e.contains("1 to 256"),
                "{bad}: {e}"
            );
        }
        for bad in ["0", "9", "-1", "two", ""] {
            let e = parse_proj_conv_per(bad).unwrap_err();
            assert!(
                e.starts_with("MSYM_PROJ_CONV_PER=") && e.contains("1 to 8"),
                "{bad}: {e}"
            );
        }
        for bad in ["0", "33", "-1", "four", ""] {
            let e = parse_norm_per_unit(bad).unwrap_err();
            assert!(
                e.starts_with("MSYM_NORM_BWD_PER_UNIT=") && e.contains("1 to 32"),
                "{bad}: {e}"
            );
        }
    }
}
