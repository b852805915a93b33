//! `cosign sign --key`: resolve the image to its digest, sign the simple-signing payload, and append
//! the signature as a layer of the image's `.sig` manifest (a signature already there is not added twice).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::SigningError;
use crate::layout::{Descriptor, EMPTY_CONFIG, Manifest, OCI_MANIFEST, signature_tag};
use crate::payload::Payload;
use crate::registry::{Reference, Registry, digest_in, repository_of, tag_in};
use crate::signer::Signer;

/// What signing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The image, pinned to the digest that was signed.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// The signature manifest's tag.
    pub tag: String,
    /// How many signature layers it holds now.
    pub layers: usize,
    /// False when this exact signature was already there.
    pub appended: bool,
}

/// Signs `image` (by tag or digest) with `signer`, recording `annotations` in the payload.
pub async fn sign(
    registry: &Registry,
    signer: &impl Signer,
    image: &Reference,
    annotations: &BTreeMap<String, String>,
) -> Result<Signed, SigningError> {
    let digest = registry.resolve(image).await?;
    let payload = Payload::new(&repository_of(image), &digest, annotations).to_bytes();
    let signature = signer.sign(&payload).await.map_err(|source| SigningError::Signer {
        image: image.whole(),
        source,
    })?;
    let layer = Descriptor::signature(&payload, &STANDARD.encode(signature));
    let mut manifest = registry
        .signatures(image, &digest)
        .await?
        .unwrap_or_else(Manifest::signatures);
    let tag = signature_tag(&digest);
    let appended = !manifest.layers.contains(&layer);
    if appended {
        registry.put_blob(image, EMPTY_CONFIG).await?;
        registry.put_blob(image, &payload).await?;
        manifest.layers.push(layer);
        registry
            .put_manifest(&tag_in(image, &tag), manifest.to_bytes(), OCI_MANIFEST)
            .await?;
    }
    Ok(Signed {
        image: digest_in(image, &digest).whole(),
        digest,
        tag,
        layers: manifest.layers.len(),
        appended,
    })
}
