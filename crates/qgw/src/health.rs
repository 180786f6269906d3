//! `qgw health`: the standard gRPC health check of the server and both services.
//!
//! A service that is not SERVING (e.g. the upstream token not fetched yet) is reported
//! as `UNAVAILABLE`, so `qgw health` works as a readiness probe by its exit code.

use crate::{connect::Clients, fail::Failure, output::Output};
use serde_json::json;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

/// The services checked; "" is the server as a whole.
const SERVICES: [&str; 3] = [
    "",
    "qencode.gateway.v1.Transcoding",
    "qencode.gateway.v1.LiveStreaming",
];

/// Checks every service, printing each one's status.
pub async fn run(clients: &Clients, output: Output) -> Result<(), Failure> {
    let mut health = HealthClient::new(clients.channel.clone());
    let mut not_serving = Vec::new();
    for service in SERVICES {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await?
            .into_inner()
            .status();
        let word = crate::output::word(status.as_str_name(), "");
        let name = if service.is_empty() {
            "server"
        } else {
            service
        };
        output.emit(json!({"service": name, "status": word}), || {
            format!("{name}: {word}")
        })?;
        if status != ServingStatus::Serving {
            not_serving.push(name);
        }
    }
    if not_serving.is_empty() {
        Ok(())
    } else {
        Err(Failure::Rpc(tonic::Status::unavailable(format!(
            "not serving: {}",
            not_serving.join(", ")
        ))))
    }
}
