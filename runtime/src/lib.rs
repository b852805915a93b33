//! The licensed container's entrypoint, `coditect-entrypoint`: it runs as PID 1, checks the framework
//! and the license, keeps the session alive with heartbeats, supervises the command, and ends the
//! session when the command or the container stops. The contract it speaks is `license-api.md`.
//!
//! `run` reads as its list of steps in [`session`]; the parts it calls live in their own modules.

pub mod api;
pub mod cli;
pub mod config;
pub mod exit;
pub mod heartbeat;
pub mod home;
pub mod integrity;
pub mod logging;
pub mod metadata;
pub mod selfcheck;
pub mod session;
pub mod state;
pub mod supervisor;
pub mod unix;
pub mod welcome;
