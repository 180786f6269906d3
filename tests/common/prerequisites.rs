//! The programs the end-to-end tests start besides the gateway, checked once per test
//! binary before its first test uses them.
//!
//! Without one, a test used to fail deep inside (a panic with a backtrace in the first
//! fleet binary), and cargo's fail-fast then skipped every binary after it, so the one
//! cause was hard to see. Now the first check prints one line naming each missing
//! program and the command that installs it, and ends the binary at once: no panic, no
//! backtrace, no test after it running into the same wall.

use std::{io::Write, process::Command, sync::OnceLock};

/// Each program the suite runs, and how to install it (Debian/Ubuntu, as `.ci/run`).
const PROGRAMS: &[(&str, &str)] = &[("redis-server", "apt-get install -y redis-server")];

/// Ends the test binary with one line on stderr when a program of [`PROGRAMS`] is
/// missing; runs the check once per binary.
pub fn check() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let missing: Vec<String> = PROGRAMS
            .iter()
            .filter(|(program, _)| !runs(program))
            .map(|(program, install)| format!("{program} (install: {install})"))
            .collect();
        if !missing.is_empty() {
            // Straight to the process's stderr: the test harness captures `eprintln!`,
            // and what it captured is lost at `exit`.
            let _ = writeln!(
                std::io::stderr(),
                "the test suite needs programs that are not on PATH: {}",
                missing.join(", ")
            );
            std::process::exit(1);
        }
    });
}

/// True when `program --version` runs and succeeds.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}
