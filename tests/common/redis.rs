//! A real `redis-server` on 127.0.0.1 for fleet tests, and gateway replicas sharing one
//! sandbox. The server runs on a free port with no persistence and is killed on drop.
//! Without `redis-server` installed the tests fail, saying how to install it (CI does).

use super::API_KEY;
use qencode_gateway::{run, support::secret::Secret, Config, Gateway, Listeners};
use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};
use tokio::{io::AsyncReadExt, io::AsyncWriteExt, net::TcpListener, task::JoinHandle};
use tonic::transport::Channel;

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits (bounded) until it answers PING.
    pub async fn start() -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind probe");
            probe.local_addr().expect("probe addr").port()
        };
        let mut server = RedisServer { child: None, port };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}); fleet tests need it: \
                     apt-get install -y redis-server"
                )
            });
        self.child = Some(child);
        let what = format!("redis-server on port {} answering PING", self.port);
        eventually(&what, Duration::from_secs(20), async || {
            self.answers().await
        })
        .await;
    }

    async fn answers(&self) -> bool {
        let Ok(mut tcp) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut reply = [0u8; 7];
        tcp.write_all(b"PING\r\n").await.is_ok()
            && tokio::time::timeout(Duration::from_secs(1), tcp.read_exact(&mut reply))
                .await
                .is_ok_and(|r| r.is_ok())
            && &reply == b"+PONG\r\n"
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing was saved).
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One gateway replica, pointed at a shared sandbox and Redis.
pub struct Replica {
    pub addr: SocketAddr,
    pub config: Config,
    pub gateway: Gateway,
    server: JoinHandle<()>,
}

/// The callback secret every replica shares.
pub const CALLBACK_SECRET: &str = "fleet-callback-secret";

/// Starts a replica in fleet mode on `127.0.0.1:0` listeners; `tweak` adjusts its config.
pub async fn replica(
    sandbox_url: &str,
    redis: &RedisServer,
    tweak: impl FnOnce(&mut Config),
) -> Replica {
    let url = url::Url::parse(sandbox_url).expect("sandbox url");
    let mut config = Config::for_upstream(url, Secret::new(API_KEY));
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    config.http_listen = http.local_addr().expect("http addr");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    config.admin_listen = admin.local_addr().expect("admin addr");
    config.redis_url = Some(redis.url().parse().expect("redis url"));
    config.callback_secret = Some(CALLBACK_SECRET.parse().expect("secret"));
    tweak(&mut config);
    assert!(config.check().is_ok(), "{:?}", config.check());
    let gateway = Gateway::from_config(&config).expect("gateway");
    let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
    let addr = grpc.local_addr().expect("grpc addr");
    let serving = tokio::spawn(run(gateway.clone(), Listeners { grpc, http, admin }));
    let server = tokio::spawn(async move {
        serving.await.expect("gateway task").expect("gateway run");
    });
    Replica {
        addr,
        config,
        gateway,
        server,
    }
}

impl Replica {
    /// A channel to this replica.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to replica")
    }

    /// Base URL of its HTTP listener (callbacks).
    pub fn http_url(&self) -> String {
        format!("http://{}/", self.config.http_listen)
    }

    /// Base URL of its admin listener (/metrics, /healthz, /readyz).
    pub fn admin_url(&self) -> String {
        format!("http://{}/", self.config.admin_listen)
    }

    /// Begins shutdown without waiting.
    pub fn begin_stop(&self) {
        self.gateway.shutdown.begin();
    }

    /// Stops it and waits for the drain.
    pub async fn stop(self) {
        self.gateway.shutdown.begin();
        let _ = self.server.await;
    }
}

/// The one wait helper, still reachable here for tests that import it from this module.
pub use super::eventually;
