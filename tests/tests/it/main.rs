//! The single end-to-end test binary: drives the built `cargo-ecs` and the real adapters
//! against real local stand-ins (moto_server, docker-registry) started per test on loopback.

mod aws;
mod build;
mod common;
mod deploy;
mod logs;
mod render;
mod rig;
mod setup;
