//! `cargo xtask <command>`: test, tidy, ci, bench and sim, in one place so CI and people run the same.

mod bench;
mod test;
mod tidy;

use std::process::Command;

use anyhow::{bail, Context};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        bail!("usage: cargo xtask <test|tidy|ci|bench|sim> [options]");
    };
    let rest = &args[1..];
    match command.as_str() {
        "test" => test::run(&workspace_root()?, rest),
        "tidy" => tidy::run(&workspace_root()?),
        "ci" => ci(),
        "bench" => bench::run(&workspace_root()?, rest),
        "sim" => cargo(&["run", "--release", "-q", "-p", "resolute-sim", "--"], rest),
        other => bail!("unknown command {other:?}; expected test, tidy, ci, bench or sim"),
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
