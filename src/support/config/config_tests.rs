//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
    assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(3 * 86_400)));
    assert!(parse_duration("fast").is_err());
    assert!(parse_duration("31d").is_err());
    assert!(parse_duration("-1s").is_err());
}

#[test]
fn secrets_never_print() {
    let key: Secret = "very-secret-key".parse().unwrap();
    assert!(!format!("{key:?}").contains("very-secret"));
    assert!("".parse::<Secret>().is_err());
    assert!("a b".parse::<Secret>().is_err());
}

#[test]
fn bad_values_name_the_setting() {
    let err = Cli::try_parse_from(["qencode-gateway", "--api-url", "ftp://x"]).unwrap_err();
    assert!(err.to_string().contains("--api-url"), "{err}");
    let err = Cli::try_parse_from(["qencode-gateway", "--listen", "nope"]).unwrap_err();
    assert!(err.to_string().contains("--listen"), "{err}");
}

#[test]
fn defaults_parse_and_sandbox_needs_nothing_set() {
    assert!(Url::parse(DEFAULT_API_URL).is_ok() && Url::parse(DEFAULT_LIVE_API_URL).is_ok());
    let config = Cli::try_parse_from(["qencode-gateway"]).unwrap().gateway;
    assert!(config.wants_sandbox() && config.check().is_ok());
    let url_only = Cli::try_parse_from(["qencode-gateway", "--api-url", "https://api.qencode.com"])
        .unwrap()
        .gateway;
    assert!(!url_only.wants_sandbox());
    assert!(url_only.check().unwrap_err().contains("QENCODE_API_KEY"));
    let keyed = Cli::try_parse_from(["qencode-gateway", "--api-key", "k"])
        .unwrap()
        .gateway;
    assert_eq!(keyed.live_api_key().unwrap().expose(), "k");
    assert_eq!(
        keyed.live_api_url().as_str(),
        "https://api-live.qencode.com/"
    );
}

#[test]
fn byte_sizes() {
    assert_eq!(parse_byte_size("1048576"), Ok(1 << 20));
    assert_eq!(parse_byte_size("256KiB"), Ok(256 << 10));
    assert_eq!(parse_byte_size("8 MiB"), Ok(8 << 20));
    assert_eq!(parse_byte_size("10GiB"), Ok(10 << 30));
    assert_eq!(parse_byte_size("8MB"), Ok(8_000_000));
    assert!(parse_byte_size("8 parsecs").is_err());
    assert!(parse_byte_size("-1").is_err());
    assert!(parse_byte_size("99999999999999GiB").is_err());
    assert!(parse_chunk_size("512").is_err());
    assert!(parse_chunk_size("2GiB").is_err());
    assert!(parse_max_upload_size("0").is_err());
    let config = Cli::try_parse_from(["qencode-gateway"]).unwrap().gateway;
    assert_eq!(config.upload_chunk_size, 8 << 20);
    assert_eq!(config.max_upload_size, 10 << 30);
    let err = Cli::try_parse_from(["qencode-gateway", "--upload-chunk-size", "1TiB"]).unwrap_err();
    assert!(err.to_string().contains("--upload-chunk-size"), "{err}");
}

#[test]
fn fleet_mode_needs_a_shared_callback_secret() {
    let alone = Cli::try_parse_from(["qencode-gateway", "--redis-url", "redis://:pw@r:6379"])
        .unwrap()
        .gateway;
    let problem = alone.check().unwrap_err();
    assert!(problem.contains("GATEWAY_CALLBACK_SECRET"), "{problem}");
    assert!(!problem.contains("pw"));
    assert!(!format!("{alone:?}").contains(":pw@"));
    let shared = Cli::try_parse_from([
        "qencode-gateway",
        "--redis-url",
        "redis://r:6379",
        "--callback-secret",
        "s",
    ])
    .unwrap()
    .gateway;
    // The default ledger is a local SQLite file the replicas cannot share.
    let problem = shared.check().unwrap_err();
    assert!(
        problem.contains("GATEWAY_DATABASE_URL=postgres://"),
        "{problem}"
    );
    let mut shared = shared;
    shared.database_url = "postgres://gw:pw@db:5432/ledger".parse().unwrap();
    assert!(shared.check().is_ok());
    shared.database_url = "off".parse().unwrap();
    assert!(shared.check().is_ok());
    assert_eq!(shared.redis_prefix, "qgw:");
}

#[test]
fn listeners_need_their_own_ports() {
    let config = Cli::try_parse_from(["qencode-gateway"]).unwrap().gateway;
    assert_eq!(config.http_listen.port(), 8080);
    assert_eq!(config.admin_listen.port(), 9090);
    let same = Cli::try_parse_from(["qencode-gateway", "--admin-listen", "0.0.0.0:8080"])
        .unwrap()
        .gateway;
    let problem = same.check().unwrap_err();
    assert!(
        problem.contains("GATEWAY_HTTP_LISTEN") && problem.contains("GATEWAY_ADMIN_LISTEN"),
        "{problem}"
    );
    let any_port = Cli::try_parse_from([
        "qencode-gateway",
        "--http-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    ])
    .unwrap()
    .gateway;
    assert!(any_port.check().is_ok());
}

#[test]
fn base_urls() {
    assert!(parse_base_url("https://api.qencode.com").is_ok());
    assert!(parse_base_url("https://user:pw@api.qencode.com").is_err());
    assert!(parse_base_url("api.qencode.com").is_err());
}

#[test]
fn the_message_size_takes_the_same_forms_as_every_size() {
    let size = |value: &str| {
        Cli::try_parse_from(["qencode-gateway", "--max-message-size", value])
            .map(|cli| cli.gateway.max_message_size)
    };
    assert_eq!(
        Cli::try_parse_from(["qencode-gateway"])
            .unwrap()
            .gateway
            .max_message_size,
        16 << 20
    );
    assert_eq!(size("4MiB").unwrap(), 4 << 20);
    assert_eq!(size("64KiB").unwrap(), 64 << 10);
    assert_eq!(size("16777216").unwrap(), 16 << 20);
    assert_eq!(size("4MB").unwrap(), 4_000_000);
    for bad in ["512", "4GiB", "4 parsecs"] {
        let err = size(bad).unwrap_err().to_string();
        assert!(err.contains("--max-message-size"), "{bad}: {err}");
    }
}
