//! Mock servers that containers under test talk to, instead of anything real.
//!
//! They listen on the Docker bridge's gateway address and containers reach them as
//! `host.docker.internal`; every request is kept in a [`Journal`] with its arrival time.

pub mod bind;
pub mod journal;
pub mod license;
pub mod metadata;

pub use journal::{Journal, Seen};
pub use license::{Behaviour, LicenseApi, Mock};
pub use metadata::{Metadata, MetadataServer};
