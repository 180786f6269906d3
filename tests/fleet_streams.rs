//! Fleet mode, live streams: each watched stream is polled by one replica for the whole
//! fleet, a stream callback posted to one replica reaches watchers on all of them, and
//! when the lease holder goes away (stops, or dies and its lease expires) another replica
//! takes over.

mod common;

use common::{projects::*, redis::*, *};
use qencode_gateway::{
    fleet::Kind,
    pb::{self, StreamState, WatchEventKind},
};
use qencode_sandbox::{Endpoint, Sandbox, SandboxConfig, SandboxHandle};
use std::time::Duration;
use tonic::{transport::Channel, Streaming};

const INTERVAL: Duration = Duration::from_millis(200);

async fn sandbox(live_phase: Duration) -> SandboxHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let config = SandboxConfig {
        live_phase_duration: live_phase,
        ..fast_sandbox()
    };
    Sandbox::start(listener, config)
        .await
        .expect("start sandbox")
}

fn live(channel: Channel) -> pb::live_streaming_client::LiveStreamingClient<Channel> {
    pb::live_streaming_client::LiveStreamingClient::new(channel)
}

async fn create(channel: Channel, name: &str) -> pb::LiveStream {
    live(channel)
        .create_stream(pb::CreateStreamRequest {
            params: Some(pb::StreamParams {
                name: Some(name.into()),
                ..Default::default()
            }),
            extra_json: None,
        })
        .await
        .expect("create stream")
        .into_inner()
        .stream
        .expect("stream")
}

async fn start(channel: Channel, id: &str) {
    live(channel)
        .start_stream(pb::StartStreamRequest {
            stream_id: id.to_owned(),
        })
        .await
        .expect("start stream");
}

async fn watch(channel: Channel, id: String) -> Streaming<pb::WatchStreamResponse> {
    live(channel)
        .watch_stream(pb::WatchStreamRequest { stream_id: id })
        .await
        .expect("watch")
        .into_inner()
}

async fn next(stream: &mut Streaming<pb::WatchStreamResponse>) -> pb::WatchStreamResponse {
    tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("watch stalled")
        .expect("watch failed")
        .expect("watch ended early")
}

fn state(event: &pb::WatchStreamResponse) -> StreamState {
    event
        .stream
        .as_ref()
        .and_then(|s| s.status.as_ref())
        .map_or(StreamState::Unspecified, |s| s.state())
}

/// Reads until the stream is live (heartbeats and intermediate states skipped), within
/// a bounded time: heartbeats alone would keep a loop on `next` going for ever.
async fn until_live(mut stream: Streaming<pb::WatchStreamResponse>) -> StreamState {
    let live = async {
        loop {
            let event = next(&mut stream).await;
            if state(&event) == StreamState::Live {
                return StreamState::Live;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), live)
        .await
        .expect("the watcher never saw the stream live")
}

fn stream_leases(replicas: &[Replica]) -> Vec<usize> {
    replicas
        .iter()
        .map(|r| {
            r.gateway
                .watchers
                .fleet()
                .expect("fleet mode")
                .leases_held_of(Kind::Stream)
        })
        .collect()
}

fn polling(c: &mut qencode_gateway::Config) {
    c.live_poll_interval = Some(INTERVAL);
}

/// `per_stream` watchers of each stream on every replica, each past its snapshot.
async fn watch_all(
    replicas: &[Replica],
    ids: &[String],
    per_stream: usize,
) -> Vec<Vec<Streaming<pb::WatchStreamResponse>>> {
    let mut all = Vec::new();
    for replica in replicas {
        let channel = replica.channel().await;
        let opened = ids
            .iter()
            .flat_map(|id| std::iter::repeat_n(id.clone(), per_stream))
            .map(|id| {
                let channel = channel.clone();
                async move {
                    let mut stream = watch(channel, id).await;
                    let snapshot = next(&mut stream).await;
                    assert_eq!(snapshot.kind(), WatchEventKind::Snapshot);
                    assert_eq!(state(&snapshot), StreamState::Created);
                    stream
                }
            });
        all.push(futures::future::join_all(opened).await);
    }
    all
}

#[tokio::test]
async fn the_fleet_polls_each_stream_once_per_interval() {
    const STREAMS: usize = 4;
    let redis = RedisServer::start().await;
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let url = sandbox.base_url();
    let replicas = futures::future::join_all((0..3).map(|_| replica(&url, &redis, polling))).await;
    let mut ids = Vec::new();
    for i in 0..STREAMS {
        let channel = replicas[i % replicas.len()].channel().await;
        ids.push(create(channel, &format!("studio-{i}")).await.id);
    }
    let _streams = watch_all(&replicas, &ids, 3).await;
    // Every stream has exactly one holder (bounded wait on the condition itself).
    eventually("every stream leased once", Duration::from_secs(30), || {
        stream_leases(&replicas).iter().sum::<usize>() == STREAMS
    })
    .await;
    // One replica alone GETs each stream once per interval; three replicas with nine
    // watchers of each stream must not do more (a tick of slack at either end).
    let window = INTERVAL * 15;
    let before = sandbox.count(Endpoint::LiveGet);
    tokio::time::sleep(window).await;
    let made = sandbox.count(Endpoint::LiveGet) - before;
    assert!(
        made > 0 && made <= STREAMS * (15 + 2),
        "{made} stream GETs in 15 intervals for {STREAMS} streams (leases {:?})",
        stream_leases(&replicas)
    );
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn a_stream_callback_to_one_replica_reaches_watchers_on_the_others() {
    let redis = RedisServer::start().await;
    let sandbox = sandbox(Duration::from_millis(150)).await;
    let url = sandbox.base_url();
    let slow =
        |c: &mut qencode_gateway::Config| c.live_poll_interval = Some(Duration::from_secs(3600));
    let a = replica(&url, &redis, |c| {
        slow(c);
        c.callback_url = Some(url::Url::parse(&format!("http://{}", c.http_listen)).unwrap());
    })
    .await;
    let b = replica(&url, &redis, slow).await;
    let c = replica(&url, &redis, slow).await;
    // Created through A, the stream carries A's signed callback URL: the sandbox posts
    // every change to A only.
    let created = create(a.channel().await, "pushed").await;
    let callback_url = created.params.as_ref().and_then(|p| p.callback_url.clone());
    assert!(
        callback_url
            .as_deref()
            .is_some_and(|u| u.starts_with(&format!("{}callbacks/stream/", a.http_url()))),
        "{created:?}"
    );
    let mut streams = Vec::new();
    for replica in [&b, &c] {
        let mut stream = watch(replica.channel().await, created.id.clone()).await;
        assert_eq!(state(&next(&mut stream).await), StreamState::Created);
        streams.push(stream);
    }
    let polls = sandbox.count(Endpoint::LiveGet);
    start(a.channel().await, &created.id).await;
    let reached = futures::future::join_all(streams.into_iter().map(until_live)).await;
    assert_eq!(reached, [StreamState::Live, StreamState::Live]);
    // With polling an hour apart the way to live came by callback, through Redis.
    assert_eq!(
        sandbox.count(Endpoint::LiveGet),
        polls,
        "{:?}",
        sandbox.requests()
    );
    for replica in [a, b, c] {
        replica.stop().await;
    }
}

#[tokio::test]
async fn when_the_stream_lease_holder_leaves_another_replica_polls_the_next_change() {
    let redis = RedisServer::start().await;
    let sandbox = sandbox(Duration::from_millis(300)).await;
    let url = sandbox.base_url();
    let mut replicas =
        futures::future::join_all((0..3).map(|_| replica(&url, &redis, polling))).await;
    let id = create(replicas[0].channel().await, "handed-over").await.id;
    let mut streams = watch_all(&replicas, std::slice::from_ref(&id), 2).await;
    let holder = eventually("somebody holds the lease", Duration::from_secs(30), || {
        stream_leases(&replicas).iter().position(|held| *held > 0)
    })
    .await;
    replicas[holder].begin_stop();
    let gone = replicas.remove(holder);
    streams.remove(holder);
    gone.stop().await;
    // The stream changes only after its holder left; the survivors must see it.
    start(replicas[0].channel().await, &id).await;
    let reached = futures::future::join_all(streams.into_iter().flatten().map(until_live)).await;
    assert!(
        reached.iter().all(|s| *s == StreamState::Live),
        "{reached:?}"
    );
    eventually(
        "a survivor holds the lease",
        Duration::from_secs(30),
        || stream_leases(&replicas).iter().sum::<usize>() == 1,
    )
    .await;
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn a_dead_holders_stream_lease_expires_and_a_live_replica_takes_over() {
    let redis = RedisServer::start().await;
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let url = sandbox.base_url();
    let replicas = futures::future::join_all((0..2).map(|_| replica(&url, &redis, polling))).await;
    let id = create(replicas[0].channel().await, "orphaned").await.id;
    // A holder that died without releasing: its lease stays until it expires.
    let lease = format!("{}stream-lease:{id}", replicas[0].config.redis_prefix);
    let client = ::redis::Client::open(redis.url()).expect("redis client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let () = ::redis::cmd("SET")
        .arg(&lease)
        .arg("dead-replica")
        .arg("PX")
        .arg(1500)
        .query_async(&mut conn)
        .await
        .expect("SET lease");
    let before = sandbox.count(Endpoint::LiveGet);
    let mut streams = Vec::new();
    for replica in &replicas {
        streams.push(watch(replica.channel().await, id.clone()).await);
    }
    // While the dead holder's lease stands, nobody polls in its place.
    let polls = sandbox.count(Endpoint::LiveGet) - before;
    let holder: Option<String> = ::redis::cmd("GET")
        .arg(&lease)
        .query_async(&mut conn)
        .await
        .expect("GET lease");
    if holder.as_deref() == Some("dead-replica") {
        assert_eq!(polls, 0, "polled under another holder's lease");
    }
    // Once it expires a live replica takes the lease and every watcher gets its snapshot.
    for stream in &mut streams {
        assert_eq!(state(&next(stream).await), StreamState::Created);
    }
    let holder: Option<String> = ::redis::cmd("GET")
        .arg(&lease)
        .query_async(&mut conn)
        .await
        .expect("GET lease");
    let ids: Vec<String> = replicas
        .iter()
        .map(|r| {
            r.gateway
                .watchers
                .fleet()
                .expect("fleet")
                .replica()
                .to_owned()
        })
        .collect();
    assert!(
        holder.as_ref().is_some_and(|h| ids.contains(h)),
        "lease held by {holder:?}, replicas {ids:?}"
    );
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn stream_watchers_stay_updated_without_redis_and_the_fleet_reconverges() {
    let mut redis = RedisServer::start().await;
    let sandbox = sandbox(Duration::from_millis(300)).await;
    let url = sandbox.base_url();
    let replicas = futures::future::join_all((0..3).map(|_| replica(&url, &redis, polling))).await;
    let id = create(replicas[0].channel().await, "outage").await.id;
    let streams = watch_all(&replicas, std::slice::from_ref(&id), 1).await;

    // Redis gone: each replica polls its own watchers' streams; nothing fails.
    redis.stop();
    start(replicas[1].channel().await, &id).await;
    let reached = futures::future::join_all(streams.into_iter().flatten().map(until_live)).await;
    assert!(
        reached.iter().all(|s| *s == StreamState::Live),
        "{reached:?}"
    );
    let fleet = replicas[0].gateway.watchers.fleet().expect("fleet mode");
    assert!(!fleet.trouble().is_up() && fleet.trouble().errors() > 0);

    // Redis back (empty): new streams are leased once again across the fleet.
    redis.restart().await;
    let mut ids = Vec::new();
    for (i, replica) in replicas.iter().enumerate() {
        ids.push(
            create(replica.channel().await, &format!("after-{i}"))
                .await
                .id,
        );
    }
    let _streams = watch_all(&replicas, &ids, 1).await;
    // Three watched streams, each on every replica (the first one's watchers are gone).
    let watched = ids.len();
    eventually(
        "one lease per stream again",
        Duration::from_secs(30),
        || stream_leases(&replicas).iter().sum::<usize>() == watched,
    )
    .await;
    let before = sandbox.count(Endpoint::LiveGet);
    tokio::time::sleep(INTERVAL * 10).await;
    let made = sandbox.count(Endpoint::LiveGet) - before;
    assert!(
        made <= watched * (10 + 2),
        "{made} stream GETs in 10 intervals after Redis returned (leases {:?})",
        stream_leases(&replicas)
    );
    for replica in replicas {
        replica.stop().await;
    }
}

/// With several Qencode projects, live-stream states never go through Redis: a stored
/// snapshot holds the stream's keys, and a replica that never saw a stream cannot tell
/// which project it belongs to, so it could serve one project's stream to another's
/// caller. Every replica then polls its own watchers' streams with their project's
/// token; task states stay shared (Qencode answers `/v1/status` to anyone holding the
/// task token, so a shared task snapshot tells nothing the token would not).
#[tokio::test]
async fn with_several_projects_no_stream_state_goes_through_redis() {
    let redis = RedisServer::start().await;
    let (sandbox, path) = two_projects(SandboxConfig {
        live_phase_duration: Duration::from_millis(300),
        ..fast_sandbox()
    })
    .await;
    let url = sandbox.base_url();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let file = path.clone();
        replicas.push(
            replica(&url, &redis, move |c| {
                c.access.policy_file = Some(file);
                polling(c);
            })
            .await,
        );
    }
    fn request<T>(message: T) -> tonic::Request<T> {
        project_request(message, "alpha")
    }
    let stream = live(replicas[0].channel().await)
        .create_stream(request(pb::CreateStreamRequest::default()))
        .await
        .expect("create stream")
        .into_inner()
        .stream
        .expect("stream");
    let mut watchers = Vec::new();
    for replica in &replicas {
        watchers.push(
            live(replica.channel().await)
                .watch_stream(request(pb::WatchStreamRequest {
                    stream_id: stream.id.clone(),
                }))
                .await
                .expect("watch")
                .into_inner(),
        );
    }
    live(replicas[0].channel().await)
        .start_stream(request(pb::StartStreamRequest {
            stream_id: stream.id.clone(),
        }))
        .await
        .expect("start stream");
    // Every watcher follows the stream to live, each replica polling for its own.
    for watcher in watchers {
        assert_eq!(until_live(watcher).await, StreamState::Live);
    }
    assert_eq!(stream_leases(&replicas), [0, 0]);
    let client = ::redis::Client::open(redis.url()).expect("redis client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let prefix = &replicas[0].config.redis_prefix;
    let stored: Vec<String> = ::redis::cmd("KEYS")
        .arg(format!("{prefix}stream-*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    assert!(stored.is_empty(), "stream state in Redis: {stored:?}");
    for replica in replicas {
        replica.stop().await;
    }
}
