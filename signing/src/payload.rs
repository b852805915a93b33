//! The simple-signing payload cosign signs: which image (by manifest digest) under which name, and the
//! annotations (`-a key=value`) such as the release version that defeats rollbacks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `critical.type` every cosign image signature carries.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// A simple-signing payload. Field order and names are cosign's, so the serialised bytes match what
/// `cosign sign` produces for the same image and annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// What the signature is about.
    pub critical: Critical,
    /// The annotations, or `null` when there are none.
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

/// The part of the payload every verifier must check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    /// The repository the image was signed under.
    pub identity: Identity,
    /// The image, by manifest digest.
    pub image: ImageDigest,
    /// Always [`SIGNATURE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `REGISTRY/REPOSITORY`, without tag or digest.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDigest {
    /// `sha256:<hex>` of the image's manifest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

impl Payload {
    /// The payload for the image `digest` in `repository`, with `annotations`.
    pub fn new(repository: &str, digest: &str, annotations: &BTreeMap<String, String>) -> Self {
        Self {
            critical: Critical {
                identity: Identity {
                    docker_reference: repository.to_owned(),
                },
                image: ImageDigest {
                    docker_manifest_digest: digest.to_owned(),
                },
                kind: SIGNATURE_TYPE.to_owned(),
            },
            optional: (!annotations.is_empty()).then(|| {
                annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect()
            }),
        }
    }

    /// The compact JSON bytes that get signed and stored as the layer blob.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The annotation `key` as a string, the way cosign compares it (`fmt.Sprint` of the JSON value).
    pub fn annotation(&self, key: &str) -> Option<String> {
        let value = self.optional.as_ref()?.get(key)?;
        Some(match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0bcd2d5b6e9ea8c2d5f8e1b0ab8c3a3a9ad3bb1f0d2c8a1b3a6f5b2f9e1d7c4a";

    #[test]
    fn payload_serialises_in_cosigns_field_order() {
        let annotations = BTreeMap::from([("version".to_owned(), "1.4.0".to_owned())]);
        let bytes = Payload::new("registry.example/coditect/docker", DIGEST, &annotations).to_bytes();
        assert_eq!(
            String::from_utf8(bytes).expect("utf-8"),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/coditect/docker"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":{{"version":"1.4.0"}}}}"#
            )
        );
    }

    #[test]
    fn payload_without_annotations_has_null_optional() {
        let bytes = Payload::new("r/x", DIGEST, &BTreeMap::new()).to_bytes();
        assert!(
            String::from_utf8(bytes)
                .expect("utf-8")
                .ends_with(r#""optional":null}"#)
        );
    }

    #[test]
    fn non_string_annotations_compare_as_their_json_text() {
        let payload: Payload = serde_json::from_str(&format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r/x"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"{SIGNATURE_TYPE}"}},"optional":{{"build":7,"version":"1.0.0"}}}}"#
        ))
        .expect("parses");
        assert_eq!(payload.annotation("build").as_deref(), Some("7"));
        assert_eq!(payload.annotation("version").as_deref(), Some("1.0.0"));
        assert_eq!(payload.annotation("missing"), None);
    }
}
