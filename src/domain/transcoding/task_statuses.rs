//! Task statuses: one request per master `status_url` for every token a caller asks
//! about, the batched polls watchers share, and where each task's status is read.

use super::*;
use crate::support::reasons;

impl Transcoding {
    /// Current status of up to 100 tasks. Tasks another project created are reported
    /// unknown, as Qencode reports tokens it does not know (no request carries them).
    pub async fn get_status(
        &self,
        project: &Project,
        task_tokens: Vec<String>,
        deadline: Deadline,
    ) -> Result<StatusReport, Error> {
        let mut v = Violations::default();
        let tokens = query_check::status_tokens(task_tokens, &mut v);
        v.into_result()?;
        let (tokens, foreign): (Vec<String>, Vec<String>) = tokens
            .into_iter()
            .partition(|t| self.may_see_task(project, t));
        if tokens.is_empty() {
            return Ok(StatusReport {
                unknown: foreign,
                ..StatusReport::default()
            });
        }
        let main = self.client.main_status_url();
        let mut groups: HashMap<Url, Vec<String>> = HashMap::new();
        for token in &tokens {
            let endpoint = self.status_urls.get(token).unwrap_or_else(|| main.clone());
            groups.entry(endpoint).or_default().push(token.clone());
        }
        let fetched = join_all(
            groups
                .into_iter()
                .map(|(endpoint, group)| self.status_group(endpoint, group, true, deadline)),
        )
        .await;
        let mut raw = BTreeMap::new();
        for result in fetched {
            raw.extend(result?);
        }
        let mut report = StatusReport {
            unknown: foreign,
            ..StatusReport::default()
        };
        for token in tokens {
            match raw.remove(&token).flatten() {
                Some(status) => {
                    report.statuses.insert(token, status);
                }
                None => report.unknown.push(token),
            }
        }
        Ok(report)
    }

    /// Statuses of any number of tasks, for the watch poller: grouped by status
    /// endpoint and chunked at `batch_size`, one upstream request per chunk. A task this
    /// gateway created that has no status yet is reported as created, not missing.
    /// A master endpoint learned on the way is used from the next poll on (no extra request now).
    pub async fn poll_statuses(
        &self,
        tokens: &[String],
        batch_size: usize,
        batch_timeout: Duration,
    ) -> HashMap<String, Result<Option<pb::TaskStatus>, Error>> {
        let main = self.client.main_status_url();
        let mut groups: HashMap<Url, Vec<String>> = HashMap::new();
        for token in tokens {
            let endpoint = self.status_urls.get(token).unwrap_or_else(|| main.clone());
            groups.entry(endpoint).or_default().push(token.clone());
        }
        let chunks: Vec<(Url, Vec<String>)> = groups
            .into_iter()
            .flat_map(|(endpoint, group)| {
                group
                    .chunks(batch_size.max(1))
                    .map(|chunk| (endpoint.clone(), chunk.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let fetched = join_all(chunks.into_iter().map(|(endpoint, chunk)| async move {
            let result = self
                .status_group(
                    endpoint,
                    chunk.clone(),
                    false,
                    Deadline::after(batch_timeout),
                )
                .await;
            (chunk, result)
        }))
        .await;
        let mut out = HashMap::with_capacity(tokens.len());
        for (chunk, mut result) in fetched {
            for token in chunk {
                let status = match &mut result {
                    Ok(raw) => Ok(raw
                        .remove(&token)
                        .flatten()
                        .or_else(|| self.created.contains(&token).then(created_status))),
                    Err(error) => Err(error.clone()),
                };
                out.insert(token, status);
            }
        }
        out
    }

    /// Status of one group of tasks sharing an endpoint, falling back to the main
    /// endpoint when a master endpoint fails, and following newly learned master
    /// endpoints once for their extended attributes.
    pub(super) async fn status_group(
        &self,
        endpoint: Url,
        tokens: Vec<String>,
        follow: bool,
        deadline: Deadline,
    ) -> Result<BTreeMap<String, Option<pb::TaskStatus>>, Error> {
        let main = self.client.main_status_url();
        let (from, mut statuses) = if endpoint == *main {
            (
                main.clone(),
                self.client.status(main, &tokens, deadline).await?,
            )
        } else {
            match self.client.status(&endpoint, &tokens, deadline).await {
                Ok(statuses) => (endpoint, statuses),
                // A busy master says "later", not "gone": falling back would add load
                // to a busy upstream; the caller gets UNAVAILABLE with RetryInfo.
                Err(error) if error.reason == reasons::QENCODE_SYSTEM_BUSY => return Err(error),
                Err(error) => {
                    warn!(host = endpoint.host_str().unwrap_or(""), reason = %error.reason, "master status endpoint failed; using the main one");
                    for token in &tokens {
                        self.status_urls.invalidate(token);
                    }
                    (
                        main.clone(),
                        self.client.status(main, &tokens, deadline).await?,
                    )
                }
            }
        };
        statuses.retain(|token, _| tokens.contains(token));
        let mut masters: HashMap<Url, Vec<String>> = HashMap::new();
        for (token, status) in &statuses {
            let Some(url) = status.as_ref().map(|s| s.status_url.as_str()) else {
                continue;
            };
            if let Some(master) = self.remember_status_url(token, url) {
                if follow && from == *main && master != *main {
                    masters.entry(master).or_default().push(token.clone());
                }
            }
        }
        for (master, group) in masters {
            match self.client.status(&master, &group, deadline).await {
                Ok(extended) => {
                    for (token, status) in extended {
                        if status.is_some() && group.contains(&token) {
                            statuses.insert(token, status);
                        }
                    }
                }
                Err(error) => {
                    debug!(reason = %error.reason, "master status endpoint failed on first use; keeping the main answer")
                }
            }
        }
        Ok(statuses)
    }

    /// Remembers a trusted status URL for a task; returns it when trusted.
    pub(super) fn remember_status_url(&self, task_token: &str, url: &str) -> Option<Url> {
        if url.is_empty() {
            return None;
        }
        // Most answers repeat the URL already remembered for the task: no parse, no
        // cache write on the hot path.
        if let Some(known) = self.status_urls.get(task_token) {
            if known.as_str() == url {
                return Some(known);
            }
        }
        match self.trusted.check_endpoint(url, STATUS_PATH) {
            Some(trusted) => {
                if trusted != *self.client.main_status_url() {
                    self.status_urls
                        .insert(task_token.to_owned(), trusted.clone());
                }
                Some(trusted)
            }
            None => {
                let host = Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned));
                warn!(
                    host = host.as_deref().unwrap_or("unparseable"),
                    "ignoring status_url on an untrusted host"
                );
                None
            }
        }
    }
}
