//! On a terminal, `qgw transcode --watch` draws progress bars (run under util-linux
//! `script`, which gives the command a pseudo-terminal).

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn progress_bars_on_a_terminal() {
    let script = tokio::process::Command::new("script")
        .arg("--version")
        .output()
        .await;
    if !script.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: util-linux `script` is not installed; no pseudo-terminal test");
        return;
    }
    let env = common::start().await;
    let shell = format!(
        "stty cols 120 rows 40; {} --target {} transcode --source https://example.com/v.mp4 --format mp4:640x360 --watch",
        env!("CARGO_BIN_EXE_qgw"),
        env.target()
    );
    let mut command = tokio::process::Command::new("script");
    command.args(["-qec", &shell, "/dev/null"]);
    let output = common::run_bounded(command).await;
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", common::text(&output));
    assert!(
        screen.contains("[=") || screen.contains("=>"),
        "bar characters: {screen}"
    );
    assert!(screen.contains("completed"), "{screen}");
    env.stop();
}
