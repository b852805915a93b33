output "repository" {
  description = "Where the licensed images are pushed: REGION-docker.pkg.dev/PROJECT/coditect-licensed."
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.licensed.repository_id}"
}

output "signing_key" {
  description = "The key for cosign sign --key (gcpkms://...) and coditect-conformance sign --kms."
  value       = "gcpkms://${data.google_kms_crypto_key_version.current.id}"
}

output "public_key_pem" {
  description = "The P-384 public key customers verify with (publish it as cosign.pub)."
  value       = data.google_kms_crypto_key_version.current.public_key[0].pem
}
