//! The license API client, as `license-api.md` fixes it.
//!
//! - [`http`] sends one request with a time-out and a size cap on the answer, never following redirects;
//! - [`model`] holds the bodies on the wire and checks answers against the contract;
//! - [`client`] speaks validate, heartbeat and end, classifying each answer;
//! - [`retry`] retries transient failures with capped, jittered exponential back-off up to a deadline;
//! - [`error`] is what a failed license flow reports, with its exit code.

pub mod client;
pub mod error;
pub mod http;
pub mod model;
pub mod retry;

pub use client::{BeatOutcome, EndReason, LicenseApi};
pub use error::{Failure, LicenseError, Server};
