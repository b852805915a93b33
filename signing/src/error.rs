//! The signing crate's errors. Each reads after "failed to …", names the key, image or layer at fault,
//! and says what would be accepted.

use std::path::PathBuf;

/// A key that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("read the key {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("write the key {path}: {source}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a key of the expected kind.
    #[error("read a key from {origin}: {detail}; expected {wanted}")]
    Malformed {
        /// The file or service the key came from.
        origin: String,
        /// What the parser said.
        detail: String,
        /// The accepted form.
        wanted: &'static str,
    },
}

/// A signer that could not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key itself.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A KMS key URI of the wrong shape.
    #[error(
        "use the KMS key {uri}: expected gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N"
    )]
    KmsUri {
        /// What was given.
        uri: String,
    },
    /// Cloud KMS (or the metadata server) refused or answered outside its API.
    #[error("{what}: {detail}")]
    Kms {
        /// The step.
        what: String,
        /// The status and body, or the transport error.
        detail: String,
    },
}

/// A registry operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The reference does not parse.
    #[error(
        "parse the image reference {reference:?}: {detail}; expected REGISTRY/REPOSITORY[:TAG][@sha256:HEX], \
         e.g. 127.0.0.1:5000/coditect/licensed-docker:1.0.0"
    )]
    Reference {
        /// What was given.
        reference: String,
        /// What the parser said.
        detail: String,
    },
    /// The registry has no such manifest.
    #[error("find {reference} in its registry: no such manifest; push it first, or check the tag and digest")]
    NotFound {
        /// The reference.
        reference: String,
    },
    /// The registry answered with an error, or could not be reached.
    #[error("{what} at {reference}: {source}")]
    Protocol {
        /// The step.
        what: &'static str,
        /// The reference.
        reference: String,
        /// The client's error.
        #[source]
        source: Box<oci_client::errors::OciDistributionError>,
    },
    /// Content whose digest is not the one it was asked for: the registry (or a proxy) altered it.
    #[error("fetch {what} from {reference}: its content hashes to {found}, expected {expected}")]
    DigestMismatch {
        /// Which content.
        what: String,
        /// The reference.
        reference: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what came.
        found: String,
    },
    /// A manifest or blob outside what this client accepts.
    #[error("read {what} from {reference}: {detail}")]
    Malformed {
        /// Which content.
        what: String,
        /// The reference.
        reference: String,
        /// What is wrong and what would be accepted.
        detail: String,
    },
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// Talking to the registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The signer.
    #[error("sign {image}: {source}")]
    Signer {
        /// The image.
        image: String,
        /// The signer's error.
        #[source]
        source: SignError,
    },
}

/// Why an image was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Talking to the registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// There is no signature manifest for the image's digest.
    #[error("verify {image}: no signatures found for {digest} (no tag {tag} in {repository})")]
    Unsigned {
        /// The image as asked.
        image: String,
        /// Its digest.
        digest: String,
        /// The signature tag looked up.
        tag: String,
        /// The repository.
        repository: String,
    },
    /// Signatures exist, and none passes every check on its own.
    #[error("verify {image} ({digest}): none of its {count} signature(s) holds: {}", rejections(.rejected))]
    Rejected {
        /// The image as asked.
        image: String,
        /// Its digest.
        digest: String,
        /// How many signature layers there were.
        count: usize,
        /// Why each layer was rejected, by layer index.
        rejected: Vec<(usize, crate::verify::Fault)>,
    },
}

fn rejections(rejected: &[(usize, crate::verify::Fault)]) -> String {
    rejected
        .iter()
        .map(|(layer, fault)| format!("layer {layer}: {fault}"))
        .collect::<Vec<_>>()
        .join("; ")
}
