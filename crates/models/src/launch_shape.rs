//! A/B settings of the kernels (issue 8), read from the environment once at start, so that a
//! GPU run can time one setting against another with nothing else changed. Most change how a
//! kernel's work is cut, never its bits; those marked **Not** bit-neutral change sums.
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
//! - MSYM_PROJ_CONV_ROUNDS = G: the groups of lcm(L, 16) tokens a cube of that forward's
//!   tensor-core form takes in turn (1..=4096); unset, 16. The same bits either way
//!   (crates/kernels/tests/proj_conv_mma_cuda.rs, on a GPU).
//! - MSYM_PROJ_CONV_MMA = 0 or 1: whether that forward may take its tensor-core form
//!   (kernels::proj_conv_mma; TF32 products, where the GPU has them) or only the CUDA-core
//!   one (f32 sums); unset, 1. **Not** bit-neutral: the A/B of the two forms.
//! - MSYM_PROJ_CONV_GRADS = 0 or 1: whether the product's two gradients after that form's
//!   backward come from one tensor-core kernel that reads dxbc once
//!   (kernels::proj_grads_mma) or from burn's two products; unset, 0 (the kernel measured
//!   0.99-1.00x). **Not** bit-neutral (other sums).
//! - MSYM_SSD_SCORES = 0 or 1: whether the staged SSD forward keeps S [R, B, L, L] for the
//!   staged backward, which then reads it instead of forming it again
//!   (kernels::SSD_KEEP_SCORES); unset, 1. The same bits either way
//!   (crates/kernels/tests/ssd_wgpu.rs).
//! - MSYM_GROUP_SUMS = 0 or 1: whether the kernels' operations sum their per-group partials
//!   with kernels::linear::sum_groups (one unit an output, group order) or burn's reduction
//!   (kernels::GROUP_SUMS); unset, 1. The same bits either way (crates/kernels/tests/
//!   linear_wgpu.rs and linear_cuda.rs; five epochs of nine fig3 cells on an H200, session 28).
//! - MSYM_DT_STAGED = 0 or 1: whether the dt kernels copy u's rows into shared memory a chunk
//!   of tokens at a time (kernels::dt_proj::DT_STAGED); unset, 1. The same bits either way
//!   (crates/kernels/tests/dt_wgpu.rs).
//! - MSYM_LINEAR_XBC = 0 or 1: whether the fused xBC product + conv's backward at one replica
//!   forms the product's gradients with crate::fused_linear's f32 kernels (where that switch
//!   is on) or burn's TF32 products (crate::fused_linear::set_linear_xbc); unset, 0. **Not**
//!   bit-neutral.
//! - MSYM_GRAD_BATCHES = N: the least R x G a linear layer's weight gradient is cut into
//!   (crate::grouped::linear_groups_for: the fewest token groups G that reach it, never more
//!   than the square-root rule's); unset, that rule alone (G = 128 at fig3's batch, any R).
//!   **Not** bit-neutral: other sums in the weight gradients.
//!
//! A malformed value is one sentence naming the variable, the value and what is allowed.

/// Checks the thirteen settings and applies them where this build has the kernels (the bench
/// records the variables as set).
#[cfg_attr(not(feature = "cubecl"), allow(unused_variables))] // without kernels: checked only
pub fn apply_launch_env() -> Result<(), String> {
    let units = from_env("MSYM_SSD_UNITS", parse_ssd_units)?;
    let counts = [NORM_BWD_PER_UNIT, PROJ_CONV_PER, PROJ_CONV_UNROLL, PROJ_CONV_ROUNDS]
        .map(|c| from_env(c.var, |t| parse_count(&c, t)));
    let counts = counts.into_iter().collect::<Result<Vec<_>, _>>()?;
    let matmul_kernel = from_env("MSYM_MATMUL_KERNEL", parse_matmul_kernel)?;
    let mma = from_env(PROJ_CONV_MMA.var, |t| parse_count(&PROJ_CONV_MMA, t))?;
    let grads = from_env(PROJ_CONV_GRADS.var, |t| parse_count(&PROJ_CONV_GRADS, t))?;
    let scores = from_env(SSD_SCORES.var, |t| parse_count(&SSD_SCORES, t))?;
    let group_sums = from_env(GROUP_SUMS.var, |t| parse_count(&GROUP_SUMS, t))?;
    let linear_xbc = from_env(LINEAR_XBC.var, |t| parse_count(&LINEAR_XBC, t))?;
    let dt_staged = from_env(DT_STAGED.var, |t| parse_count(&DT_STAGED, t))?;
    let batches = from_env(GRAD_BATCHES.var, |t| parse_count(&GRAD_BATCHES, t))?;
    crate::grouped::set_grad_batches(batches.map(|n| n as usize));
    #[cfg(feature = "cubecl")]
    {
        // in the order of `counts`
        let settings = [
            &kernels::NORM_BACKWARD_PER_UNIT,
            &kernels::PROJ_CONV_PER,
            &kernels::PROJ_CONV_UNROLL,
            &kernels::PROJ_CONV_ROUNDS,
        ];
        for (setting, count) in settings.into_iter().zip(counts) {
            if let Some(k) = count {
                setting.set(k);
            }
        }
        if let Some(on) = mma {
            kernels::PROJ_CONV_MMA.store(on == 1, core::sync::atomic::Ordering::Relaxed);
        }
        if let Some(on) = grads {
            kernels::PROJ_CONV_GRADS.store(on == 1, core::sync::atomic::Ordering::Relaxed);
        }
        if let Some(on) = scores {
            kernels::SSD_KEEP_SCORES.store(on == 1, core::sync::atomic::Ordering::Relaxed);
        }
        if let Some(on) = linear_xbc {
            crate::fused_linear::set_linear_xbc(on == 1);
        }
        if let Some(on) = group_sums {
            kernels::GROUP_SUMS.store(on == 1, core::sync::atomic::Ordering::Relaxed);
        }
        if let Some(on) = dt_staged {
            kernels::dt_proj::DT_STAGED.store(on == 1, core::sync::atomic::Ordering::Relaxed);
        }
        if let Some(name) = matmul_kernel {
            let kernel = kernels::burn_op_matmul::MatmulKernel::from_name(name).expect("a parsed name");
            kernels::burn_op_matmul::set_matmul_kernel(kernel);
            crate::f32_matmul::set_f32_matmul(true);
        }
        if let Some((f, b)) = units {
            kernels::set_ssd_units(f, b);
        }
    }
    Ok(())
}

/// The variable `var` through `parse`, None where it is not set.
fn from_env<T>(var: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    std::env::var(var).ok().map(|t| parse(&t)).transpose()
}

/// A setting that is one whole number: its variable, the numbers allowed, what it counts (for
/// the sentence that refuses a bad value) and an example.
#[derive(Debug, Clone, Copy)]
pub struct Count {
    pub var: &'static str,
    pub range: (u32, u32),
    pub what: &'static str,
    pub example: u32,
}

/// MSYM_NORM_BWD_PER_UNIT: the gated norm backward's most tokens a unit a batch.
pub const NORM_BWD_PER_UNIT: Count = Count {
    var: "MSYM_NORM_BWD_PER_UNIT",
    range: (1, 32),
    what: "the most tokens a unit takes a batch",
    example: 4,
};

/// MSYM_PROJ_CONV_PER: the fused xBC product + conv's channels a unit.
pub const PROJ_CONV_PER: Count = Count {
    var: "MSYM_PROJ_CONV_PER",
    range: (1, 8),
    what: "the channels a unit takes",
    example: 2,
};

/// MSYM_PROJ_CONV_UNROLL: the fused xBC product + conv's steps over d_model unrolled at once.
pub const PROJ_CONV_UNROLL: Count = Count {
    var: "MSYM_PROJ_CONV_UNROLL",
    range: (1, 256),
    what: "the steps over d_model unrolled at once",
    example: 8,
};

/// MSYM_PROJ_CONV_ROUNDS: the token groups a cube of its tensor-core form takes in turn.
pub const PROJ_CONV_ROUNDS: Count = Count {
    var: "MSYM_PROJ_CONV_ROUNDS",
    range: (1, 4096),
    what: "the token groups a cube takes in turn",
    example: 16,
};

/// MSYM_PROJ_CONV_MMA: whether the fused xBC product + conv may use tensor cores.
pub const PROJ_CONV_MMA: Count = Count {
    var: "MSYM_PROJ_CONV_MMA",
    range: (0, 1),
    what: "1 (tensor cores where the GPU has them) or 0 (CUDA cores only)",
    example: 0,
};

/// MSYM_PROJ_CONV_GRADS: whether the product's gradients come from one tensor-core kernel.
pub const PROJ_CONV_GRADS: Count = Count {
    var: "MSYM_PROJ_CONV_GRADS",
    range: (0, 1),
    what: "1 (du and dW from one tensor-core kernel) or 0 (burn's two products)",
    example: 0,
};

/// MSYM_SSD_SCORES: whether the staged SSD forward keeps S for the backward.
pub const SSD_SCORES: Count = Count {
    var: "MSYM_SSD_SCORES",
    range: (0, 1),
    what: "1 (the SSD forward keeps S for the backward) or 0 (the backward forms S again)",
    example: 0,
};

/// MSYM_GROUP_SUMS: whether the per-group partials are summed by this project's kernel.
pub const GROUP_SUMS: Count = Count {
    var: "MSYM_GROUP_SUMS",
    range: (0, 1),
    what: "1 (the partials summed by kernels::linear::sum_groups) or 0 (burn's reduction)",
    example: 1,
};

/// MSYM_DT_STAGED: whether the dt kernels stage u's rows in shared memory.
pub const DT_STAGED: Count = Count {
    var: "MSYM_DT_STAGED",
    range: (0, 1),
    what: "1 (u's rows staged in shared memory) or 0 (each unit reads its own row)",
    example: 1,
};

/// MSYM_LINEAR_XBC: whether xBC's product gradients take the linear kernels at one replica.
pub const LINEAR_XBC: Count = Count {
    var: "MSYM_LINEAR_XBC",
    range: (0, 1),
    what: "1 (xBC's product gradients by the linear kernels at one replica) or 0 (burn's products)",
    example: 0,
};

/// MSYM_GRAD_BATCHES: the least R x G of a linear layer's weight-gradient products.
pub const GRAD_BATCHES: Count = Count {
    var: "MSYM_GRAD_BATCHES",
    range: (1, 1 << 20),
    what: "the least replicas x token groups of a weight gradient's products",
    example: 1152,
};

/// A [`Count`]'s value: a whole number in its range.
pub fn parse_count(c: &Count, text: &str) -> Result<u32, String> {
    let (lo, hi) = c.range;
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|k| (lo..=hi).contains(k))
        .ok_or_else(|| {
            format!(
                "{}={text:?}: expected {}, a whole number from {lo} to {hi} (e.g. \"{}\")",
                c.var, c.what, c.example
            )
        })
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
        assert_eq!(parse_count(&NORM_BWD_PER_UNIT, " 4"), Ok(4));
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
        assert_eq!(parse_count(&PROJ_CONV_PER, "2 "), Ok(2));
        assert_eq!(parse_count(&PROJ_CONV_UNROLL, "8"), Ok(8));
        for bad in ["0", "257", "x"] {
            let e = parse_count(&PROJ_CONV_UNROLL, bad).unwrap_err();
            assert!(
                e.starts_with("MSYM_PROJ_CONV_UNROLL=") && e.contains("1 to 256"),
                "{bad}: {e}"
            );
        }
        for bad in ["0", "9", "-1", "two", ""] {
            let e = parse_count(&PROJ_CONV_PER, bad).unwrap_err();
            assert!(
                e.starts_with("MSYM_PROJ_CONV_PER=") && e.contains("1 to 8"),
                "{bad}: {e}"
            );
        }
        assert_eq!(parse_count(&PROJ_CONV_ROUNDS, "4096"), Ok(4096));
        assert_eq!(parse_count(&PROJ_CONV_MMA, "0"), Ok(0));
        assert_eq!(parse_count(&PROJ_CONV_MMA, " 1"), Ok(1));
        assert_eq!(parse_count(&PROJ_CONV_GRADS, "0"), Ok(0));
        assert_eq!(parse_count(&SSD_SCORES, "1"), Ok(1));
        assert_eq!(parse_count(&GRAD_BATCHES, "1152"), Ok(1152));
        for (c, bad, range) in [
            (PROJ_CONV_ROUNDS, "0", "1 to 4096"),
            (PROJ_CONV_ROUNDS, "4097", "1 to 4096"),
            (PROJ_CONV_MMA, "2", "0 to 1"),
            (PROJ_CONV_MMA, "on", "0 to 1"),
            (PROJ_CONV_GRADS, "yes", "0 to 1"),
            (SSD_SCORES, "2", "0 to 1"),
            (GROUP_SUMS, "on", "0 to 1"),
            (LINEAR_XBC, "2", "0 to 1"),
            (DT_STAGED, "yes", "0 to 1"),
            (GRAD_BATCHES, "0", "1 to 1048576"),
            (GRAD_BATCHES, "1e3", "1 to 1048576"),
        ] {
            let e = parse_count(&c, bad).unwrap_err();
            assert!(e.starts_with(&format!("{}=", c.var)) && e.contains(range), "{bad}: {e}");
        }
        for bad in ["0", "33", "-1", "four", ""] {
            let e = parse_count(&NORM_BWD_PER_UNIT, bad).unwrap_err();
            assert!(
                e.starts_with("MSYM_NORM_BWD_PER_UNIT=") && e.contains("1 to 32"),
                "{bad}: {e}"
            );
        }
    }
}
