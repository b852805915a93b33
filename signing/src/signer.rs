//! The signing seam: something that holds a P-384 key and returns a DER signature over SHA-384 of a
//! payload. Here it is a local PEM key; in production it is a Cloud KMS HSM key that never leaves Google.

use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha384};

use crate::error::SignError;
use crate::key::{PrivateKey, PublicKey};

/// Signs payloads with a P-384 key.
pub trait Signer: Send + Sync {
    /// The key that verifies this signer's signatures.
    fn public_key(&self) -> impl Future<Output = Result<PublicKey, SignError>> + Send;
    /// The DER ECDSA signature over SHA-384 of `payload`.
    fn sign(&self, payload: &[u8]) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send;
}

impl Signer for PrivateKey {
    async fn public_key(&self) -> Result<PublicKey, SignError> {
        Ok(PrivateKey::public_key(self))
    }

    async fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(PrivateKey::sign(self, payload))
    }
}

/// Cloud KMS's REST endpoint.
pub const KMS_ENDPOINT: &str = "https://cloudkms.googleapis.com";
/// Where a GCE or Cloud Build worker gets its service account's token.
pub const METADATA_TOKEN_URL: &str =
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";

/// A Cloud KMS asymmetric key version with purpose `ASYMMETRIC_SIGN` and algorithm
/// `EC_SIGN_P384_SHA384` (see `infra/opentofu`). The private key never leaves the HSM: this sends the
/// SHA-384 digest to `…:asymmetricSign` and gets the DER signature back, as `cosign sign --key gcpkms://…`
/// does.
#[derive(Debug, Clone)]
pub struct KmsSigner {
    /// `projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V`.
    version: String,
    endpoint: String,
    token: Token,
    http: reqwest::Client,
}

/// Where the OAuth access token comes from.
#[derive(Debug, Clone)]
enum Token {
    /// Given (e.g. `gcloud auth print-access-token`).
    Fixed(String),
    /// From the metadata server, asked once per request (it caches and refreshes on its side).
    Metadata(String),
}

impl KmsSigner {
    /// A signer for `uri`, cosign's `gcpkms://projects/…/cryptoKeyVersions/N` form. The token is taken from
    /// `access_token` when given, else from the metadata server (Cloud Build and GCE workers).
    pub fn new(uri: &str, access_token: Option<String>) -> Result<Self, SignError> {
        let version = uri.strip_prefix("gcpkms://").unwrap_or(uri);
        let parts: Vec<&str> = version.split('/').collect();
        let shaped = parts.len() == 10
            && ["projects", "locations", "keyRings", "cryptoKeys", "cryptoKeyVersions"]
                .iter()
                .enumerate()
                .all(|(i, word)| parts[2 * i] == *word && !parts[2 * i + 1].is_empty());
        if !shaped {
            return Err(SignError::KmsUri { uri: uri.to_owned() });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SignError::Kms {
                what: "build the HTTP client".into(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            version: version.to_owned(),
            endpoint: KMS_ENDPOINT.to_owned(),
            token: access_token.map_or_else(|| Token::Metadata(METADATA_TOKEN_URL.to_owned()), Token::Fixed),
            http,
        })
    }

    /// Talks to `endpoint` instead of Google's (a mock in tests, a private endpoint in VPC-SC setups).
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.trim_end_matches('/').to_owned();
        self
    }

    async fn token(&self) -> Result<String, SignError> {
        match &self.token {
            Token::Fixed(token) => Ok(token.clone()),
            Token::Metadata(url) => {
                #[derive(serde::Deserialize)]
                struct Answer {
                    access_token: String,
                }
                let answer: Answer = self
                    .call("get an access token from the metadata server", |http| {
                        http.get(url).header("Metadata-Flavor", "Google")
                    })
                    .await?;
                Ok(answer.access_token)
            }
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, SignError> {
        let fail = |detail: String| SignError::Kms {
            what: what.to_owned(),
            detail,
        };
        let response = request(&self.http).send().await.map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(fail(format!("HTTP {status}: {text}")));
        }
        serde_json::from_slice(&body).map_err(|e| fail(format!("unexpected answer: {e}")))
    }
}

impl Signer for KmsSigner {
    async fn public_key(&self) -> Result<PublicKey, SignError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            pem: String,
            algorithm: String,
        }
        let token = self.token().await?;
        let url = format!("{}/v1/{}/publicKey", self.endpoint, self.version);
        let answer: Answer = self
            .call("get the KMS public key", |http| http.get(&url).bearer_auth(&token))
            .await?;
        if answer.algorithm != "EC_SIGN_P384_SHA384" {
            return Err(SignError::Kms {
                what: format!("use {}", self.version),
                detail: format!("its algorithm is {}, expected EC_SIGN_P384_SHA384", answer.algorithm),
            });
        }
        Ok(PublicKey::from_pem(&answer.pem, &self.version)?)
    }

    async fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            signature: String,
        }
        let token = self.token().await?;
        let url = format!("{}/v1/{}:asymmetricSign", self.endpoint, self.version);
        let body = serde_json::json!({ "digest": { "sha384": STANDARD.encode(Sha384::digest(payload)) } });
        let answer: Answer = self
            .call("sign with KMS", |http| http.post(&url).bearer_auth(&token).json(&body))
            .await?;
        STANDARD
            .decode(answer.signature.as_bytes())
            .map_err(|e| SignError::Kms {
                what: "sign with KMS".into(),
                detail: format!("the signature is not base64: {e}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const VERSION: &str = "projects/p/locations/us-central1/keyRings/coditect-container-signing/cryptoKeys/dct-signing-key/cryptoKeyVersions/1";

    #[test]
    fn kms_uris_must_name_a_key_version() {
        assert!(KmsSigner::new(&format!("gcpkms://{VERSION}"), Some("t".into())).is_ok());
        for bad in [
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
            "gcpkms://projects//locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
            "awskms:///alias/x",
        ] {
            let err = KmsSigner::new(bad, None).expect_err(bad).to_string();
            assert!(err.contains(bad) && err.contains("cryptoKeyVersions"), "{err}");
        }
    }

    /// The KMS signer speaks the REST API as documented: the SHA-384 digest in, the DER signature out. The
    /// mock signs with a local key, so the answer is a real signature over the payload.
    #[tokio::test]
    async fn kms_signer_sends_the_sha384_digest_and_returns_the_der_signature() {
        let server = MockServer::start().await;
        let key = PrivateKey::generate();
        let payload = b"{\"critical\":{}}";
        let signature = key.sign(payload);
        Mock::given(method("POST"))
            .and(path(format!("/v1/{VERSION}:asymmetricSign")))
            .and(header("authorization", "Bearer tok"))
            .and(body_json(
                serde_json::json!({ "digest": { "sha384": STANDARD.encode(Sha384::digest(payload)) } }),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({ "signature": STANDARD.encode(&signature), "name": VERSION })),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/v1/{VERSION}/publicKey")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({ "pem": key.public_key().to_pem(), "algorithm": "EC_SIGN_P384_SHA384" }),
            ))
            .mount(&server)
            .await;
        let kms = KmsSigner::new(VERSION, Some("tok".into()))
            .expect("uri")
            .with_endpoint(&server.uri());
        let der = Signer::sign(&kms, payload).await.expect("signs");
        let public = Signer::public_key(&kms).await.expect("public key");
        assert_eq!(public.verify(payload, &der), Ok(()));
    }

    #[tokio::test]
    async fn kms_refusals_and_wrong_algorithms_name_the_key() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(403).set_body_string("PERMISSION_DENIED"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({ "pem": "x", "algorithm": "EC_SIGN_P256_SHA256" })),
            )
            .mount(&server)
            .await;
        let kms = KmsSigner::new(VERSION, Some("tok".into()))
            .expect("uri")
            .with_endpoint(&server.uri());
        let err = Signer::sign(&kms, b"x").await.expect_err("refused").to_string();
        assert!(err.contains("403") && err.contains("PERMISSION_DENIED"), "{err}");
        let err = Signer::public_key(&kms).await.expect_err("refused").to_string();
        assert!(
            err.contains("EC_SIGN_P256_SHA256") && err.contains("EC_SIGN_P384_SHA384"),
            "{err}"
        );
    }
}
