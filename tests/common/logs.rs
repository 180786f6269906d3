//! Every log line of a test binary, captured at TRACE so tests can scan them (for
//! audit lines, reload messages, and secrets that must never appear).

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

/// A log sink that keeps every byte written to it.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The binary's capture, installed as the global TRACE subscriber on first use.
pub fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        capture
    })
}

/// Every log line so far.
pub fn log_text() -> String {
    logs().text()
}

/// The hex SHA-256 of a caller token, as a policy file stores it.
pub fn sha(token: &str) -> String {
    use ring::digest::{digest, SHA256};
    hex::encode(digest(&SHA256, token.as_bytes()))
}
