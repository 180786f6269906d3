//! A closed stdout (`qgw status t | head -1` once head has exited) ends the command
//! quietly with exit 0, like `git log | head`: no panic, nothing on stderr.

mod common;

use std::process::Output;

/// Asserts the run stopped quietly.
fn assert_quiet(output: &Output, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: {}",
        common::text(output)
    );
    assert!(
        output.stderr.is_empty(),
        "{what}: nothing on stderr: {}",
        common::text(output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_stops_each_printing_path_quietly() {
    let env = common::start().await;
    let output = env
        .qgw(&[
            "--json",
            "transcode",
            "--source",
            "https://example.com/a.mp4",
            "--format",
            "mp4",
        ])
        .await;
    let token = common::json_field(&common::ok_stdout(&output), "task_token");

    for args in [
        vec!["status", token.as_str()],
        vec!["--json", "status", token.as_str()],
        // Plain progress lines, then JSON event lines.
        vec!["watch", token.as_str()],
        vec!["--json", "watch", token.as_str()],
        vec!["completions", "bash"],
    ] {
        let mut command = common::qgw();
        command.arg("--target").arg(env.target()).args(&args);
        let output = common::run_bounded_to(command, common::closed_pipe()).await;
        assert_quiet(&output, &args.join(" "));
    }
    env.stop();
}
