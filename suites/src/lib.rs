//! The conformance checks. Each suite is a module that declares its checks once — ID, title, the
//! requirement it proves — in [`catalog`], and holds each check's logic as a function over the image
//! under test, so that `cargo test`, negative controls on broken variants and (later) the CLI and the
//! reports all run the same code. `docs/checks.md` is generated from the same catalog.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod claude_code;
pub mod example;
pub mod flow;
pub mod hardening;
pub mod heartbeat;
pub mod license_validation;
pub mod probe;
pub mod protection_model;
pub mod report;
pub mod runner;
pub mod signature_verification;
pub mod signing;
pub mod verdict;
