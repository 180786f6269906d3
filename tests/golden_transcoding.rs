//! Golden tests against Qencode's own documentation examples (copied verbatim into
//! tests/fixtures/transcoding): the start_encode2 request example built as a typed query
//! serializes to the document's JSON, and every response example parses through the
//! real upstream client over HTTP.

mod common;

use common::{number, text};
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, Value as Field};
use qencode_gateway::{
    pb,
    proto_json::query_to_json,
    support::secret::Secret,
    upstream::{
        lenient::parse_json, task_status::parse_task_status, transcoding_api::TranscodingClient,
        Deadline, HttpClient,
    },
};
use serde_json::Value;
use std::time::Duration;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

#[test]
fn documented_start_encode2_example_serializes_exactly() {
    let query = pb::TranscodingQuery {
        source: Some("https://your-server.com/video.mp4".into()),
        format: vec![pb::Format {
            output: Some("mp4".into()),
            destination: vec![pb::Destination {
                url: Some("s3://us-west.s3.qencode.com/yourbucket/output.mp4".into()),
                key: Some("abcde12345".into()),
                secret: Some("abcde12345".into()),
                permissions: Some("public-read".into()),
                ..Default::default()
            }],
            framerate: text("29.97"),
            keyframe: text("25"),
            size: Some("360x240".into()),
            start_time: number(10.0),
            duration: number(20.0),
            audio_bitrate: Some(64),
            ..Default::default()
        }],
        ..Default::default()
    };
    let expected: Value =
        serde_json::from_str(&fixture("transcoding/start_encode2_request_query.json")).unwrap();
    assert_eq!(
        serde_json::json!({ "query": query_to_json(&query).unwrap() }),
        expected
    );
}

#[test]
fn a_query_using_nearly_every_attribute_round_trips() {
    let expected: Value = serde_json::from_str(&fixture("start_encode2_full.json")).unwrap();
    let typed = typed_query(&expected["query"]);
    assert_eq!(query_to_json(&typed).unwrap(), expected["query"]);
    // The fixture really is broad: most Format attributes are set somewhere.
    let set: std::collections::BTreeSet<String> = typed
        .format
        .iter()
        .flat_map(|f| {
            let json = serde_json::to_value(
                query_to_json(&pb::TranscodingQuery {
                    format: vec![f.clone()],
                    ..Default::default()
                })
                .unwrap()["format"][0]
                    .clone(),
            )
            .unwrap();
            json.as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        set.len() >= 70,
        "only {} format attributes exercised",
        set.len()
    );
}

/// Reads Qencode query JSON into the typed message by walking the descriptors: the
/// inverse of `query_to_json`, used here so every attribute of the fixture must exist
/// in the proto with a compatible type.
fn typed_query(json: &Value) -> pb::TranscodingQuery {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let desc = pool
        .get_message_by_name("qencode.gateway.v1.TranscodingQuery")
        .unwrap();
    read_message(&pool, &desc, json).transcode_to().unwrap()
}

fn flag(pool: &DescriptorPool, options: &DynamicMessage, name: &str) -> bool {
    let ext = pool.get_extension_by_name(name).unwrap();
    options.has_extension(&ext) && options.get_extension(&ext).as_bool() == Some(true)
}

fn read_message(pool: &DescriptorPool, desc: &MessageDescriptor, json: &Value) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    if flag(pool, &desc.options(), "qencode.gateway.v1.json_unwrap") {
        let field = desc
            .fields()
            .find(|f| {
                matches!(
                    (f.kind(), json),
                    (Kind::String, Value::String(_))
                        | (Kind::Double, Value::Number(_))
                        | (Kind::Message(_), Value::Object(_))
                )
            })
            .unwrap_or_else(|| panic!("{} has no variant for {json}", desc.full_name()));
        let value = read_single(pool, &field.kind(), json);
        message.set_field(&field, value);
        return message;
    }
    let object = json
        .as_object()
        .unwrap_or_else(|| panic!("{} expects an object, got {json}", desc.full_name()));
    for (key, value) in object {
        let field = desc
            .fields()
            .find(|f| f.name() == key)
            .unwrap_or_else(|| panic!("attribute '{key}' is not in {}", desc.full_name()));
        let field_value = if field.is_map() {
            let entries = value.as_object().unwrap().iter().map(|(k, v)| {
                (
                    prost_reflect::MapKey::String(k.clone()),
                    Field::String(v.as_str().unwrap().to_owned()),
                )
            });
            Field::Map(entries.collect())
        } else if field.is_list() {
            let items = match value {
                Value::Array(items) => items.clone(),
                single => {
                    assert!(
                        flag(
                            pool,
                            &field.options(),
                            "qencode.gateway.v1.json_one_or_many"
                        ),
                        "'{key}' must be a list"
                    );
                    vec![single.clone()]
                }
            };
            Field::List(
                items
                    .iter()
                    .map(|item| read_single(pool, &field.kind(), item))
                    .collect(),
            )
        } else {
            read_single(pool, &field.kind(), value)
        };
        message.set_field(&field, field_value);
    }
    message
}

fn read_single(pool: &DescriptorPool, kind: &Kind, json: &Value) -> Field {
    fn fit<T>(value: Option<T>, json: &Value, kind: &Kind) -> T {
        value.unwrap_or_else(|| panic!("{json} does not fit {kind:?}"))
    }
    match kind {
        Kind::String => Field::String(fit(json.as_str(), json, kind).to_owned()),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Field::I32(fit(json.as_i64(), json, kind) as i32)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Field::I64(fit(json.as_i64(), json, kind)),
        Kind::Uint32 | Kind::Fixed32 => Field::U32(fit(json.as_u64(), json, kind) as u32),
        Kind::Uint64 | Kind::Fixed64 => Field::U64(fit(json.as_u64(), json, kind)),
        Kind::Double => Field::F64(fit(json.as_f64(), json, kind)),
        Kind::Float => Field::F32(fit(json.as_f64(), json, kind) as f32),
        Kind::Bool => Field::Bool(fit(json.as_bool(), json, kind)),
        Kind::Message(desc) => Field::Message(read_message(pool, desc, json)),
        other => panic!("unsupported kind {other:?}"),
    }
}

/// Serves each documented response body verbatim, as Qencode would over HTTP.
async fn documented_upstream() -> String {
    use axum::{routing::post, Router};
    let body = |name: &'static str| {
        let text = fixture(name);
        move || async move { ([("content-type", "application/json")], text) }
    };
    let app = Router::new()
        .route(
            "/v1/access_token",
            post(body("transcoding/access_token_response.txt")),
        )
        .route(
            "/v1/create_task",
            post(body("transcoding/create_task_response.txt")),
        )
        .route(
            "/v1/start_encode2",
            post(body("transcoding/start_encode2_response.txt")),
        )
        .route(
            "/v1/status",
            post(body("transcoding/status_response_completed.txt")),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn documented_responses_parse_through_the_client() {
    let base = url::Url::parse(&documented_upstream().await).unwrap();
    let http = HttpClient::new(Duration::from_secs(5), Duration::from_secs(5)).unwrap();
    let client = TranscodingClient::new(http, base);

    let token = client.access_token(&Secret::new("key")).await.unwrap();
    assert_eq!(token.value.expose(), "1357924680");
    // The documented expiry is in the past: a sane default lifetime applies.
    assert!(token.lifetime > Duration::ZERO && token.lifetime <= Duration::from_secs(24 * 3600));

    let task = client
        .create_task(&token.value, Deadline::NONE)
        .await
        .unwrap();
    assert_eq!(task.task_token, "471272a512d76c22665db9dcee893409");
    assert_eq!(
        task.upload_url,
        "https://storage.qencode.com/v1/upload_file"
    );

    let status_url = client
        .start_encode2(&task.task_token, "{}".into(), None, Deadline::NONE)
        .await
        .unwrap();
    assert_eq!(status_url, "https://api.qencode.com/v1/status");

    let statuses = client
        .status(
            client.main_status_url(),
            &["a2600fc63e4511e8ac870202b56d93e3".into()],
            Deadline::NONE,
        )
        .await
        .unwrap();
    let status = statuses["a2600fc63e4511e8ac870202b56d93e3"]
        .clone()
        .unwrap();
    assert_eq!(status.state(), pb::TaskState::Completed);
    assert_eq!(status.percent, Some(100.0));
    assert_eq!(
        status.status_url,
        "https://master-79109168ae0711e8b00baa831f35b3f7.qencode.com/v1/status"
    );
    assert_eq!(status.images[0].user_tag.as_deref(), Some("320x240/5"));
    let video = &status.videos[0];
    assert_eq!(video.bitrate, Some(1692.0));
    assert_eq!(video.duration, Some(0.371511));
    // `meta` is JSON pasted into a string (unescaped) in the document; it still parses.
    let meta = video.meta.as_ref().unwrap();
    assert_eq!(
        meta.fields["width"].kind,
        Some(prost_types::value::Kind::NumberValue(854.0))
    );
    assert!(video
        .storage
        .as_ref()
        .unwrap()
        .fields
        .contains_key("bucket"));
}

/// The document's status answers (almost-JSON: `meta` pasted into a string unescaped)
/// read through the typed hot-path reader equal what the `Value` reader makes of them.
#[test]
fn documented_status_answers_read_alike_on_both_paths() {
    use qencode_gateway::upstream::{client::Answer, status_answer::StatusAnswer};
    let completed = fixture("transcoding/status_response_completed.txt");
    let object = fixture("transcoding/status_object_encoding.txt");
    let wrapped = format!("{{\"error\": 0, \"statuses\": {{\"t\": {object}}}}}");
    for text in [completed, wrapped] {
        let typed = StatusAnswer::read(&text).expect("the typed reader reads it");
        let value = parse_json(&text).unwrap();
        let statuses = typed.statuses.expect("a statuses object");
        let by_value = value["statuses"].as_object().unwrap();
        assert_eq!(statuses.len(), by_value.len());
        for (token, status) in by_value {
            assert!(statuses[token].is_some(), "{token}");
            assert_eq!(statuses[token], parse_task_status(status), "{token}");
        }
    }
}

#[test]
fn documented_status_object_parses() {
    let value = parse_json(&fixture("transcoding/status_object_encoding.txt")).unwrap();
    let status = parse_task_status(&value).unwrap();
    assert_eq!(status.state(), pb::TaskState::Encoding);
    assert_eq!(status.percent, Some(3.571_428_571_428_571));
    assert_eq!(status.source_size, Some(69916569.0));
    assert_eq!(status.videos.len(), 2);
    assert_eq!(status.videos[1].percent, Some(7.142_857_142_857_142));
    assert_eq!(status.videos[0].duration, None, "\"None\" is no duration");
    assert!(!status.videos[0].error);
}

#[test]
fn documented_callback_body_parses() {
    let body = fixture("transcoding/callback_body.txt");
    let form: Vec<(String, String)> = serde_urlencoded::from_str(body.trim()).unwrap();
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    assert_eq!(get("event"), "saved");
    assert_eq!(get("task_token"), "e2079274fc1c4d12af5cf14affc9ba4e");
    let status = parse_task_status(&parse_json(get("status")).unwrap()).unwrap();
    assert_eq!(status.state(), pb::TaskState::Completed);
    assert_eq!(status.source_size, Some(16.6585));
    assert_eq!(status.audios[0].size, Some(0.459226));
    assert_eq!(
        status.videos[0].meta.as_ref().unwrap().fields["codec"].kind,
        Some(prost_types::value::Kind::StringValue("h264".into()))
    );
}
