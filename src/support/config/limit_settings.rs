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
    /// answer the keepalive pings, so it must exceed the keepalive interval plus timeout.
    #[arg(long, hide = true, env = "GATEWAY_IDLE_TIMEOUT", default_value = "5m", value_parser = parse_interval)]
    pub idle_timeout: Duration,
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
    /// to 1GiB, at least the stream window).
    #[arg(long, hide = true, env = "GATEWAY_CONNECTION_WINDOW_SIZE", default_value = "2MiB", value_parser = parse_window)]
    pub connection_window_size: u32,
}

impl Limits {
    /// Checks limits that are only wrong together with other settings.
    pub fn check(&self, keepalive: Duration) -> Result<(), String> {
        if self.idle_timeout <= keepalive {
            return Err(format!(
                "GATEWAY_IDLE_TIMEOUT ({:?}) must exceed GATEWAY_KEEPALIVE_INTERVAL + GATEWAY_KEEPALIVE_TIMEOUT ({keepalive:?}), or live gRPC connections would be closed",
                self.idle_timeout
            ));
        }
        if self.stream_window_size > self.connection_window_size {
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
