//! Image signatures in cosign's format, so that customers can check CODITECT images with the real
//! `cosign verify --key cosign.pub` and with this project's own verifier alike.
//!
//! - [`payload`]: the simple-signing document that is signed;
//! - [`key`] and [`signer`]: P-384 keys, and the seam between a local PEM key and Cloud KMS;
//! - [`layout`]: the `sha256-<hex>.sig` tag and its manifest, one layer per signature;
//! - [`registry`]: the OCI registry, through `oci-client`;
//! - [`sign()`] and [`verify()`]: the two operations.

pub mod error;
pub mod key;
pub mod layout;
pub mod payload;
pub mod registry;
mod sign;
pub mod signer;
pub mod verify;

pub use error::{KeyError, RegistryError, SignError, SigningError, VerifyError};
pub use key::{PrivateKey, PublicKey};
pub use registry::{Reference, Registry};
pub use sign::{Signed, sign};
pub use signer::{KmsSigner, Signer};
pub use verify::{Fault, Verified, verify};
