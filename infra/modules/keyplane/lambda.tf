resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "function" {
  #checkov:skip=CKV_AWS_116:A dead-letter queue applies to asynchronous invocations; API Gateway and Secrets Manager invoke these synchronously and see every failure.
  #checkov:skip=CKV_AWS_117:The functions reach only DynamoDB and Secrets Manager (public AWS endpoints); a VPC adds NAT or endpoints and cold-start cost for no isolation gain. Deploy with VPC endpoints by adding vpc_config if your policy requires it.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the module cannot create for you; the zips are built reproducibly by functions/lambda/package.
  #checkov:skip=CKV_AWS_115:Concurrency is reserved per function through var.reserved_concurrency; unreserved by default so a small account is not starved.
  #checkov:skip=CKV_AWS_173:The environment holds a table name, ARNs and settings, never a secret; var.kms_key_arn encrypts it with a customer key when set.
  #checkov:skip=CKV_AWS_50:X-Ray is optional (var.xray_tracing) because it adds cost on the verify hot path.
  for_each = local.functions

  function_name                  = "${var.name}-${each.key}"
  description                    = "Keyplane ${each.key}"
  role                           = aws_iam_role.function[each.key].arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = ["x86_64"]
  filename                       = "${var.lambda_zip_dir}/${each.key}.zip"
  source_code_hash               = filebase64sha256("${var.lambda_zip_dir}/${each.key}.zip")
  memory_size                    = 256
  timeout                        = each.key == "rotator" ? 60 : 10
  reserved_concurrent_executions = lookup(var.reserved_concurrency, each.key, -1)
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment[each.key]
  }

  tracing_config {
    mode = var.xray_tracing ? "Active" : "PassThrough"
  }

  depends_on = [aws_cloudwatch_log_group.function]
  tags       = var.tags
}
