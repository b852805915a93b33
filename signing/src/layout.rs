//! Where cosign keeps signatures and how it shapes them: the `sha256-<hex>.sig` tag beside the image,
//! one OCI manifest whose layers are the signed payloads, the signature in each layer's annotation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// An OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// A layer holding a simple-signing payload.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 DER signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The manifest types an image reference may resolve to.
pub const IMAGE_MANIFESTS: &[&str] = &[
    OCI_MANIFEST,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
/// The signature manifest's config blob: verifiers ignore it.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The tag holding the signatures of the image with manifest `digest`: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// An OCI image manifest, as much of it as signatures use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_MANIFEST`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// One per signature.
    pub layers: Vec<Descriptor>,
    /// Manifest annotations, kept as found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the blob is.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its length in bytes.
    pub size: u64,
    /// Per-blob annotations (the signature, for signature layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    /// A descriptor of `bytes`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest: digest_of(bytes),
            size: bytes.len() as u64,
            annotations: None,
        }
    }

    /// A signature layer: the payload's descriptor with the base64 signature annotation.
    pub fn signature(payload: &[u8], signature_b64: &str) -> Self {
        Self {
            annotations: Some(BTreeMap::from([(
                SIGNATURE_ANNOTATION.to_owned(),
                signature_b64.to_owned(),
            )])),
            ..Self::of(SIMPLE_SIGNING, payload)
        }
    }

    /// The annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

impl Manifest {
    /// An empty signature manifest.
    pub fn signatures() -> Self {
        Self {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            config: Descriptor::of(OCI_CONFIG, EMPTY_CONFIG),
            layers: Vec::new(),
            annotations: None,
        }
    }

    /// The compact JSON pushed to the registry.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_tag_replaces_the_algorithm_separator() {
        assert_eq!(signature_tag("sha256:ab12"), "sha256-ab12.sig");
    }

    #[test]
    fn digest_of_the_empty_config_is_the_well_known_one() {
        assert_eq!(
            digest_of(EMPTY_CONFIG),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
