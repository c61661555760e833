//! manifest.json of a run: where the result came from (git commit and dirty flag, burn
//! version, device, command line, replicas and their data digests) and how long it took.

use std::process::Command;

use serde_json::{Value, json};

/// `git rev-parse HEAD` and whether `git status --porcelain` shows changes, in the
/// current directory; "unknown" outside a git checkout.
pub fn git_state() -> (String, Option<bool>) {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(commit) => (commit, run(&["status", "--porcelain"]).map(|s| !s.is_empty())),
        None => ("unknown".into(), None),
    }
}

/// The manifest at the start of a run.
pub fn start(device: &str, replicas: Value) -> Value {
    let (commit, dirty) = git_state();
    json!({
        "msym_version": env!("CARGO_PKG_VERSION"),
        "burn_version": "0.21.0",
        "git_commit": commit,
        "git_dirty": dirty,
        // Where the binary was built (the GPU machine has no checkout, so git_commit can be
        // "unknown" there while this still names the source).
        "build_commit": env!("MSYM_BUILD_COMMIT"),
        "build_dirty": env!("MSYM_BUILD_DIRTY"),
        "build_features": crate::backend::BUILD_FEATURES,
        // each speed path's switch and the layer calls that took it in this process so far
        // (the manifest is written after training): calls 0 where the backend or dtype keeps
        // the plain ops (the CPU, bf16) whatever the switch says
        "fused_ssd": crate::backend::fused_ssd(),
        "fused_conv": crate::backend::fused_conv(),
        "fused_norm": crate::backend::fused_norm(),
        "split_in_proj": crate::backend::split_in_proj(),
        "device": device,
        "command": std::env::args().collect::<Vec<_>>(),
        "started_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "replicas": replicas,
    })
}
