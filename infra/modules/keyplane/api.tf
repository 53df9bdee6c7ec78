resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_api" "keyplane" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "Keyplane: management (AWS_IAM) and data-plane routes"
  tags          = var.tags
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.keyplane.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.function["api"].invoke_arn
  payload_format_version = "2.0"
}

locals {
  # The key is the credential on these (or nothing is needed); everything
  # else under /v1 is management and needs SigV4 (AWS_IAM).
  public_routes = [
    "POST /v1/keys/verify",
    "POST /v1/keys/report-leak",
    "GET /v1/whoami",
    "GET /healthz",
    "GET /openapi.json",
  ]
}

resource "aws_apigatewayv2_route" "management" {
  api_id             = aws_apigatewayv2_api.keyplane.id
  route_key          = "ANY /v1/{proxy+}"
  authorization_type = "AWS_IAM"
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
}

resource "aws_apigatewayv2_route" "public" {
  #checkov:skip=CKV_AWS_309:Data-plane routes are authenticated by the Keyplane key in the request (verify, whoami, report-leak) or need none (health, OpenAPI); IAM would defeat their purpose.
  for_each = toset(local.public_routes)

  api_id             = aws_apigatewayv2_api.keyplane.id
  route_key          = each.value
  authorization_type = "NONE"
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.keyplane.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    # No headers, no query strings: a confused client may put a key there.
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      routeKey       = "$context.routeKey"
      status         = "$context.status"
      latencyMs      = "$context.responseLatency"
      caller         = "$context.identity.userArn"
      integrationErr = "$context.integrationErrorMessage"
    })
  }

  tags = var.tags
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowKeyplaneHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["api"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.keyplane.execution_arn}/*/*"
}

resource "aws_apigatewayv2_domain_name" "keyplane" {
  count = var.domain_name == null ? 0 : 1

  domain_name = var.domain_name
  domain_name_configuration {
    certificate_arn = var.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }
  tags = var.tags
}

resource "aws_apigatewayv2_api_mapping" "keyplane" {
  count = var.domain_name == null ? 0 : 1

  api_id      = aws_apigatewayv2_api.keyplane.id
  domain_name = aws_apigatewayv2_domain_name.keyplane[0].id
  stage       = aws_apigatewayv2_stage.default.id
}
