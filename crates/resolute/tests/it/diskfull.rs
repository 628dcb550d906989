//! A full disk: the database lives on a small tmpfs the test mounts, another "process" (the test)
//! fills it, and the server must answer writes with a clear error, keep serving reads, say what
//! is wrong in `/ready` and its log, and write again once space is freed, without a restart and
//! without losing or inventing a write. Needs to mount (root with CAP_SYS_ADMIN, as on the CI
//! machine); skipped, with a line saying so, where it cannot.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::Server;

/// The tmpfs: room for the database and its WAL, small enough to fill in a moment.
const TMPFS_SIZE: &str = "16m";
/// A payload much larger than the WAL's spare room, so its commit needs new blocks.
const BIG_PARAM_BYTES: usize = 1 << 20;

/// A tmpfs mounted on a temporary directory; unmounted when dropped.
struct Tmpfs {
    mount_point: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(test: &str) -> Option<Tmpfs> {
        let mount_point = tempfile::tempdir().expect("mount point");
        let options = format!("size={TMPFS_SIZE}");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(mount_point.path())
            .status()
            .is_ok_and(|status| status.success());
        if mounted {
            return Some(Tmpfs { mount_point });
        }
        // Not an E2E failure: root in a container without CAP_SYS_ADMIN cannot mount either, and
        // that says nothing about the server.
        eprintln!("SKIPPED {test}: cannot mount a tmpfs (needs root with CAP_SYS_ADMIN)");
        None
    }

    fn path(&self) -> &Path {
        self.mount_point.path()
    }

    /// Writes a filler file until the filesystem has no room left; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let block = vec![0_u8; 64 * 1024];
        // Bounded: the tmpfs holds at most 16 MiB, that is 256 blocks.
        for _ in 0..1024 {
            if file.write_all(&block).is_err() {
                return path;
            }
        }
        panic!("the tmpfs never filled up");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the server (already killed by then) may still be closing its files.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

fn create(id: &str, param_bytes: usize) -> Value {
    json!({
        "kind": "promise.create",
        "head": {"corrId": id, "version": "2026-04-01"},
        "data": {"id": id, "timeoutAt": 4_000_000_000_000_i64,
                 "param": {"headers": {}, "data": "a".repeat(param_bytes)}, "tags": {}},
    })
}

async fn promise_status(server: &Server, id: &str) -> u16 {
    server.rpc("promise.get", json!({"id": id})).await.0
}

/// Polls `/ready` until it answers `want` or `bound` passes; returns the last answer.
async fn ready_until(server: &Server, want: u16, bound: Duration) -> (u16, String) {
    let deadline = Instant::now() + bound;
    loop {
        let answer = server.get("/ready").await;
        if answer.0 == want || Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_full_disk_fails_writes_clearly_keeps_reads_and_recovers_when_space_is_freed() {
    let Some(tmpfs) = Tmpfs::mount("diskfull") else { return };
    let logs = tempfile::tempdir().expect("log dir");
    let log = logs.path().join("server.log");
    let dir = tempfile::tempdir_in(tmpfs.path()).expect("server dir on the tmpfs");
    let server = Server::start_in(dir, &[], log.clone());

    let acked: Vec<String> = (0..20).map(|n| format!("before.{n}")).collect();
    for id in &acked {
        assert_eq!(server.send(create(id, 100)).await.0, 200, "create {id} before the fault");
    }
    let filler = tmpfs.fill();

    // Writes fail with the protocol's error envelope and a message naming the cause.
    let (status, body) = server.send(create("during.big", BIG_PARAM_BYTES)).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["head"]["status"], 500, "{body}");
    let message = body["data"].as_str().unwrap_or_default();
    assert_eq!(message, "Internal error: storage unavailable: database or disk is full");
    // Reads go on; the failed write left nothing behind.
    assert_eq!(promise_status(&server, "before.0").await, 200);
    assert_eq!(promise_status(&server, "during.big").await, 404);
    assert_eq!(server.get("/health").await.0, 200, "the loops still run");
    let (ready, why) = server.get("/ready").await;
    assert_eq!(ready, 503, "readiness reports the failing writes: {why}");
    assert!(why.contains("full"), "{why}");

    std::fs::remove_file(filler).expect("free the space");
    let (ready, why) = ready_until(&server, 200, Duration::from_secs(5)).await;
    assert_eq!(ready, 200, "ready again without a write from outside: {why}");
    let (status, body) = server.send(create("after.big", BIG_PARAM_BYTES)).await;
    assert_eq!(status, 200, "writes work again without a restart: {}", &body.to_string()[..200]);
    for id in &acked {
        assert_eq!(promise_status(&server, id).await, 200, "{id} survived the fault");
    }
    drop(server);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(said.contains("full"), "the log names the cause:\n{said}");
}
