# The authorizer on your own APIs. Identity sources include the method and
# path, so a cached answer is never reused for a route that needs other
# permissions (functions/lambda/README.md, "Caching and revocation").

resource "aws_apigatewayv2_authorizer" "keyplane" {
  for_each = var.authorizer_http_apis

  api_id                            = each.value
  name                              = var.name
  authorizer_type                   = "REQUEST"
  authorizer_uri                    = aws_lambda_function.function["authorizer"].invoke_arn
  authorizer_payload_format_version = "2.0"
  enable_simple_responses           = true
  authorizer_result_ttl_in_seconds  = var.authorizer_cache_ttl_seconds
  # With caching off, API Gateway calls the authorizer even without an
  # Authorization header (x-api-key works too); with caching on it needs
  # identity sources, and then requests without them are refused.
  identity_sources = var.authorizer_cache_ttl_seconds == 0 ? [] : [
    "$request.header.Authorization", "$context.httpMethod", "$context.path",
  ]
}

resource "aws_lambda_permission" "authorizer_http" {
  for_each = var.authorizer_http_apis

  statement_id  = "AllowHttpApi-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["authorizer"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "arn:${local.partition}:execute-api:${local.region}:${local.account}:${each.value}/authorizers/*"
}

resource "aws_api_gateway_authorizer" "keyplane" {
  for_each = var.authorizer_rest_apis

  rest_api_id                      = each.value
  name                             = var.name
  type                             = "REQUEST"
  authorizer_uri                   = aws_lambda_function.function["authorizer"].invoke_arn
  authorizer_result_ttl_in_seconds = var.authorizer_cache_ttl_seconds
  identity_source                  = "method.request.header.Authorization,context.httpMethod,context.path"
}

resource "aws_lambda_permission" "authorizer_rest" {
  for_each = var.authorizer_rest_apis

  statement_id  = "AllowRestApi-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["authorizer"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "arn:${local.partition}:execute-api:${local.region}:${local.account}:${each.value}/authorizers/*"
}
