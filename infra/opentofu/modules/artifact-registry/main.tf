# The licensed images' registry and the HSM key that signs them (ADR-193, Docker Content Trust).
# Checked by harness/tests/opentofu.rs: a change that weakens the key (software protection, another
# algorithm, no rotation) or widens who may sign fails the tests.

resource "google_artifact_registry_repository" "licensed" {
  project       = var.project
  location      = var.region
  repository_id = "coditect-licensed"
  format        = "DOCKER"
  description   = "CODITECT licensed developer containers, signed by digest"

  docker_config {
    immutable_tags = true
  }
}

resource "google_kms_key_ring" "container_signing" {
  project  = var.project
  name     = "coditect-container-signing"
  location = var.region
}

resource "google_kms_crypto_key" "dct_signing_key" {
  name            = "dct-signing-key"
  key_ring        = google_kms_key_ring.container_signing.id
  purpose         = "ASYMMETRIC_SIGN"
  rotation_period = "7776000s" # 90 days

  version_template {
    algorithm        = "EC_SIGN_P384_SHA384"
    protection_level = "HSM"
  }

  lifecycle {
    prevent_destroy = true
  }
}

# Only the build's service account may sign; nobody else holds signerVerifier or signer on the key.
resource "google_kms_crypto_key_iam_binding" "signers" {
  crypto_key_id = google_kms_crypto_key.dct_signing_key.id
  role          = "roles/cloudkms.signer"
  members       = ["serviceAccount:${var.build_service_account}"]
}

# Verifiers need the public key only.
resource "google_kms_crypto_key_iam_binding" "public_key_viewers" {
  crypto_key_id = google_kms_crypto_key.dct_signing_key.id
  role          = "roles/cloudkms.publicKeyViewer"
  members       = ["serviceAccount:${var.build_service_account}"]
}

# The build pushes the images it signs.
resource "google_artifact_registry_repository_iam_binding" "writers" {
  project    = var.project
  location   = var.region
  repository = google_artifact_registry_repository.licensed.name
  role       = "roles/artifactregistry.writer"
  members    = ["serviceAccount:${var.build_service_account}"]
}

data "google_kms_crypto_key_version" "current" {
  crypto_key = google_kms_crypto_key.dct_signing_key.id
}
