//! Set-up shared by the harness's Docker-backed tests (see `coditect_harness::fixture`).

pub use coditect_harness::fixture::{reference, setup};
