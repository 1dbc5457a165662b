variable "bucket_name" {
  description = "Name of the invoice document bucket."
  type        = string
}

variable "documents_prefix" {
  description = "Prefix of BILLING_DOCUMENTS_URI (s3://BUCKET/PREFIX); documents are PREFIX/invoices/YYYY/MM/NUMBER.pdf. Empty for the bucket root."
  type        = string
  default     = "documents"
  validation {
    condition     = !startswith(var.documents_prefix, "/") && !endswith(var.documents_prefix, "/")
    error_message = "documents_prefix has no leading or trailing slash (the service strips them)."
  }
}

variable "retention_mode" {
  description = "S3 Object Lock default retention mode, as Finance sets it: COMPLIANCE (nobody can shorten it) or GOVERNANCE."
  type        = string
  default     = "COMPLIANCE"
  validation {
    condition     = contains(["COMPLIANCE", "GOVERNANCE"], var.retention_mode)
    error_message = "retention_mode is COMPLIANCE or GOVERNANCE."
  }
}

variable "retention_days" {
  description = "How long every invoice document is retained (Object Lock), in days, as Finance sets it (e.g. 10 years for tax records)."
  type        = number
  default     = 3653
  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days is at least 1."
  }
}

variable "transition_days" {
  description = "Days after which documents move to the archive storage class."
  type        = number
  default     = 365
}

variable "transition_storage_class" {
  description = "Archive storage class of older documents."
  type        = string
  default     = "GLACIER_IR"
}

variable "expiry_margin_days" {
  description = "Documents expire this many days after the retention period ends."
  type        = number
  default     = 30
}

variable "access_log_bucket" {
  description = "Existing bucket receiving the S3 server access logs of the document bucket."
  type        = string
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (IRSA)."
  type        = string
}

variable "oidc_provider_url" {
  description = "Issuer URL of that provider without https:// (oidc.eks.REGION.amazonaws.com/id/ID)."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the billing release."
  type        = string
  default     = "billing"
}

variable "service_accounts" {
  description = "Service accounts that store and read documents (the close CronJob, the Dagster user code)."
  type        = list(string)
  default     = ["billing-close", "billing-dagster"]
}

variable "administrator_role_arns" {
  description = "IAM roles allowed to manage the key (never to use it for data)."
  type        = list(string)
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
