//! `cosign verify --key K -a k=v IMAGE`: every check (the key, the payload's digest, its type and the
//! wanted annotations) must hold on one and the same signature layer. Checking each constraint against
//! *some* layer would let a junk-signed layer carrying a newer version annotation, appended beside an
//! old valid signature, pass a rollback check; here that layer is rejected on its own signature.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::VerifyError;
use crate::key::{PublicKey, SignatureFault};
use crate::layout::{Descriptor, SIGNATURE_ANNOTATION, SIMPLE_SIGNING, signature_tag};
use crate::payload::{Payload, SIGNATURE_TYPE};
use crate::registry::{Reference, Registry, digest_in, tag_in};

/// An accepted image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The image pinned to its digest: refer to it this way from now on, never by tag.
    pub pinned: String,
    /// The manifest digest.
    pub digest: String,
    /// The index of the signature layer that passed every check.
    pub layer: usize,
    /// Its payload.
    pub payload: Payload,
    /// How many signature layers the image has.
    pub signatures: usize,
}

/// Why one signature layer was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The layer is not a simple-signing payload.
    #[error("media type {0}, expected {SIMPLE_SIGNING}")]
    MediaType(String),
    /// No signature annotation.
    #[error("no {SIGNATURE_ANNOTATION} annotation")]
    NoSignature,
    /// The annotation is not base64 of a DER signature.
    #[error("the signature annotation is not base64 DER (corrupted signature)")]
    Corrupted,
    /// The signature is not this key's over this payload.
    #[error("the signature does not verify with the given key over this payload (another key, or altered bytes)")]
    Mismatch,
    /// The payload could not be fetched or is not the blob its digest names.
    #[error("the payload could not be read: {0}")]
    Unreadable(String),
    /// The payload is not a simple-signing document.
    #[error("the payload is not a simple-signing document: {0}")]
    NotSimpleSigning(String),
    /// `critical.type` is wrong.
    #[error("critical.type is {0:?}, expected {SIGNATURE_TYPE:?}")]
    Type(String),
    /// The payload signs another image.
    #[error("the payload signs {signed}, not this image's {digest}")]
    OtherImage {
        /// What the payload names.
        signed: String,
        /// The image's digest.
        digest: String,
    },
    /// A wanted annotation is missing or different.
    #[error("annotation {key} is {}, expected {wanted:?}", .found.as_ref().map_or_else(|| "absent".to_owned(), |f| format!("{f:?}")))]
    Annotation {
        /// The key.
        key: String,
        /// The value asked for.
        wanted: String,
        /// The value in the payload.
        found: Option<String>,
    },
}

/// Verifies `image` (by tag or digest) against `key`, demanding `wanted` annotations.
pub async fn verify(
    registry: &Registry,
    key: &PublicKey,
    image: &Reference,
    wanted: &BTreeMap<String, String>,
) -> Result<Verified, VerifyError> {
    let digest = registry.resolve(image).await?;
    let Some(manifest) = registry.signatures(image, &digest).await? else {
        return Err(VerifyError::Unsigned {
            image: image.whole(),
            tag: signature_tag(&digest),
            repository: tag_in(image, "x").whole().trim_end_matches(":x").to_owned(),
            digest,
        });
    };
    let mut rejected = Vec::new();
    for (index, layer) in manifest.layers.iter().enumerate() {
        match check_layer(registry, key, image, &digest, layer, wanted).await {
            Ok(payload) => {
                return Ok(Verified {
                    pinned: digest_in(image, &digest).whole(),
                    digest,
                    layer: index,
                    payload,
                    signatures: manifest.layers.len(),
                });
            }
            Err(fault) => rejected.push((index, fault)),
        }
    }
    Err(VerifyError::Rejected {
        image: image.whole(),
        digest,
        count: manifest.layers.len(),
        rejected,
    })
}

/// Every check on one layer, in cosign's order: the signature over the blob, then the payload's claims.
async fn check_layer(
    registry: &Registry,
    key: &PublicKey,
    image: &Reference,
    digest: &str,
    layer: &Descriptor,
    wanted: &BTreeMap<String, String>,
) -> Result<Payload, Fault> {
    if layer.media_type != SIMPLE_SIGNING {
        return Err(Fault::MediaType(layer.media_type.clone()));
    }
    let encoded = layer.annotation(SIGNATURE_ANNOTATION).ok_or(Fault::NoSignature)?;
    let der = STANDARD.decode(encoded.trim()).map_err(|_| Fault::Corrupted)?;
    let blob = registry
        .blob(image, layer)
        .await
        .map_err(|e| Fault::Unreadable(e.to_string()))?;
    key.verify(&blob, &der).map_err(|fault| match fault {
        SignatureFault::NotDer => Fault::Corrupted,
        SignatureFault::Mismatch => Fault::Mismatch,
    })?;
    let payload: Payload = serde_json::from_slice(&blob).map_err(|e| Fault::NotSimpleSigning(e.to_string()))?;
    if payload.critical.kind != SIGNATURE_TYPE {
        return Err(Fault::Type(payload.critical.kind));
    }
    if payload.critical.image.docker_manifest_digest != digest {
        return Err(Fault::OtherImage {
            signed: payload.critical.image.docker_manifest_digest,
            digest: digest.to_owned(),
        });
    }
    for (key, want) in wanted {
        let found = payload.annotation(key);
        if found.as_deref() != Some(want.as_str()) {
            return Err(Fault::Annotation {
                key: key.clone(),
                wanted: want.clone(),
                found,
            });
        }
    }
    Ok(payload)
}
