//! The resolute binary: parse flags, open the store, serve until SIGINT/SIGTERM.

mod cli;
mod client;
mod commands;
mod config_file;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use resolute_store::sqlite::WriterHome;
use resolute_store::{SqliteStore, Store};
use tokio::net::TcpListener;

use crate::cli::{Cli, Command, ServeArgs, SynchronousArg};

/// jemalloc instead of glibc malloc for Rust's allocations: a dispatched task allocates and frees a
/// few hundred small buffers (request bodies, JSON values, SQL parameters), and glibc's malloc/free
/// were about a tenth of the server's instructions under dispatch load; jemalloc cuts that to a
/// third (callgrind, loadgen `dispatch-push` at 8 clients). mimalloc did as well on instructions
/// but its resident memory kept growing under a 60 s `dispatch-poll` at 64 clients (66 → 90 MiB),
/// where glibc and jemalloc level off near 60 MiB. SQLite's own allocations still use libc malloc.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(path) = config_file::locate(&args) {
        let applied = config_file::apply(&path)?;
        eprintln!("resolute: {applied} setting(s) from {}", path.display());
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Dev(args) => serve(dev_defaults(args)),
        client => run_client(client),
    }
}

/// Client subcommands run on a small runtime of their own and exit non-zero on failure.
fn run_client(command: Command) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Serve(_) | Command::Dev(_) => unreachable_serve(),
            Command::Promises(command) => commands::promises(command).await,
            Command::Tasks(command) => commands::tasks(command).await,
            Command::Schedules(command) => commands::schedules(command).await,
            Command::Doctor(connection) => commands::doctor(connection).await,
            Command::Explain { id, connection } => commands::explain(id, connection).await,
        }
    })
}

fn unreachable_serve() -> anyhow::Result<()> {
    anyhow::bail!("serve is not a client command")
}

/// `dev`: debug on, a file of its own next to the working directory, and a map printed at start.
fn dev_defaults(mut args: ServeArgs) -> ServeArgs {
    args.debug = true;
    if args.storage_sqlite_path == std::path::Path::new("resolute.db") {
        args.storage_sqlite_path = "resolute-dev.db".into();
    }
    eprintln!("resolute dev");
    if args.server_port == 0 {
        // The port is picked when the listener binds: the `resolute listening on` line names it.
        eprintln!(
            "  API        port chosen at start (see `resolute listening on`), debug operations on"
        );
        eprintln!("  dashboard  /dashboard on that address");
        eprintln!("  health     /health on that address");
    } else {
        let url = format!("http://{}:{}", args.server_host, args.server_port);
        eprintln!("  API        {url}/  (debug operations on)");
        eprintln!("  dashboard  {url}/dashboard");
        eprintln!("  health     {url}/health");
    }
    match args.observability_metrics_port {
        0 => eprintln!("  metrics    disabled"),
        port => eprintln!("  metrics    http://{}:{port}/metrics", args.server_host),
    }
    eprintln!("  database   {}", args.storage_sqlite_path.display());
    args
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.level, args.log_format);
    let open_files = raise_open_file_limit();
    let config = args.server_config()?;
    warn_if_fds_below_connections(open_files, config.listener.max_connections);
    let runtime = build_runtime(args.server_threads)?;
    let store = open_store(&args, &config, runtime.handle())?;
    runtime.block_on(async move {
        let mut config = config;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let local = listener.local_addr()?;
        if args.server_url.is_none() && args.server_port == 0 {
            config.server_url = format!("http://{}:{}", args.server_host, local.port());
        }
        // Tests and scripts read this line to learn the port when `--server-port 0` was given.
        println!("resolute listening on http://{local}");
        tracing::info!(listen = %local, url = %config.server_url, "resolute serving");
        resolute_server::serve(listener, store, config, shutdown_signal()).await?;
        tracing::info!("resolute stopped");
        Ok(())
    })
}

/// The runtime `--server-threads` asks for: one thread, or a pool (0: one worker per core).
fn build_runtime(threads: u16) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if threads > 1 {
        builder.worker_threads(usize::from(threads));
    }
    builder.enable_all().build()
}

/// Where the SQLite writer runs: on the one runtime thread when its commits do not fsync (no
/// hand-off between threads per request), else on a thread of its own.
fn writer_home(args: &ServeArgs, runtime: &tokio::runtime::Handle) -> WriterHome {
    let fsyncs = matches!(args.storage_sqlite_synchronous, SynchronousArg::Full);
    if args.server_threads == 1 && !fsyncs {
        WriterHome::Runtime(runtime.clone())
    } else {
        WriterHome::OwnThread
    }
}

/// Opens the storage `--storage-type` names; an unknown type or a missing URL stops the start.
fn open_store(
    args: &ServeArgs,
    config: &resolute_server::ServerConfig,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<Arc<dyn Store>> {
    match args.storage_type.as_str() {
        "sqlite" => {
            let synchronous = args.storage_sqlite_synchronous.into();
            let path = &args.storage_sqlite_path;
            let home = writer_home(args, runtime);
            let store = SqliteStore::open_homed(path, config.kernel.clone(), synchronous, home)
                .with_context(|| format!("opening {}", path.display()))?;
            tracing::info!(path = %path.display(), "sqlite store open");
            Ok(Arc::new(store))
        }
        "postgres" => {
            let url = args.storage_postgres_url.clone().context(
                "--storage-type postgres needs --storage-postgres-url (RESONATE_STORAGE__POSTGRES__URL)",
            )?;
            let pool_size = usize::from(args.storage_postgres_pool_size);
            let pg = resolute_store::PgConfig { url, pool_size };
            let store = resolute_store::PgStore::open(&pg, config.kernel.clone())
                .context("opening the PostgreSQL store")?;
            tracing::info!(pool_size, "postgres store open");
            Ok(Arc::new(store))
        }
        other => {
            anyhow::bail!("invalid --storage-type {other:?}: expected \"sqlite\" or \"postgres\"")
        }
    }
}

/// Every connection is a file descriptor: lift the soft limit to the hard one, say both, and
/// return the limit now in force.
fn raise_open_file_limit() -> Option<u64> {
    let before = rlimit::Resource::NOFILE.get();
    match (before, rlimit::increase_nofile_limit(u64::MAX)) {
        (Ok((soft_before, hard)), Ok(soft)) => {
            tracing::info!(soft_before, soft, hard, "open-file limit");
            Some(soft)
        }
        (_, Err(error)) | (Err(error), _) => {
            tracing::warn!(%error, "could not read or raise the open-file limit");
            None
        }
    }
}

/// File descriptors the server needs besides client connections (store files, listeners, push
/// connections, the runtime), as a rough allowance.
const FDS_BESIDES_CONNECTIONS: u64 = 256;

/// The connection limit cannot protect the process if accept runs out of fds first: say so.
/// Not an error: the accept loop survives fd exhaustion, it just answers nobody meanwhile.
fn warn_if_fds_below_connections(open_files: Option<u64>, max_connections: usize) {
    let wanted =
        u64::try_from(max_connections).unwrap_or(u64::MAX).saturating_add(FDS_BESIDES_CONNECTIONS);
    if let Some(limit) = open_files.filter(|limit| *limit < wanted) {
        tracing::warn!(
            open_file_limit = limit,
            max_connections,
            "the open-file limit is below --server-max-connections plus {FDS_BESIDES_CONNECTIONS}: \
             accept may fail with EMFILE before the connection limit is reached"
        );
    }
}

fn init_logging(level: &str, format: cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Human => logs.with_target(false).init(),
        cli::LogFormat::Json => logs.json().init(),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
