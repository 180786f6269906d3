//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;

#[test]
fn metadata_header_encodes_what_is_set() {
    let mut m = UploadMetadata {
        file_name: "clip.mp4".into(),
        content_type: Some("video/mp4".into()),
        ..Default::default()
    };
    assert_eq!(
        metadata_header(&m).as_deref(),
        Some("filename Y2xpcC5tcDQ=,filetype dmlkZW8vbXA0")
    );
    m.content_type = None;
    assert_eq!(
        metadata_header(&m).as_deref(),
        Some("filename Y2xpcC5tcDQ=")
    );
    m.file_name.clear();
    assert_eq!(metadata_header(&m), None);
}

#[test]
fn file_uuid_is_the_last_plain_segment() {
    let url = |s: &str| Url::parse(s).unwrap();
    assert_eq!(
        file_uuid(&url("http://h/v1/upload_file/tok/abc-123")).unwrap(),
        "abc-123"
    );
    assert_eq!(
        file_uuid(&url("http://h/v1/upload_file/tok/abc/")).unwrap(),
        "abc"
    );
    assert!(file_uuid(&url("http://h/")).is_err());
    assert!(file_uuid(&url("http://h/a%20b")).is_err());
}

#[test]
fn the_task_token_becomes_a_path_segment() {
    let base = Url::parse("https://storage.qencode.com/v1/upload_file").unwrap();
    assert_eq!(
        task_endpoint(base.clone(), "abc").as_str(),
        "https://storage.qencode.com/v1/upload_file/abc"
    );
    let slash = Url::parse("https://storage.qencode.com/v1/upload_file/").unwrap();
    assert_eq!(task_endpoint(slash, "abc"), task_endpoint(base, "abc"));
}

#[test]
fn untrusted_hosts_are_named_without_the_path() {
    let error = untrusted_host("http://10.0.0.1/v1/upload_file/secret-token");
    assert_eq!(error.kind, ErrorKind::FailedPrecondition);
    assert!(
        error.message.contains("http://10.0.0.1,"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("secret-token"));
}

#[test]
fn errors_after_creation_say_what_is_stored() {
    let error = Error::upstream(ErrorKind::Unavailable, "X", "broke");
    let error = with_stored(error, 10, 30);
    assert_eq!(error.metadata["bytes_stored"], "10");
    assert_eq!(error.metadata["size"], "30");
    assert!(error.message.ends_with("holds 10 of 30 bytes"));
}
