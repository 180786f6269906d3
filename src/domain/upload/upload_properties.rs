//! Property tests of what the upload reads from the storage's TUS answers and what it
//! writes into its own requests: `Upload-Offset` and `Upload-Length`, the `Location`
//! of a created upload (resolved, then held to the trusted-host rule), the resume token
//! that names it, and `Upload-Metadata`. Each runs a bounded number of cases so the
//! suite stays fast in debug; a failing case proptest finds is kept as a named
//! regression test below.
//!
//! Inputs start from the values the API reference's upload section shows (upload_url
//! `https://storage.qencode.com/v1/upload_file`, `<upload_url>/<task_token>`, a file
//! uuid from `Location`, 2,000,000-byte chunks) mixed with arbitrary bytes.

use super::{file_uuid, metadata_header, plain_id, resume_token::ResumeToken, task_endpoint};
use crate::{
    pb::UploadMetadata,
    upstream::{
        tus::{body_text, header_count, resolve_location, UPLOAD_LENGTH, UPLOAD_OFFSET},
        TrustedHosts,
    },
};
use base64::{engine::general_purpose::STANDARD, Engine};
use http::{header::LOCATION, HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use url::Url;

/// The reference's upload endpoint, and a task token and file uuid in its shapes.
const UPLOAD_URL: &str = "https://storage.qencode.com/v1/upload_file";
const TASK: &str = "e2079274fc1c4d12af5cf14affc9ba4e";
const FILE: &str = "00f056d030fc11ebb4f46a9cb6debba1";

/// What TUS 1.0 allows in `Upload-Offset` and `Upload-Length`: a non-negative integer
/// in decimal digits, nothing else (no sign, no fraction, no inner space). The space
/// or tab HTTP allows around any field value is not part of the value.
fn tus_count(value: &[u8]) -> Option<u64> {
    let start = value.iter().position(|b| !matches!(b, b' ' | b'\t'))?;
    let end = value.iter().rposition(|b| !matches!(b, b' ' | b'\t'))?;
    let digits = &value[start..=end];
    let mut n: u128 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u128::from(d - b'0');
        if n > u128::from(u64::MAX) {
            return None;
        }
    }
    Some(n as u64)
}

/// Header values for a count: the reference's, near misses, and arbitrary bytes.
fn count_bytes() -> impl Strategy<Value = Vec<u8>> {
    let seeds = prop::sample::select(
        &[
            "0",
            "2000000",
            "4000000",
            " 2000000 ",
            "\t42",
            "-1",
            "+1",
            "-0",
            "1.0",
            "1e6",
            "0x10",
            "1_000",
            "1,2",
            "4 2",
            "",
            " ",
            "18446744073709551615",
            "18446744073709551616",
            "000000000000000000000000000007",
            "\u{0661}\u{0662}",
            "\u{ff11}",
        ][..],
    )
    .prop_map(|s| s.as_bytes().to_vec());
    let decorated = ("[ \t]{0,2}", "[+-]?", "[0-9]{1,22}", "[ \t.]{0,2}")
        .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}").into_bytes());
    prop_oneof![
        2 => seeds,
        2 => decorated,
        1 => any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        2 => prop::collection::vec(any::<u8>(), 0..24),
    ]
}

/// `name: value` for each value a header can hold (others cannot reach the gateway).
fn headers(name: &HeaderName, values: &[Vec<u8>]) -> (HeaderMap, Vec<Vec<u8>>) {
    let mut map = HeaderMap::new();
    let mut kept = Vec::new();
    for value in values {
        if let Ok(header) = HeaderValue::from_bytes(value) {
            map.append(name.clone(), header);
            kept.push(value.clone());
        }
    }
    (map, kept)
}

/// `Location` values: the reference's, relative and absolute forms of it, places
/// beside, above or away from the task endpoint, and arbitrary bytes.
fn location_bytes() -> impl Strategy<Value = Vec<u8>> {
    let whole = prop::sample::select(
        &[
            "https://storage.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/00f056d030fc11ebb4f46a9cb6debba1",
            "/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/00f056d030fc11ebb4f46a9cb6debba1",
            "e2079274fc1c4d12af5cf14affc9ba4e/00f056d030fc11ebb4f46a9cb6debba1",
            "00f056d030fc11ebb4f46a9cb6debba1",
            "https://storage.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e",
            "https://storage.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/",
            "https://storage.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e//",
            "e2079274fc1c4d12af5cf14affc9ba4e",
            "e2079274fc1c4d12af5cf14affc9ba4e/",
            "",
            ".",
            "./",
            "//storage.qencode.com.evil.example/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/x",
            "http://storage.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/x",
            "https://user:pw@storage.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/x",
            "https://storage.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/x#f",
            "https://api.qencode.com/v1/upload_file/e2079274fc1c4d12af5cf14affc9ba4e/x",
        ][..],
    )
    .prop_map(|s| s.as_bytes().to_vec());
    let prefix = prop::sample::select(
        &[
            "",
            "/",
            "//storage.qencode.com/",
            "https://storage.qencode.com/",
            "https://storage.qencode.com:444/",
            "HTTPS://STORAGE.QENCODE.COM/",
            "https://evil.example/",
            "http://169.254.169.254/",
            "/v1/upload_file/",
            "https://storage.qencode.com/v1/upload_file/",
        ][..],
    );
    // In this order, so the seeds kept in the regressions file still make their cases.
    let mut segments = vec![TASK, FILE, "v1", "upload_file"];
    segments.extend(crate::upstream::upstream_properties::RESOLVING_SEGMENTS);
    segments.extend(["x?y=1", "#f", "a b", " "]);
    let segment = prop::sample::select(segments);
    let built = (
        "[ \t]{0,1}",
        prefix,
        prop::collection::vec(segment, 0..5),
        "[ \t]{0,1}",
    )
        .prop_map(|(lead, prefix, segments, trail)| {
            format!("{lead}{prefix}{}{trail}", segments.join("/")).into_bytes()
        });
    prop_oneof![
        2 => whole,
        4 => built,
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ]
}

/// The upload endpoints: the reference's, and the sandbox's shape (the API's own origin
/// over http), each with the rule that trusts it.
fn endpoint() -> impl Strategy<Value = (Url, TrustedHosts)> {
    prop_oneof![
        Just((
            Url::parse(UPLOAD_URL).unwrap(),
            TrustedHosts::new(
                Url::parse("https://api.qencode.com").unwrap(),
                "qencode.com"
            ),
        )),
        Just((
            Url::parse("http://127.0.0.1:8100/v1/upload_file/").unwrap(),
            TrustedHosts::new(Url::parse("http://127.0.0.1:8100").unwrap(), "qencode.com"),
        )),
    ]
}

/// What the upload does with a creation answer's `Location`: resolve it against the
/// creation URL, hold it to the trusted-host rule under the task endpoint, and read the
/// file uuid from it.
fn accept(endpoint: &Url, trusted: &TrustedHosts, headers: &HeaderMap) -> Option<(Url, String)> {
    let resolved = resolve_location(endpoint, headers).ok()?;
    let location = trusted.check_under(resolved.as_str(), endpoint)?;
    let id = file_uuid(&location).ok()?;
    Some((location, id))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any bytes in any number of `Upload-Offset` or `Upload-Length` lines read without
    /// panicking, as exactly what TUS allows: one line holding a decimal number that
    /// fits (a second line makes the answer ambiguous, so unreadable).
    #[test]
    fn counts_read_exactly_what_tus_allows(
        values in prop::collection::vec(count_bytes(), 0..3),
        length in any::<bool>(),
    ) {
        let name = if length { UPLOAD_LENGTH } else { UPLOAD_OFFSET };
        let (map, kept) = headers(&name, &values);
        let expected = match kept.as_slice() {
            [one] => tus_count(one),
            _ => None,
        };
        prop_assert_eq!(header_count(&map, &name), expected, "{:?}", kept);
    }

    /// Every offset the gateway can hold reads back as itself from the header TUS
    /// would write, with or without the space HTTP allows around it.
    #[test]
    fn counts_round_trip(n in any::<u64>(), pad in "[ \t]{0,2}") {
        let (map, _) = headers(&UPLOAD_OFFSET, &[format!("{pad}{n}{pad}").into_bytes()]);
        prop_assert_eq!(header_count(&map, &UPLOAD_OFFSET), Some(n));
    }

    /// Whatever `Location` the storage answers, relative or absolute, the upload only
    /// ever goes to a trusted origin, the endpoint's own, strictly below the task
    /// endpoint as written, and the file uuid is a plain id below it (never the task
    /// token or a segment above). What it accepts is stable: the absolute form of an
    /// accepted location is accepted as the same location.
    #[test]
    fn locations_stay_under_the_task_endpoint(
        (upload_url, trusted) in endpoint(),
        value in location_bytes(),
    ) {
        let endpoint = task_endpoint(upload_url.clone(), TASK);
        let (map, _) = headers(&LOCATION, std::slice::from_ref(&value));
        let Some((location, id)) = accept(&endpoint, &trusted, &map) else {
            return Ok(());
        };
        let shown = String::from_utf8_lossy(&value).into_owned();
        prop_assert_eq!(location.origin(), endpoint.origin(), "{}", shown);
        prop_assert!(trusted.check(location.as_str()).is_some(), "{}", shown);
        prop_assert!(location.username().is_empty() && location.password().is_none());
        prop_assert!(location.fragment().is_none(), "{}", shown);
        let below = location
            .path()
            .strip_prefix(endpoint.path())
            .and_then(|rest| rest.strip_prefix('/'));
        prop_assert!(below.is_some_and(|rest| rest.split('/').any(|s| s == id)),
            "{} -> {} (file uuid {})", shown, location, id);
        prop_assert!(plain_id(&id));
        let (again, _) = headers(&LOCATION, &[location.as_str().as_bytes().to_vec()]);
        prop_assert_eq!(accept(&endpoint, &trusted, &again), Some((location, id)));
    }

    /// A location a resume token can name comes back from the token as itself, passes
    /// the rule again when resumed, and the token survives its text form.
    #[test]
    fn resume_tokens_round_trip(
        (upload_url, trusted) in endpoint(),
        id in prop_oneof![Just(FILE.to_owned()), "[A-Za-z0-9_-]{1,40}"],
    ) {
        let endpoint = task_endpoint(upload_url.clone(), TASK);
        let (map, _) = headers(&LOCATION, &[format!("{endpoint}/{id}").into_bytes()]);
        let (location, uuid) = accept(&endpoint, &trusted, &map).expect("a plain location");
        prop_assert_eq!(&uuid, &id);
        let token = ResumeToken::for_location(&upload_url, TASK, &location)
            .expect("the reference's shape can be named");
        prop_assert_eq!(token.location(&endpoint), location.clone());
        prop_assert!(trusted.check_under(token.location(&endpoint).as_str(), &endpoint).is_some());
        prop_assert_eq!(ResumeToken::decode(&token.encode()), Some(token));
    }

    /// Any text given back as a resume token decodes without panicking, and anything
    /// this gateway wrote decodes to what it wrote.
    #[test]
    fn resume_token_text_is_total(
        text in any::<String>(),
        upload_url in any::<String>(),
        id in "[A-Za-z0-9_-]{1,128}",
    ) {
        let _ = ResumeToken::decode(&text);
        let token = ResumeToken { upload_url, file_uuid: id };
        if token.encode().len() <= 2048 {
            prop_assert_eq!(ResumeToken::decode(&token.encode()), Some(token));
        }
    }

    /// `Upload-Metadata` is always a valid header of `key base64` pairs (keys without
    /// spaces or commas, values without either), and decodes to the name and type sent.
    #[test]
    fn upload_metadata_round_trips(
        file_name in any::<String>(),
        content_type in proptest::option::of(any::<String>()),
    ) {
        let metadata = UploadMetadata {
            file_name: file_name.clone(),
            content_type: content_type.clone(),
            ..Default::default()
        };
        let Some(header) = metadata_header(&metadata) else {
            prop_assert!(file_name.is_empty() && content_type.as_deref().unwrap_or("").is_empty());
            return Ok(());
        };
        prop_assert!(HeaderValue::from_str(&header).is_ok(), "{}", header);
        let mut decoded = std::collections::HashMap::new();
        for pair in header.split(',') {
            let (key, value) = pair.split_once(' ').expect("key and value");
            prop_assert!(!key.is_empty() && !value.contains(' '));
            let bytes = STANDARD.decode(value).expect("base64");
            decoded.insert(key.to_owned(), String::from_utf8(bytes).expect("utf-8"));
        }
        prop_assert_eq!(decoded.get("filename").cloned().unwrap_or_default(), file_name);
        prop_assert_eq!(
            decoded.get("filetype").cloned(),
            content_type.filter(|t| !t.is_empty())
        );
    }

    /// Any answer body becomes at most a short, single-line note in an error message.
    #[test]
    fn answer_bodies_become_short_notes(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let note = body_text(&body);
        prop_assert!(note.is_empty() || note.starts_with(": "));
        prop_assert!(note.len() <= 202, "{}", note.len());
        prop_assert!(!note.chars().any(char::is_control));
    }
}
