variable "project" {
  description = "The GCP project that holds the registry and the signing key."
  type        = string
}

variable "region" {
  description = "The region of the registry and the key ring."
  type        = string
  default     = "us-central1"
}

variable "build_service_account" {
  description = "The e-mail of the service account Cloud Build signs with; the only principal allowed to sign."
  type        = string
}
