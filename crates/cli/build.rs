//! Records the git commit (and whether the tree was dirty) at build time, so a binary
//! carried to a machine without the repository (the GPU machine) still says where it came
//! from in every run's manifest.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map_or("unknown".into(), |s| (!s.is_empty()).to_string());
    println!("cargo:rustc-env=MSYM_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=MSYM_BUILD_DIRTY={dirty}");
    // Rebuild the stamp when HEAD moves or the index changes.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
    }
}
