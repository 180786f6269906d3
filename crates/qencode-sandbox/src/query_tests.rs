//! Unit tests of the query validation in `query.rs`.

use super::*;
use serde_json::json;

fn parse_value(value: Value) -> Result<ParsedQuery, QueryError> {
    parse(&value.to_string())
}

fn error_of(value: Value) -> String {
    match parse_value(value) {
        Ok(parsed) => panic!("expected an error, got {parsed:?}"),
        Err(error) => error.message(),
    }
}

#[test]
fn accepts_the_documented_example() {
    let parsed = parse_value(json!({"query": {
        "source": "https://your-server.com/video.mp4",
        "format": [{
            "output": "mp4",
            "destination": {"url": "s3://us-west.s3.qencode.com/yourbucket/output.mp4",
                             "key": "abcde12345", "secret": "abcde12345"},
            "framerate": "29.97", "keyframe": "25", "size": "360x240",
            "start_time": 10, "duration": 20, "audio_bitrate": 64,
            "tag": "480p"
        }]
    }}))
    .expect("valid query");
    assert_eq!(
        parsed.inputs,
        [InputSpec {
            source: SourceRef::Url("https://your-server.com/video.mp4".into()),
            duration: None
        }]
    );
    let format = &parsed.formats[0];
    assert_eq!(format.output, OutputFormat::Mp4);
    assert_eq!(format.tag.as_deref(), Some("480p"));
    assert_eq!(
        format.destination.as_deref(),
        Some("s3://us-west.s3.qencode.com/yourbucket/output.mp4")
    );
    assert_eq!((format.width, format.height), (Some(360), Some(240)));
    assert_eq!(format.audio_bitrate, Some(64));
    assert_eq!(format.duration, Some(20.0));
    assert_eq!(format.framerate.as_deref(), Some("29.97"));
}

#[test]
fn accepts_stitch_strings_objects_and_tus() {
    let parsed = parse_value(json!({"query": {
        "stitch": ["https://a/1.mp4", {"url": "tus:abc", "duration": "60.5"}],
        "format": [{"output": "advanced_hls", "stream": [{"resolution": 720}]}]
    }}))
    .expect("valid query");
    assert_eq!(parsed.inputs[1].source, SourceRef::Upload("abc".into()));
    assert_eq!(parsed.inputs[1].duration, Some(60.5));
    assert_eq!(
        (parsed.formats[0].width, parsed.formats[0].height),
        (Some(1280), Some(720))
    );
}

#[test]
fn names_each_problem() {
    let cases = [
        (json!("x"), "query: expected a JSON object"),
        (json!({"query": []}), "query: expected a JSON object"),
        (
            json!({"query": {"source": "a", "stitch": ["b"], "format": []}}),
            "query: source and stitch cannot be used together",
        ),
        (
            json!({"query": {"format": []}}),
            "query: source is required",
        ),
        (
            json!({"query": {"source": "", "format": []}}),
            "query: source must be a non-empty string",
        ),
        (
            json!({"query": {"stitch": [], "format": []}}),
            "query: stitch must be a non-empty array",
        ),
        (
            json!({"query": {"stitch": ["a", 3], "format": []}}),
            "query: stitch[1] must be a URL string or an object with a url",
        ),
        (
            json!({"query": {"source": "a"}}),
            "query: format is required",
        ),
        (
            json!({"query": {"source": "a", "format": []}}),
            "query: format must be a non-empty array",
        ),
        (
            json!({"query": {"source": "a", "format": ["mp4"]}}),
            "query: format[0] must be an object",
        ),
        (
            json!({"query": {"source": "a", "format": [{"size": "1x1"}]}}),
            "query: format[0].output is required",
        ),
        (
            json!({"query": {"source": "a", "callback_url": "ftp://x/cb", "format": [{"output": "mp4"}]}}),
            "query: callback_url must be an http(s) URL",
        ),
        (
            json!({"query": {"source": "a", "format": [{"output": "mp4"}, {"output": "avi"}]}}),
            "query: format[1].output 'avi' is not supported",
        ),
        (
            json!({"query": {"source": "a", "format": [{"output": "mp4", "tag": 5}]}}),
            "query: format[0].tag must be a string",
        ),
        (
            json!({"query": {"source": "a", "format": [{"output": "mp4", "destination": {}}]}}),
            "query: format[0].destination.url is required",
        ),
        (
            json!({"query": {"source": "a", "format": [{"output": "mp4",
                "destination": [{"url": "s3://h/b/k"}, {"url": "nope"}]}]}}),
            "query: format[0].destination[1].url 'nope' is not a valid URL",
        ),
        (
            json!({"query": {"source": "a", "format": [{"output": "mp4", "destination": []}]}}),
            "query: format[0].destination must not be an empty array",
        ),
    ];
    for (value, expected) in cases {
        let message = error_of(value.clone());
        assert!(message.starts_with(expected), "{value}: {message}");
    }
    assert!(parse("{").is_err_and(|e| e.message().starts_with("query: invalid JSON")));
    let missing = |value: Value| parse_value(value).err();
    assert_eq!(
        missing(json!({"query": {"format": [{"output": "mp4"}]}})),
        Some(QueryError::Required("source".into()))
    );
    assert_eq!(
        missing(json!({"query": {"source": "a"}})),
        Some(QueryError::Required("format".into()))
    );
    assert_eq!(
        missing(json!({"query": {"source": "a", "format": [{"tag": "x"}]}})),
        Some(QueryError::Required("format[0].output".into()))
    );
}
