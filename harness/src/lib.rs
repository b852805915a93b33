//! The conformance harness: builds the CODITECT images from `images/`, launches them with
//! testcontainers against mock license and metadata servers, and runs commands inside them.
#![forbid(unsafe_code)]

pub mod docker;
pub mod error;
pub mod exec;
pub mod fixture;
pub mod images;
pub mod launch;
pub mod mock;
pub mod progress;
pub mod registry;
pub mod shared;

pub use error::{HarnessError, Result};
pub use launch::{ContainerHandle, Exit, Launch, Ready, Running, TEST_KEY};

/// The workspace version: the images' VERSION.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
