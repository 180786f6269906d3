//! Who may call what, with no tonic in it: the caller's identity, the policy file and
//! its rate limits, the projects a caller may use, and the one check the gRPC layer
//! runs per call.

pub mod check;
pub mod identity;
pub mod policy;
pub mod projects;
