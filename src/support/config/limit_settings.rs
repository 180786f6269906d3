//! Settings that bound what one client can make the gateway hold: connections, time to
//! speak, HTTP request sizes, HTTP/2 flow-control windows, the size of a raw query.
//! Flattened into [`super::Config`]; kept apart so the settings file stays readable.

use super::{parse_byte_size, parse_interval};
use clap::Args;
use std::time::Duration;

/// Connection and request limits.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Most open connections per listener (gRPC, HTTP callbacks and admin each). Past it
    /// a new connection is accepted and closed at once (logged, rate-limited, and
    /// counted in gateway_limit_hits_total).
    #[arg(long, hide = true, env = "GATEWAY_MAX_CONNECTIONS", default_value = "10000", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Time a new connection gets to send its opening bytes (the HTTP/2 preface on the
    /// gRPC listener, a first byte on the HTTP ones); then it is closed.
    #[arg(long, hide = true, env = "GATEWAY_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    pub handshake_timeout: Duration,
    /// A connection on which nothing was read for this long is closed. Live gRPC peers
    /// answer the keepalive pings, so it must exceed the keepalive interval plus timeout
    /// [default: 5m, or twice the keepalive interval plus timeout when that is longer].
    #[arg(long, hide = true, env = "GATEWAY_IDLE_TIMEOUT", value_parser = parse_interval)]
    pub idle_timeout: Option<Duration>,
    /// A connection whose peer takes no byte for this long while the gateway has bytes
    /// waiting for it (the peer's TCP window stays shut: it stopped reading its socket)
    /// is closed, freeing every stream on it. HTTP/2 flow control cannot catch this: a
    /// client may grant a huge window and then never read.
    #[arg(long, hide = true, env = "GATEWAY_WRITE_STALL_TIMEOUT", default_value = "30s", value_parser = parse_interval)]
    pub write_stall_timeout: Duration,
    /// Time an HTTP/1 client gets to send a request's headers, counted from when the
    /// connection is ready for the next request (so it bounds idle keep-alive too).
    #[arg(long, hide = true, env = "GATEWAY_HTTP_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    pub http_header_read_timeout: Duration,
    /// Largest HTTP request body (Qencode callbacks), bytes or KiB/MiB/GiB; larger is 413.
    #[arg(long, hide = true, env = "GATEWAY_HTTP_MAX_BODY_SIZE", default_value = "1MiB", value_parser = parse_nonzero_size)]
    pub http_max_body_size: u64,
    /// Largest `query_json` accepted, and largest typed query (its protobuf encoding),
    /// bytes or KiB/MiB/GiB; larger is INVALID_ARGUMENT naming the field, before any
    /// upstream request.
    #[arg(long, hide = true, env = "GATEWAY_MAX_QUERY_JSON_SIZE", default_value = "1MiB", value_parser = parse_nonzero_size)]
    pub max_query_json_size: u64,
    /// HTTP/2 flow-control window of each gRPC stream: the most a client can send on a
    /// stream that the gateway has not read yet (64KiB to 1GiB).
    #[arg(long, hide = true, env = "GATEWAY_STREAM_WINDOW_SIZE", default_value = "1MiB", value_parser = parse_window)]
    pub stream_window_size: u32,
    /// HTTP/2 flow-control window of each gRPC connection, shared by its streams (64KiB
    /// to 1GiB, at least the stream window) [default: twice GATEWAY_STREAM_WINDOW_SIZE].
    #[arg(long, hide = true, env = "GATEWAY_CONNECTION_WINDOW_SIZE", value_parser = parse_window)]
    pub connection_window_size: Option<u32>,
}

/// The idle timeout when none is set: 5 minutes, or twice a keepalive round when that is
/// longer, so a live peer's ping answers always arrive well within it.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

impl Limits {
    /// The idle timeout in effect, given a keepalive round (interval plus timeout).
    pub fn idle_timeout(&self, keepalive: Duration) -> Duration {
        self.idle_timeout
            .unwrap_or_else(|| DEFAULT_IDLE_TIMEOUT.max(keepalive * 2))
    }

    /// The connection window in effect: its own, else twice the stream window (within
    /// HTTP/2's largest window).
    pub fn connection_window_size(&self) -> u32 {
        self.connection_window_size
            .unwrap_or_else(|| self.stream_window_size.saturating_mul(2).min(1 << 30))
    }

    /// Checks limits that are only wrong together with other settings.
    pub fn check(&self, keepalive: Duration) -> Result<(), String> {
        if let Some(idle) = self.idle_timeout.filter(|idle| *idle <= keepalive) {
            return Err(format!(
                "GATEWAY_IDLE_TIMEOUT ({idle:?}) must exceed GATEWAY_KEEPALIVE_INTERVAL + GATEWAY_KEEPALIVE_TIMEOUT ({keepalive:?}), or live gRPC connections would be closed"
            ));
        }
        if self.stream_window_size > self.connection_window_size() {
            return Err(
                "GATEWAY_STREAM_WINDOW_SIZE must not exceed GATEWAY_CONNECTION_WINDOW_SIZE".into(),
            );
        }
        Ok(())
    }
}

fn parse_nonzero_size(text: &str) -> Result<u64, String> {
    match parse_byte_size(text)? {
        0 => Err("must be at least 1 byte".into()),
        size => Ok(size),
    }
}

fn parse_window(text: &str) -> Result<u32, String> {
    let size = parse_byte_size(text)?;
    if !(1 << 16..=1 << 30).contains(&size) {
        return Err("must be from 64KiB to 1GiB".into());
    }
    u32::try_from(size).map_err(|_| "must be from 64KiB to 1GiB".into())
}

#[cfg(test)]
mod tests {
    use super::super::Cli;
    use clap::Parser;

    #[test]
    fn dependent_values_are_derived_unless_set() {
        use std::time::Duration;
        let parse = |args: &[&str]| {
            let mut all = vec!["qencode-gateway"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().gateway
        };
        let config = parse(&[]);
        assert_eq!(config.limits.connection_window_size(), 2 << 20);
        assert_eq!(config.live_poll_interval(), config.poll_interval);
        let keepalive = config.keepalive_interval + config.keepalive_timeout;
        assert_eq!(
            config.limits.idle_timeout(keepalive),
            Duration::from_secs(300)
        );
        // Derived from what was set: the connection window follows the stream window,
        // live polls follow task polls, and a long keepalive stretches the idle timeout.
        let config = parse(&[
            "--stream-window-size",
            "4MiB",
            "--poll-interval",
            "7s",
            "--keepalive-interval",
            "10m",
        ]);
        assert_eq!(config.limits.connection_window_size(), 8 << 20);
        assert_eq!(config.live_poll_interval(), Duration::from_secs(7));
        let keepalive = config.keepalive_interval + config.keepalive_timeout;
        assert_eq!(config.limits.idle_timeout(keepalive), keepalive * 2);
        assert!(config.check().is_ok(), "{:?}", config.check());
        // What is set wins.
        let config = parse(&[
            "--connection-window-size",
            "16MiB",
            "--live-poll-interval",
            "1s",
        ]);
        assert_eq!(config.limits.connection_window_size(), 16 << 20);
        assert_eq!(config.live_poll_interval(), Duration::from_secs(1));
    }

    #[test]
    fn limits_parse_and_are_checked_together() {
        let config = Cli::try_parse_from(["qencode-gateway"]).unwrap().gateway;
        assert_eq!(config.limits.max_connections, 10_000);
        assert_eq!(config.limits.stream_window_size, 1 << 20);
        assert_eq!(
            config.limits.write_stall_timeout,
            std::time::Duration::from_secs(30)
        );
        assert!(config.check().is_ok());
        for bad in [
            ["--max-connections", "0"],
            ["--stream-window-size", "1KiB"],
            ["--http-max-body-size", "0"],
            ["--handshake-timeout", "1ms"],
            ["--write-stall-timeout", "0s"],
        ] {
            let err = Cli::try_parse_from(["qencode-gateway", bad[0], bad[1]]).unwrap_err();
            assert!(err.to_string().contains(bad[0]), "{err}");
        }
        let idle = Cli::try_parse_from(["qencode-gateway", "--idle-timeout", "20s"])
            .unwrap()
            .gateway;
        assert!(idle.check().unwrap_err().contains("GATEWAY_IDLE_TIMEOUT"));
        let windows = Cli::try_parse_from([
            "qencode-gateway",
            "--stream-window-size",
            "4MiB",
            "--connection-window-size",
            "1MiB",
        ])
        .unwrap()
        .gateway;
        assert!(windows.check().unwrap_err().contains("WINDOW"));
    }
}
