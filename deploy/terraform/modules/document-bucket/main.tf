# The invoice document bucket (SSE-KMS with its own key, Object Lock, lifecycle, TLS only) and
# the IRSA role of the service. What the service does (invoice_renderer/storage.py): HeadObject,
# then PutObject with ServerSideEncryption=aws:kms, SSEKMSKeyId=<this key's ARN>,
# IfNoneMatch="*" under PREFIX/invoices/YYYY/MM/; GetObject of the same keys. Nothing else.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  key_prefix  = var.documents_prefix == "" ? "invoices/" : "${var.documents_prefix}/invoices/"
  objects_arn = "${aws_s3_bucket.documents.arn}/${local.key_prefix}*"
  role_name   = "${var.bucket_name}-service"
}

# --- KMS key: the bucket's own, rotated yearly ---------------------------------------------

data "aws_iam_policy_document" "key" {
  statement {
    sid       = "AccountRootManagesTheKeyPolicy"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = var.administrator_role_arns
    }
  }
  statement {
    sid = "AdministratorsManageNotUse"
    actions = [
      "kms:Describe*", "kms:Get*", "kms:List*", "kms:EnableKeyRotation", "kms:PutKeyPolicy",
      "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = var.administrator_role_arns
    }
  }
  statement {
    sid       = "ServiceUsesTheKeyThroughS3Only"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.service.arn] # KMS checks that the principal exists
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "documents" {
  description             = "Invoice documents of ${var.bucket_name} (SSE-KMS)"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "documents" {
  name          = "alias/${var.bucket_name}"
  target_key_id = aws_kms_key.documents.key_id
}

# --- The bucket -------------------------------------------------------------------------------

resource "aws_s3_bucket" "documents" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery decision of Finance and the platform team (a second locked bucket and key in another region); this module keeps one region.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: the service publishes billing.invoice.generated.v1 on NATS after storing a document.
  bucket              = var.bucket_name
  object_lock_enabled = true
  tags                = var.tags
}

resource "aws_s3_bucket_ownership_controls" "documents" {
  bucket = aws_s3_bucket.documents.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "documents" {
  bucket                  = aws_s3_bucket.documents.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "documents" {
  bucket = aws_s3_bucket.documents.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "documents" {
  bucket = aws_s3_bucket.documents.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.documents.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_object_lock_configuration" "documents" {
  bucket = aws_s3_bucket.documents.id
  rule {
    default_retention {
      mode = var.retention_mode
      days = var.retention_days
    }
  }
  depends_on = [aws_s3_bucket_versioning.documents]
}

resource "aws_s3_bucket_lifecycle_configuration" "documents" {
  bucket = aws_s3_bucket.documents.id
  rule {
    id     = "archive-then-expire-after-retention"
    status = "Enabled"
    filter {
      prefix = local.key_prefix
    }
    transition {
      days          = var.transition_days
      storage_class = var.transition_storage_class
    }
    expiration {
      days = var.retention_days + var.expiry_margin_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.retention_days + var.expiry_margin_days
    }
  }
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.documents]
}

resource "aws_s3_bucket_logging" "documents" {
  bucket        = aws_s3_bucket.documents.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.bucket_name}/"
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.documents.arn, "${aws_s3_bucket.documents.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  statement {
    sid       = "DenyUploadsWithoutSseKms"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.documents.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }
  statement {
    sid       = "DenyUploadsWithAnotherKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.documents.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.documents.arn]
    }
  }
  statement {
    sid    = "DenyObjectAccessToAllButTheService"
    effect = "Deny"
    actions = [
      "s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject",
      "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
      "s3:BypassGovernanceRetention", "s3:RestoreObject",
    ]
    resources = ["${aws_s3_bucket.documents.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.service.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "documents" {
  bucket     = aws_s3_bucket.documents.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.documents]
}

# --- IRSA: the service's role ---------------------------------------------------------------

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:sub"
      values   = [for account in var.service_accounts : "system:serviceaccount:${var.namespace}:${account}"]
    }
  }
}

resource "aws_iam_role" "service" {
  name                 = local.role_name
  description          = "Billing service (IRSA): writes and reads invoice documents"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "WriteOnceAndReadDocuments"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = [local.objects_arn]
  }
  # HeadObject of a missing key answers 404 (not 403) only with ListBucket: the service
  # relies on it to tell "not stored yet" from "refused".
  statement {
    sid       = "ListDocumentKeys"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.documents.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.key_prefix}*"]
    }
  }
  statement {
    sid       = "UseTheDocumentKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.documents.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "service" {
  name   = "invoice-documents"
  role   = aws_iam_role.service.id
  policy = data.aws_iam_policy_document.service.json
}
