//! `cargo xtask <command>`: test, tidy, ci, bench, sim and fuzz, in one place so CI and people run the same.

mod bench;
mod test;
mod tidy;

use std::process::Command;

use anyhow::{bail, Context};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        bail!("usage: cargo xtask <test|tidy|ci|bench|sim|fuzz> [options]");
    };
    let rest = &args[1..];
    match command.as_str() {
        "--help" | "-h" | "help" => {
            println!("usage: cargo xtask <test|tidy|ci|bench|sim|fuzz> [options]");
            println!("  cargo xtask bench --help   the benchmark's options");
            Ok(())
        }
        "test" => test::run(&workspace_root()?, rest),
        "tidy" => tidy::run(&workspace_root()?),
        "ci" => ci(),
        "bench" => bench::run(&workspace_root()?, rest),
        "sim" => cargo(&["run", "--release", "-q", "-p", "resolute-sim", "--"], rest),
        "fuzz" => fuzz(&workspace_root()?, rest),
        other => bail!("unknown command {other:?}; expected test, tidy, ci, bench, sim or fuzz"),
    }
}

/// The repository root: the parent of this crate's directory.
pub fn workspace_root() -> anyhow::Result<std::path::PathBuf> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(|root| root.to_path_buf()).context("xtask has no parent directory")
}

/// What CI runs: formatting, lints, every test, tidy.
fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[])?;
    test::run(&workspace_root()?, &[])?;
    tidy::run(&workspace_root()?)
}

fn cargo(args: &[&str], extra: &[String]) -> anyhow::Result<()> {
    eprintln!("xtask: cargo {} {}", args.join(" "), extra.join(" "));
    let status = Command::new(env!("CARGO")).args(args).args(extra).status()?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// `cargo xtask fuzz [envelope|operation] [seconds]`: libFuzzer for a bounded time, from the seed
/// corpus (needs cargo-fuzz and a nightly toolchain; `cargo test` runs the same checks on stable).
fn fuzz(root: &std::path::Path, args: &[String]) -> anyhow::Result<()> {
    let target = args.first().map(String::as_str).unwrap_or("envelope");
    let seconds: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(60);
    let work = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&work)?;
    let seeds = root.join("crates/resolute-fuzz/corpus");
    eprintln!("xtask: fuzzing {target} for {seconds} s (corpus {})", work.display());
    let status = Command::new("cargo")
        .args(["+nightly", "fuzz", "run", target])
        .arg(&work)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .current_dir(root.join("fuzz"))
        .status()
        .context(
            "running cargo fuzz (cargo install cargo-fuzz; rustup toolchain install nightly)",
        )?;
    if !status.success() {
        bail!("fuzzing {target} found a failure ({status}); see fuzz/artifacts/{target}");
    }
    Ok(())
}
