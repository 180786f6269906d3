//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;

/// The default `query_json` limit.
const MAX: usize = crate::support::limit_hits::DEFAULT_MAX_QUERY_JSON;
use crate::support::error::FieldViolation;

fn violations(f: impl FnOnce(&mut Violations)) -> Vec<FieldViolation> {
    let mut v = Violations::default();
    f(&mut v);
    v.into_result()
        .err()
        .map(|e| e.into_data().violations)
        .unwrap_or_default()
}

fn fields(vs: &[FieldViolation]) -> Vec<&str> {
    vs.iter().map(|v| v.field.as_str()).collect()
}

#[test]
fn tokens() {
    assert!(
        violations(|v| crate::domain::ids::check("t", "471272a512d76c22665db9dcee893409", v))
            .is_empty()
    );
    for bad in ["", "a,b", "a b", "../x", &"a".repeat(129)] {
        assert_eq!(
            fields(&violations(|v| crate::domain::ids::check("t", bad, v))),
            ["t"],
            "{bad:?}"
        );
    }
    let many = vec!["a".to_string(); MAX_STATUS_TOKENS + 1];
    assert_eq!(
        fields(&violations(|v| {
            status_tokens(many, v);
        })),
        ["task_tokens"]
    );
    let mut v = Violations::default();
    assert_eq!(
        status_tokens(vec!["a".into(), "b".into(), "a".into()], &mut v),
        ["a", "b"]
    );
}

#[test]
fn payload_limit_counts_characters() {
    assert!(violations(|v| payload(Some(&"é".repeat(1000)), v)).is_empty());
    assert_eq!(
        fields(&violations(|v| payload(Some(&"x".repeat(1001)), v))),
        ["payload"]
    );
}

#[test]
fn raw_queries_with_or_without_wrapper() {
    let mut v = Violations::default();
    let inner = query(
        Some(&QueryInput::Raw(
            r#"{"query": {"source": "https://a/b.mp4", "format": [{"output": "new_fmt"}]}}"#.into(),
        )),
        MAX,
        &mut v,
    );
    assert!(
        inner.is_some() && v.into_result().is_ok(),
        "raw output values pass through"
    );
    let mut v = Violations::default();
    query(
        Some(&QueryInput::Raw(
            r#"{"source": "https://a/b.mp4", "format": []}"#.into(),
        )),
        MAX,
        &mut v,
    );
    assert_eq!(
        fields(&v.into_result().unwrap_err().violations),
        ["query_json.format"]
    );
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Raw("{nope".into())), MAX, v);
        })),
        ["query_json"]
    );
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Raw("[]".into())), MAX, v);
        })),
        ["query_json"]
    );
}

#[test]
fn sources_use_a_listed_scheme() {
    for good in [
        "https://example.com/in.mp4",
        "http://example.com/in.mp4",
        "s3://us-west.s3.qencode.com/bucket/in.mp4",
        "ftp://user@ftp.example.com/in.mp4",
        "sftp://host/in.mp4",
        "gs://bucket/in.mp4",
        "b2://bucket/in.mp4",
        "azblob://container/in.mp4",
        "tus:0123456789abcdef",
    ] {
        assert!(
            violations(|v| source_url("query.source", good, v)).is_empty(),
            "{good}"
        );
    }
    for bad in [
        "mp4",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "tus:",
        "https://",
        "s",
    ] {
        assert_eq!(
            fields(&violations(|v| source_url("query.source", bad, v))),
            ["query.source"],
            "{bad}"
        );
    }
    let stitched = pb::TranscodingQuery {
        stitch: vec![
            pb::StitchItem {
                item: Some(pb::stitch_item::Item::Url("https://a/1.mp4".into())),
            },
            pb::StitchItem {
                item: Some(pb::stitch_item::Item::Clip(pb::StitchClip {
                    url: Some("file:///x.mp4".into()),
                    ..Default::default()
                })),
            },
        ],
        format: vec![pb::Format {
            output: Some("mp4".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Typed(stitched)), MAX, v);
        })),
        ["query.stitch[1].url"]
    );
}

#[test]
fn a_typed_query_over_the_limit_is_one_violation_before_any_conversion() {
    // 300,000 non-URL stitch items: 1.5 MB encoded, over the default 1 MiB. Past the
    // limit nothing is converted, so there is one violation, not one per item.
    let huge = pb::TranscodingQuery {
        stitch: (0..300_000)
            .map(|_| pb::StitchItem {
                item: Some(pb::stitch_item::Item::Url("x".into())),
            })
            .collect(),
        ..Default::default()
    };
    let found = violations(|v| {
        assert!(query(Some(&QueryInput::Typed(huge)), MAX, v).is_none());
    });
    assert_eq!(fields(&found), ["query"]);
    assert!(
        found[0].description.contains("GATEWAY_MAX_QUERY_JSON_SIZE")
            && found[0].description.contains(&MAX.to_string()),
        "{}",
        found[0].description
    );
    // Right at the limit the query is converted and checked as usual.
    let small = pb::TranscodingQuery {
        source: Some("https://a/b.mp4".into()),
        format: vec![pb::Format {
            output: Some("mp4".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let len = prost::Message::encoded_len(&small);
    assert!(violations(|v| {
        assert!(query(Some(&QueryInput::Typed(small)), len, v).is_some());
    })
    .is_empty());
}

#[test]
fn typed_query_checks() {
    let format = |output: &str| pb::Format {
        output: Some(output.into()),
        ..Default::default()
    };
    let neither = pb::TranscodingQuery {
        format: vec![format("mp4")],
        ..Default::default()
    };
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Typed(neither)), MAX, v);
        })),
        ["query.source"]
    );
    let both = pb::TranscodingQuery {
        source: Some("https://a/b.mp4".into()),
        stitch: vec![pb::StitchItem {
            item: Some(pb::stitch_item::Item::Url("https://a/c.mp4".into())),
        }],
        format: vec![format("mp4")],
        ..Default::default()
    };
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Typed(both)), MAX, v);
        })),
        ["query.stitch"]
    );
    let empty = pb::TranscodingQuery {
        source: Some("https://a/b.mp4".into()),
        ..Default::default()
    };
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Typed(empty)), MAX, v);
        })),
        ["query.format"]
    );
    let unknown = pb::TranscodingQuery {
        source: Some("https://a/b.mp4".into()),
        format: vec![format("mp4"), format("avi")],
        ..Default::default()
    };
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Typed(unknown)), MAX, v);
        })),
        ["query.format[1].output"]
    );
    assert_eq!(
        fields(&violations(|v| {
            query(None, MAX, v);
        })),
        ["query"]
    );
}

#[test]
fn sizes_are_width_x_height_in_pixels() {
    let sized = |size: &str| pb::Format {
        output: Some("mp4".into()),
        size: Some(size.into()),
        ..Default::default()
    };
    let query = |formats: Vec<pb::Format>| {
        let typed = pb::TranscodingQuery {
            source: Some("https://a/b.mp4".into()),
            format: formats,
            ..Default::default()
        };
        violations(|v| {
            query(Some(&QueryInput::Typed(typed)), MAX, v);
        })
    };
    assert!(query(vec![sized("1920x1080"), sized("360x240")]).is_empty());
    for bad in [
        "abc",
        "",
        "640",
        "640x",
        "x360",
        "0x360",
        "640x0",
        "-640x360",
        "+640x360",
        "640X360",
        "640x360x2",
        " 640x360",
        "640 x 360",
        "99999999999x1",
    ] {
        let found = query(vec![sized("320x240"), sized(bad)]);
        assert_eq!(fields(&found), ["query.format[1].size"], "{bad:?}");
        assert!(found[0].description.contains("<width>x<height>"), "{bad:?}");
    }
    let streams = pb::Format {
        output: Some("advanced_hls".into()),
        stream: vec![
            pb::Stream {
                size: Some("1280x720".into()),
                ..Default::default()
            },
            pb::Stream {
                size: Some("abc".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    assert_eq!(
        fields(&query(vec![streams])),
        ["query.format[0].stream[1].size"]
    );
}

#[test]
fn vmaf_is_not_a_documented_output() {
    let typed = pb::TranscodingQuery {
        source: Some("https://a/b.mp4".into()),
        format: vec![pb::Format {
            output: Some("vmaf".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        fields(&violations(|v| {
            query(Some(&QueryInput::Typed(typed)), MAX, v);
        })),
        ["query.format[0].output"]
    );
}
