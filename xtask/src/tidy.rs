//! Style and architecture checks a reviewer should not have to make by hand. Also run by
//! `cargo test` (see the test at the bottom), so a violation fails the build.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// Largest file and function, in lines.
const FILE_LINES_MAX: usize = 800;
const FUNCTION_LINES_MAX: usize = 70;
/// What the pure kernel may depend on.
const CORE_DEPENDENCIES: &[&str] = &["cron", "chrono", "url", "rand_core", "thiserror"];

pub fn run(root: &Path) -> anyhow::Result<()> {
    let problems = check(root)?;
    for problem in &problems {
        eprintln!("{problem}");
    }
    if !problems.is_empty() {
        bail!("tidy: {} problem(s)", problems.len());
    }
    eprintln!("tidy: ok");
    Ok(())
}

/// Every problem found, as `path:line: message`.
pub fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for path in rust_files(root)? {
        let text = std::fs::read_to_string(&path)?;
        let shown = path.strip_prefix(root).unwrap_or(&path).display().to_string();
        check_file(&shown, &text, &mut problems);
    }
    check_core_manifest(root, &mut problems)?;
    Ok(problems)
}

fn rust_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for top in ["crates", "xtask"] {
        collect(&root.join(top), &mut files)?;
    }
    files.sort();
    Ok(files)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        if path.is_dir() && name != "target" && !name.starts_with('.') {
            collect(&path, files)?;
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
    Ok(())
}

fn check_file(path: &str, text: &str, problems: &mut Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().find(|line| !line.trim().is_empty());
    if !first.is_some_and(|line| line.starts_with("//!")) {
        problems.push(format!("{path}:1: a module must open with a `//!` line"));
    }
    if lines.len() > FILE_LINES_MAX {
        problems.push(format!("{path}:1: {} lines (max {FILE_LINES_MAX})", lines.len()));
    }
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        if line.ends_with(' ') || line.ends_with('\t') {
            problems.push(format!("{path}:{number}: trailing whitespace"));
        }
        // Spelled in pieces so that this file does not flag itself.
        if line.contains(concat!("#[", "ignore")) || line.contains(concat!("#[", "should_panic")) {
            problems
                .push(format!("{path}:{number}: no ignored or should-panic tests; gate slow tests with an env var"));
        }
        check_clock(path, number, line, problems);
        check_unsafe(path, number, line, index.checked_sub(1).map(|i| lines[i]), problems);
    }
    check_functions(path, &lines, problems);
}

/// Time is a value below the edge: only the server's clock module reads the wall clock.
fn check_clock(path: &str, number: usize, line: &str, problems: &mut Vec<String>) {
    // The SQLite writer times its own idleness to pick which thread runs a batch, and the
    // checkpointer, the write-health record and failure streaks time log lines and readiness
    // probes; none of it changes a protocol outcome, so it needs no simulated clock.
    let scheduling_only = [
        "resolute-store/src/sqlite/writer.rs",
        "resolute-store/src/sqlite/checkpoint.rs",
        "resolute-store/src/sqlite/write_health.rs",
        "resolute-store/src/streak.rs",
    ]
    .iter()
    .any(|exempt| path.ends_with(exempt));
    let pure = (path.contains("resolute-core/")
        || path.contains("resolute-store/")
        || path.contains("resolute-sim/"))
        && !scheduling_only;
    if pure && (line.contains("SystemTime::now") || line.contains("Instant::now")) {
        problems.push(format!("{path}:{number}: no clock reads below the edge; pass `now` in"));
    }
    if line.contains("SystemTime::now")
        && path.contains("resolute-server/")
        && !path.ends_with("clock.rs")
    {
        problems.push(format!("{path}:{number}: only clock.rs reads the wall clock"));
    }
}

fn check_unsafe(
    path: &str,
    number: usize,
    line: &str,
    above: Option<&str>,
    problems: &mut Vec<String>,
) {
    let code = line.split("//").next().unwrap_or_default();
    if (code.contains(concat!("unsafe", " {")) || code.contains(concat!("unsafe", " fn")))
        && !above.is_some_and(|a| a.contains("SAFETY:"))
    {
        problems.push(format!("{path}:{number}: `unsafe` needs a `// SAFETY:` comment above it"));
    }
}

/// Counts each `fn` from its signature to its closing brace by indentation.
fn check_functions(path: &str, lines: &[&str], problems: &mut Vec<String>) {
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) async fn ",
        ]
        .iter()
        .any(|prefix| trimmed.starts_with(prefix));
        if !is_fn || trimmed.ends_with(';') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let closing = " ".repeat(indent) + "}";
        let end = lines[start..]
            .iter()
            .position(|l| *l == closing || l.starts_with(&(closing.clone() + " ")));
        if let Some(length) = end.map(|offset| offset + 1) {
            if length > FUNCTION_LINES_MAX {
                problems.push(format!(
                    "{path}:{}: function of {length} lines (max {FUNCTION_LINES_MAX})",
                    start + 1
                ));
            }
        }
    }
}

fn check_core_manifest(root: &Path, problems: &mut Vec<String>) -> anyhow::Result<()> {
    let manifest = std::fs::read_to_string(root.join("crates/resolute-core/Cargo.toml"))?;
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        let Some(name) = line.split(['=', '.', ' ']).next().filter(|name| !name.is_empty()) else {
            continue;
        };
        if in_dependencies && !CORE_DEPENDENCIES.contains(&name) {
            problems.push(format!(
                "crates/resolute-core/Cargo.toml: `{name}` is not on the kernel's allowlist"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_tidy() {
        let root = crate::workspace_root().expect("root");
        let problems = check(&root).expect("tidy ran");
        assert!(problems.is_empty(), "tidy problems:\n{}", problems.join("\n"));
    }

    #[test]
    fn long_functions_and_missing_docs_are_caught() {
        let body = "    x();\n".repeat(FUNCTION_LINES_MAX);
        let text = format!("fn long() {{\n{body}}}\n");
        let mut problems = Vec::new();
        check_file("f.rs", &text, &mut problems);
        assert!(problems.iter().any(|p| p.contains("`//!`")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("function of")), "{problems:?}");
    }
}
