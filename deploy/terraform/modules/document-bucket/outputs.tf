output "bucket_name" {
  description = "The document bucket."
  value       = aws_s3_bucket.documents.id
}

output "bucket_arn" {
  description = "ARN of the document bucket."
  value       = aws_s3_bucket.documents.arn
}

output "documents_uri" {
  description = "BILLING_DOCUMENTS_URI of the service (Vault secret/billing/documents: documents_uri)."
  value       = var.documents_prefix == "" ? "s3://${aws_s3_bucket.documents.id}" : "s3://${aws_s3_bucket.documents.id}/${var.documents_prefix}"
}

output "kms_key_arn" {
  description = "BILLING_S3_KMS_KEY_ID of the service: the key ARN, as the bucket policy compares it (Vault secret/billing/documents: kms_key_arn)."
  value       = aws_kms_key.documents.arn
}

output "service_role_arn" {
  description = "IAM role of the service accounts (annotation eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.service.arn
}
