//! `qgw tasks list` and `qgw tasks get`: the tasks the gateway's ledger holds.
//!
//! `list` prints a table (one row per task, written as each page arrives, so `--all`
//! over many pages starts printing at once), or one JSON object per task with
//! `--json`. Without `--all` only one page is read; where the next one starts is said
//! on stderr (text) or as a last `{"next_page_token": ...}` line (JSON).

use crate::{
    cli::{ListArgs, Phase, TasksCommand},
    connect::Clients,
    fail::Failure,
    output::{line, message_json, task_json, task_state, task_text, Output},
};
use qencode_gateway_proto::pb;
use serde_json::{json, Value};

/// Runs one tasks subcommand.
pub async fn run(clients: &Clients, output: Output, command: TasksCommand) -> Result<(), Failure> {
    match command {
        TasksCommand::List(args) => list(clients, output, args).await,
        TasksCommand::Get { task } => {
            let record = clients
                .transcoding()
                .get_task(pb::GetTaskRequest { task_token: task })
                .await?
                .into_inner()
                .task
                .unwrap_or_default();
            output.emit(record_json(&record)?, || record_text(&record))
        }
    }
}

/// ListTasks, page after page with `--all`.
async fn list(clients: &Clients, output: Output, args: ListArgs) -> Result<(), Failure> {
    let mut request = pb::ListTasksRequest {
        page_size: args.page_size.unwrap_or(0),
        page_token: args.page_token.unwrap_or_default(),
        phase: args.phase.map_or(pb::TaskPhase::Unspecified, phase) as i32,
        caller: args.caller.unwrap_or_default(),
        labels: args.labels.into_iter().collect(),
        created_after: args.created_after,
        created_before: args.created_before,
    };
    if !output.json {
        line(format!(
            "{:<32}  {:<11}  {:<20}  {:<12}  LABELS",
            "TASK", "STATE", "CREATED", "CALLER"
        ))?;
    }
    loop {
        let page = clients
            .transcoding()
            .list_tasks(request.clone())
            .await?
            .into_inner();
        for record in &page.tasks {
            output.emit(record_json(record)?, || row(record))?;
        }
        if page.next_page_token.is_empty() {
            return Ok(());
        }
        if !args.all {
            if output.json {
                line(json!({"next_page_token": page.next_page_token}))?;
            } else {
                eprintln!(
                    "more tasks: add --page-token {} (or --all)",
                    page.next_page_token
                );
            }
            return Ok(());
        }
        request.page_token = page.next_page_token;
    }
}

fn phase(phase: Phase) -> pb::TaskPhase {
    match phase {
        Phase::Active => pb::TaskPhase::Active,
        Phase::Completed => pb::TaskPhase::Completed,
        Phase::Failed => pb::TaskPhase::Failed,
    }
}

/// A task record as JSON: times in RFC 3339, states as words.
pub fn record_json(record: &pb::TaskRecord) -> Result<Value, Failure> {
    let mut value = message_json(record, "TaskRecord")?;
    if let Value::Object(object) = &mut value {
        for (key, time) in [
            ("create_time", &record.create_time),
            ("start_time", &record.start_time),
            ("update_time", &record.update_time),
        ] {
            if let Some(time) = time {
                object.insert(key.into(), json!(time.to_string()));
            }
        }
        if let Some(status) = &record.status {
            object.insert(
                "status".into(),
                task_json(&record.task_token, status)?["status"].take(),
            );
        }
    }
    Ok(value)
}

/// One table row: token, state, creation time (to the second), caller, labels.
fn row(record: &pb::TaskRecord) -> String {
    let caller = if record.caller.is_empty() {
        "-"
    } else {
        &record.caller
    };
    format!(
        "{:<32}  {:<11}  {:<20}  {caller:<12}  {}",
        record.task_token,
        state(record),
        time(record.create_time.as_ref()),
        labels(record)
    )
}

/// A task record as readable lines: its status (with outputs), then the ledger's facts.
fn record_text(record: &pb::TaskRecord) -> String {
    let mut text = match &record.status {
        Some(status) => task_text(&record.task_token, status),
        None => format!("{}  unknown", record.task_token),
    };
    let caller = if record.caller.is_empty() {
        String::new()
    } else {
        format!(" by {}", record.caller)
    };
    text += &format!(
        "\n  project: {}{caller}\n  created: {}",
        record.project,
        time(record.create_time.as_ref())
    );
    for (name, value) in [
        ("started", time(record.start_time.as_ref())),
        ("updated", time(record.update_time.as_ref())),
        ("request id", record.request_id.clone()),
        ("labels", labels(record)),
        ("restarted as", record.restarted_as.clone()),
        ("query", record.query_json.clone()),
    ] {
        if !value.is_empty() && value != "-" {
            text += &format!("\n  {name}: {value}");
        }
    }
    text
}

fn state(record: &pb::TaskRecord) -> String {
    record
        .status
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |s| task_state(s.state()))
}

/// RFC 3339 to the second, `-` when unset.
fn time(time: Option<&prost_types::Timestamp>) -> String {
    time.map_or_else(
        || "-".to_owned(),
        |t| {
            prost_types::Timestamp {
                seconds: t.seconds,
                nanos: 0,
            }
            .to_string()
        },
    )
}

/// `k=v,k2=v2`, sorted by key; `-` when there are none.
fn labels(record: &pb::TaskRecord) -> String {
    let mut pairs: Vec<_> = record.labels.iter().collect();
    pairs.sort();
    let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> pb::TaskRecord {
        pb::TaskRecord {
            task_token: "t1".into(),
            project: "default".into(),
            request_id: "r1".into(),
            labels: [("b".to_owned(), "2".to_owned()), ("a".into(), "1".into())].into(),
            create_time: Some(prost_types::Timestamp {
                seconds: 1_738_285_323,
                nanos: 5,
            }),
            status: Some(pb::TaskStatus {
                state: pb::TaskState::Encoding as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn rows_and_details() {
        let row = row(&record());
        assert!(row.starts_with("t1 "), "{row}");
        assert!(row.contains("  encoding "), "{row}");
        assert!(row.contains("2025-01-31T01:02:03Z"), "{row}");
        assert!(row.ends_with("  -             a=1,b=2"), "{row:?}");
        let text = record_text(&record());
        assert!(text.contains("request id: r1"), "{text}");
        assert!(text.contains("labels: a=1,b=2"), "{text}");
        assert!(!text.contains("started:"), "{text}");
    }

    #[test]
    fn json_has_words_and_rfc3339() {
        let value = record_json(&record()).expect("json");
        assert_eq!(value["task_token"], "t1");
        assert_eq!(value["status"]["state"], "encoding");
        assert_eq!(value["create_time"], "2025-01-31T01:02:03.000000005Z");
        assert_eq!(value["labels"]["a"], "1");
    }
}
