//! Instructions per call, counted by callgrind (`UNARY_BENCH_CALLGRIND=1`).
//!
//! On a shared 2-core machine wall-clock and /proc CPU figures move with whatever else
//! runs; callgrind counts the instructions the gateway executes in user space, which are
//! the same for the same binary and calls whatever the load. So a change to the hot path
//! can be judged on a busy machine: the gateway runs under
//! `valgrind --tool=callgrind`, its counters are zeroed before a kind's calls and dumped
//! after them, and the dump's total divided by the calls is the figure. Kernel work
//! (syscalls, loopback TCP) is not counted; the CPU figures of the normal run cover it.
//! Needs valgrind on PATH (Debian's `valgrind` package; not installed by `.ci/run`, which
//! runs no benchmark).

use super::calls::Caller;
use super::Kind;
use std::{path::Path, process::Command};

/// Where callgrind writes its dumps (`%p` is the gateway's pid).
pub(crate) const OUT_PATTERN: &str = "/tmp/qencode-unary-callgrind.%p";

/// The command prefix that runs the gateway under callgrind, with nothing collected
/// until the first zeroing (start-up is not the hot path).
pub(crate) fn wrapper() -> Vec<String> {
    [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=yes",
        &format!("--callgrind-out-file={OUT_PATTERN}"),
    ]
    .map(String::from)
    .to_vec()
}

/// Instructions (Ir) per call of `kind` over `calls` sequential calls after a warm-up.
pub(crate) async fn per_call(caller: &mut Caller, pid: u32, kind: Kind, calls: usize) -> f64 {
    for _ in 0..50 {
        caller.call(kind).await;
    }
    control(pid, "--zero");
    for _ in 0..calls {
        caller.call(kind).await;
    }
    let before = dumps(pid);
    control(pid, "--dump");
    let dump = newest_dump(pid, &before);
    let total = total_instructions(&dump);
    total as f64 / calls as f64
}

fn control(pid: u32, action: &str) {
    let ok = Command::new("callgrind_control")
        .arg(action)
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "callgrind_control {action} {pid} failed");
}

fn dumps(pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = OUT_PATTERN.replace("%p", &pid.to_string());
    let dir = Path::new(&prefix).parent().expect("dump directory");
    let name = Path::new(&prefix)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("dump name")
        .to_owned();
    std::fs::read_dir(dir)
        .expect("read dump directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&name))
        })
        .collect()
}

/// The dump written by the last `--dump` (callgrind_control waits until it is written).
fn newest_dump(pid: u32, before: &[std::path::PathBuf]) -> std::path::PathBuf {
    dumps(pid)
        .into_iter()
        .find(|p| !before.contains(p))
        .expect("callgrind wrote no new dump")
}

/// The `summary:` (or `totals:`) line of a dump: all events, first one is Ir.
fn total_instructions(dump: &Path) -> u64 {
    let text = std::fs::read_to_string(dump).expect("read dump");
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("dump has a summary line")
}
