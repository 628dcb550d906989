//! The TOML config file. Precedence, lowest first: built-in defaults < the config file < `RESONATE_*`
//! environment variables < command-line flags — as in Resonate. The file's keys use Resonate's
//! names (`[server] port = 8001`, `[storage.sqlite] path = "…"`, `debug = true`); each becomes the
//! `RESONATE_<SECTION>__<KEY>` variable unless that variable is already set, so one parser (clap)
//! validates every source the same way and reports a bad value with its name.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Files tried when `--config` is not given, in order.
const DEFAULT_FILES: &[&str] = &["resolute.toml", "resonate.toml"];

/// Finds the config file: `--config PATH` / `--config=PATH` among the arguments, else a default
/// file in the working directory if one exists.
pub fn locate(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    DEFAULT_FILES.iter().map(PathBuf::from).find(|path| path.is_file())
}

/// Reads the file and exports its keys as environment variables not already set.
pub fn apply(path: &Path) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        text.parse().with_context(|| format!("{} is not valid TOML", path.display()))?;
    let mut pairs = Vec::new();
    flatten("RESONATE", &table, &mut pairs);
    let mut applied = 0;
    for (name, value) in pairs {
        if std::env::var_os(&name).is_none() {
            // Single-threaded: this runs first thing in main, before any runtime or thread starts.
            std::env::set_var(&name, value);
            applied += 1;
        }
    }
    Ok(applied)
}

fn flatten(prefix: &str, table: &toml::Table, pairs: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let name = format!(
            "{prefix}{}{}",
            if prefix == "RESONATE" { "_" } else { "__" },
            key.to_uppercase()
        );
        match value {
            toml::Value::Table(inner) => flatten(&name, inner, pairs),
            toml::Value::String(text) => pairs.push((name, text.clone())),
            // The flags that take lists (CORS origins) read them comma-separated.
            toml::Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned))
                    .collect();
                pairs.push((name, items.join(",")));
            }
            other => pairs.push((name, other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_become_resonate_variables() {
        let table: toml::Table =
            "debug = true\n[server]\nport = 9\n[server.cors]\nallow_origins = [\"http://a.test\", \"*\"]\n[storage.sqlite]\npath = \"x.db\"\n"
                .parse()
                .unwrap();
        let mut pairs = Vec::new();
        flatten("RESONATE", &table, &mut pairs);
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("RESONATE_DEBUG".into(), "true".into()),
                ("RESONATE_SERVER__CORS__ALLOW_ORIGINS".into(), "http://a.test,*".into()),
                ("RESONATE_SERVER__PORT".into(), "9".into()),
                ("RESONATE_STORAGE__SQLITE__PATH".into(), "x.db".into()),
            ]
        );
    }

    #[test]
    fn the_config_flag_wins_over_default_files() {
        let args = vec!["resolute".into(), "serve".into(), "--config=/etc/r.toml".into()];
        assert_eq!(locate(&args), Some(PathBuf::from("/etc/r.toml")));
    }
}
