data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  table_name = var.create_table ? aws_dynamodb_table.keys[0].name : coalesce(var.table_name, var.name)
  table_arn  = "arn:${local.partition}:dynamodb:${local.region}:${local.account}:table/${local.table_name}"

  # What each function reads at cold start (functions/lambda/README.md).
  # tests: functions/lambda/tests/infra.rs checks these names against the code.
  common_environment = {
    KEYPLANE_TABLE = local.table_name
    KEYPLANE_LOG   = var.log_filter
  }
  # The functions that verify keys.
  hot_path_environment = {
    KEYPLANE_VERIFY_CACHE_TTL_MS  = tostring(var.verify_cache_ttl_ms)
    KEYPLANE_VERIFY_CACHE_ENTRIES = tostring(var.verify_cache_entries)
    KEYPLANE_LAST_USED_FLUSH_SECS = tostring(var.last_used_flush_seconds)
  }
  environment = {
    api = merge(local.common_environment, local.hot_path_environment, {
      KEYPLANE_ADMINS          = join(",", var.admins)
      KEYPLANE_USAGE_REPORTERS = join(",", var.usage_reporters)
      KEYPLANE_KEY_ENV         = var.key_env
      # Per container; the stage throttling above is the fleet-wide limit.
      KEYPLANE_RATE_DATA_PLANE    = var.rate_data_plane
      KEYPLANE_RATE_LEAK_REPORTS  = var.rate_leak_reports
      KEYPLANE_RATE_MANAGEMENT    = var.rate_management
      KEYPLANE_REQUEST_TIMEOUT_MS = tostring(var.request_timeout_ms)
    })
    authorizer = merge(local.common_environment, local.hot_path_environment, {
      KEYPLANE_ROUTE_PERMISSIONS = jsonencode(var.route_permissions)
    })
    rotator = merge(local.common_environment, {
      KEYPLANE_ADMINS                 = join(",", var.admins)
      KEYPLANE_ROTATION_PRINCIPAL     = aws_iam_role.function["rotator"].arn
      KEYPLANE_ROTATION_GRACE_SECONDS = tostring(var.rotation_grace_seconds)
    })
  }

  functions = toset(["api", "authorizer", "rotator"])
}
