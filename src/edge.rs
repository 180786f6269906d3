//! The edge: what faces callers. Accepted connections and their limits, the gRPC
//! layer and thin adapters (the only modules that know tonic), the HTTP listeners
//! (Qencode's callbacks, admin), gRPC health, and the server that runs them all.

pub mod grpc;
pub mod health;
pub mod http_listeners;
pub mod listener;
pub mod server;
pub mod server_tls;
