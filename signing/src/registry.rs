//! The registry, through `oci-client`: resolve a reference to its manifest digest (hashing what came,
//! never trusting a header), read and write signature manifests and blobs, and copy or retag images
//! inside one registry without Docker.

use std::str::FromStr as _;

pub use oci_client::Reference;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use reqwest::header::HeaderValue;

use crate::error::RegistryError;
use crate::layout::{self, Descriptor, IMAGE_MANIFESTS, Manifest, OCI_MANIFEST};

/// The largest manifest or signature blob read: a signature manifest with hundreds of layers fits; an
/// answer past this is refused instead of filling memory.
pub const MAX_CONTENT: u64 = 4 * 1024 * 1024;

/// Parses an image reference, naming what would be accepted when it does not parse.
pub fn parse(reference: &str) -> Result<Reference, RegistryError> {
    Reference::from_str(reference).map_err(|e| RegistryError::Reference {
        reference: reference.to_owned(),
        detail: e.to_string(),
    })
}

/// Whether `registry` (host[:port]) is on loopback, where plain HTTP is accepted as Docker does.
pub fn is_loopback(registry: &str) -> bool {
    let host = registry
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']').map(|(h, _)| h))
        .unwrap_or_else(|| registry.rsplit_once(':').map_or(registry, |(h, _)| h));
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A manifest fetched by reference: its bytes, the digest they hash to, and its type.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The manifest as served.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
}

/// A client for the registries images live in.
pub struct Registry {
    client: oci_client::Client,
    auth: RegistryAuth,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// A client that speaks plain HTTP to the loopback registries in `plain_http` and HTTPS elsewhere,
    /// anonymously or with `auth` (Artifact Registry takes `oauth2accesstoken` and an access token).
    pub fn new(plain_http: Vec<String>, auth: Option<(String, String)>) -> Self {
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain_http),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            ..ClientConfig::default()
        };
        Self {
            client: oci_client::Client::new(config),
            auth: auth.map_or(RegistryAuth::Anonymous, |(user, password)| {
                RegistryAuth::Basic(user, password)
            }),
        }
    }

    /// A client for `reference`'s registry: plain HTTP when it is on loopback.
    pub fn for_reference(reference: &Reference) -> Self {
        let registry = reference.resolve_registry().to_owned();
        let plain = if is_loopback(&registry) {
            vec![registry]
        } else {
            Vec::new()
        };
        let auth = std::env::var("CODITECT_REGISTRY_USERNAME")
            .ok()
            .zip(std::env::var("CODITECT_REGISTRY_PASSWORD").ok());
        Self::new(plain, auth)
    }

    fn protocol(
        &self,
        what: &'static str,
        reference: &Reference,
    ) -> impl FnOnce(OciDistributionError) -> RegistryError {
        let reference = reference.whole();
        move |source| {
            if is_not_found(&source) {
                RegistryError::NotFound { reference }
            } else {
                RegistryError::Protocol {
                    what,
                    reference,
                    source: Box::new(source),
                }
            }
        }
    }

    /// The manifest `reference` names, with the digest of its bytes. When the reference carries a
    /// digest, the bytes must hash to it.
    pub async fn fetch(&self, reference: &Reference, accept: &[&str]) -> Result<Fetched, RegistryError> {
        let (bytes, _) = self
            .client
            .pull_manifest_raw(reference, &self.auth, accept)
            .await
            .map_err(self.protocol("fetch the manifest", reference))?;
        if bytes.len() as u64 > MAX_CONTENT {
            return Err(RegistryError::Malformed {
                what: "the manifest".into(),
                reference: reference.whole(),
                detail: format!("{} bytes, more than the {MAX_CONTENT} accepted", bytes.len()),
            });
        }
        let digest = layout::digest_of(&bytes);
        if let Some(expected) = reference.digest()
            && expected != digest
        {
            return Err(RegistryError::DigestMismatch {
                what: "the manifest".into(),
                reference: reference.whole(),
                expected: expected.to_owned(),
                found: digest,
            });
        }
        Ok(Fetched { bytes, digest })
    }

    /// The digest of the image manifest `reference` names.
    pub async fn resolve(&self, reference: &Reference) -> Result<String, RegistryError> {
        Ok(self.fetch(reference, IMAGE_MANIFESTS).await?.digest)
    }

    /// The signature manifest of the image `digest` in `reference`'s repository, if there is one.
    pub async fn signatures(&self, reference: &Reference, digest: &str) -> Result<Option<Manifest>, RegistryError> {
        let tag = tag_in(reference, &layout::signature_tag(digest));
        match self.fetch(&tag, &[OCI_MANIFEST]).await {
            Ok(fetched) => serde_json::from_slice(&fetched.bytes)
                .map(Some)
                .map_err(|e| RegistryError::Malformed {
                    what: "the signature manifest".into(),
                    reference: tag.whole(),
                    detail: format!("{e}; expected an OCI image manifest"),
                }),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The blob `descriptor` names, checked against its digest and size.
    pub async fn blob(&self, reference: &Reference, descriptor: &Descriptor) -> Result<Vec<u8>, RegistryError> {
        if descriptor.size > MAX_CONTENT {
            return Err(RegistryError::Malformed {
                what: format!("the blob {}", descriptor.digest),
                reference: reference.whole(),
                detail: format!("{} bytes, more than the {MAX_CONTENT} accepted", descriptor.size),
            });
        }
        let oci = oci_client::manifest::OciDescriptor {
            media_type: descriptor.media_type.clone(),
            digest: descriptor.digest.clone(),
            size: descriptor.size as i64,
            urls: None,
            annotations: None,
        };
        let mut bytes = Vec::new();
        self.client
            .pull_blob(reference, &oci, &mut bytes)
            .await
            .map_err(self.protocol("fetch a blob", reference))?;
        let found = layout::digest_of(&bytes);
        if found != descriptor.digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("the blob {}", descriptor.digest),
                reference: reference.whole(),
                expected: descriptor.digest.clone(),
                found,
            });
        }
        Ok(bytes)
    }

    /// Uploads `bytes` into `reference`'s repository (the registry keeps one copy per digest).
    pub async fn put_blob(&self, reference: &Reference, bytes: &[u8]) -> Result<String, RegistryError> {
        let digest = layout::digest_of(bytes);
        self.client
            .push_blob(reference, bytes, &digest)
            .await
            .map_err(self.protocol("upload a blob", reference))?;
        Ok(digest)
    }

    /// Stores `bytes` as the manifest `reference` (a tag) names, and returns its digest.
    pub async fn put_manifest(
        &self,
        reference: &Reference,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<String, RegistryError> {
        let digest = layout::digest_of(&bytes);
        let content_type = HeaderValue::from_str(media_type).map_err(|e| RegistryError::Malformed {
            what: "the manifest type".into(),
            reference: reference.whole(),
            detail: e.to_string(),
        })?;
        self.client
            .push_manifest_raw(reference, bytes, content_type)
            .await
            .map_err(self.protocol("store the manifest", reference))?;
        Ok(digest)
    }

    /// Copies the image `from` to `to` in the same registry: its blobs are mounted, not uploaded, and its
    /// manifest stored byte for byte, so the digest is unchanged. Returns the digest.
    pub async fn copy(&self, from: &Reference, to: &Reference) -> Result<String, RegistryError> {
        self.copy_manifest(from, to, IMAGE_MANIFESTS).await
    }

    /// Copies the signature manifest at `from` (a `.sig` tag) to `to`, the same way.
    pub async fn copy_signatures(&self, from: &Reference, to: &Reference) -> Result<String, RegistryError> {
        self.copy_manifest(from, to, &[OCI_MANIFEST]).await
    }

    async fn copy_manifest(&self, from: &Reference, to: &Reference, accept: &[&str]) -> Result<String, RegistryError> {
        let fetched = self.fetch(from, accept).await?;
        let manifest: serde_json::Value =
            serde_json::from_slice(&fetched.bytes).map_err(|e| RegistryError::Malformed {
                what: "the manifest".into(),
                reference: from.whole(),
                detail: e.to_string(),
            })?;
        let media_type = manifest["mediaType"].as_str().unwrap_or(OCI_MANIFEST).to_owned();
        if from.repository() != to.repository() {
            let blobs = std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().into_iter().flatten());
            for blob in blobs {
                if let Some(digest) = blob["digest"].as_str() {
                    self.client
                        .mount_blob(to, from, digest)
                        .await
                        .map_err(self.protocol("mount a blob", to))?;
                }
            }
        }
        self.put_manifest(to, fetched.bytes, &media_type).await
    }

    /// A new image in `to` that is `from` with its config's label `key` set to `value`: the same layers
    /// under another digest, the way a rebuilt release differs from the one before.
    pub async fn relabel(
        &self,
        from: &Reference,
        to: &Reference,
        key: &str,
        value: &str,
    ) -> Result<String, RegistryError> {
        let digest = self.copy(from, to).await?;
        let fetched = self.fetch(&digest_in(to, &digest), IMAGE_MANIFESTS).await?;
        let malformed = |detail: String| RegistryError::Malformed {
            what: "the manifest".into(),
            reference: from.whole(),
            detail,
        };
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&fetched.bytes).map_err(|e| malformed(e.to_string()))?;
        let config_descriptor: Descriptor =
            serde_json::from_value(manifest["config"].clone()).map_err(|e| malformed(e.to_string()))?;
        let mut config: serde_json::Value =
            serde_json::from_slice(&self.blob(to, &config_descriptor).await?).map_err(|e| malformed(e.to_string()))?;
        config["config"]["Labels"][key] = serde_json::Value::String(value.to_owned());
        let config_bytes = serde_json::to_vec(&config).map_err(|e| malformed(e.to_string()))?;
        let config_digest = self.put_blob(to, &config_bytes).await?;
        manifest["config"]["digest"] = config_digest.into();
        manifest["config"]["size"] = config_bytes.len().into();
        let media_type = manifest["mediaType"].as_str().unwrap_or(OCI_MANIFEST).to_owned();
        let bytes = serde_json::to_vec(&manifest).map_err(|e| malformed(e.to_string()))?;
        self.put_manifest(to, bytes, &media_type).await
    }
}

/// `reference`'s repository with `tag`.
pub fn tag_in(reference: &Reference, tag: &str) -> Reference {
    Reference::with_tag(
        reference.registry().to_owned(),
        reference.repository().to_owned(),
        tag.to_owned(),
    )
}

/// `reference`'s repository pinned to `digest`.
pub fn digest_in(reference: &Reference, digest: &str) -> Reference {
    Reference::with_digest(
        reference.registry().to_owned(),
        reference.repository().to_owned(),
        digest.to_owned(),
    )
}

/// `REGISTRY/REPOSITORY`, what a payload's `docker-reference` names.
pub fn repository_of(reference: &Reference) -> String {
    format!("{}/{}", reference.registry(), reference.repository())
}

fn is_not_found(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::BlobUnknown
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        for host in [
            "127.0.0.1:5000",
            "localhost:5000",
            "[::1]:5000",
            "127.0.0.2",
            "localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "us-central1-docker.pkg.dev",
            "10.0.0.1:5000",
            "docker.io",
            "localhost.evil:5000",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn bad_references_name_the_expected_form() {
        let err = parse("127.0.0.1:5000/Coditect/UPPER:x")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("REGISTRY/REPOSITORY"), "{err}");
    }

    #[test]
    fn references_keep_their_registry_and_repository() {
        let r = parse("127.0.0.1:5000/coditect/licensed-docker:1.0.0").expect("parses");
        assert_eq!(repository_of(&r), "127.0.0.1:5000/coditect/licensed-docker");
        assert_eq!(
            tag_in(&r, "sha256-ab.sig").whole(),
            "127.0.0.1:5000/coditect/licensed-docker:sha256-ab.sig"
        );
    }
}
