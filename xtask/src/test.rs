//! `cargo xtask test`: installs what the end-to-end suites need, then runs `cargo test --workspace`
//! with `RESOLUTE_E2E=1`, so that a suite whose tools are missing fails instead of skipping.
//!
//! Conventions (one per kind of tool, so a new suite needs no change here):
//! - every `e2e/<suite>/package-lock.json` gets `npm ci` (skipped when `node_modules` is newer);
//! - every `e2e/<suite>/requirements-<tag>.txt` gets a Python ≥ 3.12 virtualenv at
//!   `target/e2e-venv/<suite>-<tag>` with those requirements installed;
//! - Debian's `chromium` (dashboard test) and `postgresql` (PostgreSQL store tests) are installed
//!   with apt when missing and we are root; otherwise the missing tool is reported.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// Debian packages the suites need, with a file that shows each is installed.
const APT_PACKAGES: &[(&str, &str)] =
    &[("chromium", "/usr/bin/chromium"), ("postgresql", "/usr/lib/postgresql")];

pub fn run(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    install_apt_packages()?;
    for suite in suites(root)? {
        install_npm(&suite)?;
        install_python(root, &suite)?;
    }
    eprintln!("xtask: cargo test --workspace {}", extra.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(["test", "--workspace"])
        .args(extra)
        .env("RESOLUTE_E2E", "1")
        .status()?;
    if !status.success() {
        bail!("cargo test --workspace failed ({status})");
    }
    Ok(())
}

fn suites(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut suites = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join("e2e")) else { return Ok(suites) };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            suites.push(path);
        }
    }
    suites.sort();
    Ok(suites)
}

fn install_apt_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(_, marker)| !Path::new(marker).exists())
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        eprintln!("xtask: missing Debian packages {missing:?}; install them (apt-get install …)");
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages {missing:?}");
    run_command(Command::new("apt-get").args(["update", "-q"]))?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-q", "--no-install-recommends"]).args(&missing);
    install.env("DEBIAN_FRONTEND", "noninteractive");
    run_command(&mut install)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn install_npm(suite: &Path) -> anyhow::Result<()> {
    let lock = suite.join("package-lock.json");
    if !lock.exists() {
        return Ok(());
    }
    let modules = suite.join("node_modules");
    if is_newer(&modules, &lock) {
        return Ok(());
    }
    eprintln!("xtask: npm ci in {}", suite.display());
    run_command(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(suite))?;
    // npm ci keeps the lock file's time; touch the tree so the next run can skip the install.
    let now = std::fs::File::open(&modules)?;
    now.set_modified(std::time::SystemTime::now())?;
    Ok(())
}

fn install_python(root: &Path, suite: &Path) -> anyhow::Result<()> {
    let name = suite.file_name().and_then(|name| name.to_str()).unwrap_or("suite");
    for entry in std::fs::read_dir(suite)? {
        let path = entry?.path();
        let file = path.file_name().and_then(|file| file.to_str()).unwrap_or("");
        let Some(tag) = file.strip_prefix("requirements-").and_then(|t| t.strip_suffix(".txt"))
        else {
            continue;
        };
        let venv = root.join("target/e2e-venv").join(format!("{name}-{tag}"));
        let stamp = venv.join(".installed");
        if is_newer(&stamp, &path) {
            continue;
        }
        eprintln!("xtask: python venv {} from {}", venv.display(), path.display());
        let python = python_312()?;
        run_command(Command::new(&python).arg("-m").arg("venv").arg("--clear").arg(&venv))?;
        let pip = venv.join("bin/pip");
        run_command(Command::new(&pip).args(["install", "-q", "-r"]).arg(&path))?;
        std::fs::write(&stamp, b"")?;
    }
    Ok(())
}

/// A Python ≥ 3.12 interpreter: on PATH, or one of pyenv's versions (these machines carry them).
fn python_312() -> anyhow::Result<PathBuf> {
    for name in ["python3.13", "python3.12"] {
        if Command::new(name).arg("--version").output().is_ok_and(|out| out.status.success()) {
            return Ok(PathBuf::from(name));
        }
    }
    let home = std::env::var("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|home| Path::new(&home).join(".pyenv")))
        .context("neither PYENV_ROOT nor HOME is set")?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("versions"))
        .context("no Python ≥ 3.12 on PATH and no pyenv versions directory")?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            let version = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            version.starts_with("3.12") || version.starts_with("3.13")
        })
        .map(|path| path.join("bin/python3"))
        .filter(|python| python.exists())
        .collect();
    found.sort();
    found.pop().context("no Python ≥ 3.12 found (pyenv versions has none)")
}

/// Whether `target` exists and was modified after `source`.
fn is_newer(target: &Path, source: &Path) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|meta| meta.modified()).ok();
    match (modified(target), modified(source)) {
        (Some(target), Some(source)) => target > source,
        _ => false,
    }
}

fn run_command(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
