output "api_endpoint" {
  description = "Base URL of the Keyplane API: the provider's endpoint, the CLI's KEYPLANE_ENDPOINT."
  value       = var.domain_name == null ? aws_apigatewayv2_stage.default.invoke_url : "https://${var.domain_name}"
}

output "table_name" {
  description = "The DynamoDB table."
  value       = local.table_name
}

output "table_arn" {
  description = "The DynamoDB table's ARN in this region."
  value       = local.table_arn
}

output "api_execution_arn" {
  description = "Execution ARN of the Keyplane HTTP API, for IAM policies granting execute-api:Invoke on management routes."
  value       = aws_apigatewayv2_api.keyplane.execution_arn
}

output "authorizer_function_arn" {
  description = "The authorizer Lambda, to attach to APIs this module does not manage."
  value       = aws_lambda_function.function["authorizer"].arn
}

output "authorizer_invoke_arn" {
  description = "The authorizer's invoke ARN (authorizer_uri)."
  value       = aws_lambda_function.function["authorizer"].invoke_arn
}

output "http_api_authorizer_ids" {
  description = "Authorizer ids by the names in authorizer_http_apis, for authorizer_id on your routes."
  value       = { for api, authorizer in aws_apigatewayv2_authorizer.keyplane : api => authorizer.id }
}

output "rest_api_authorizer_ids" {
  description = "Authorizer ids by the names in authorizer_rest_apis, for authorizer_id on your methods."
  value       = { for api, authorizer in aws_api_gateway_authorizer.keyplane : api => authorizer.id }
}

output "rotator_function_arn" {
  description = "The rotator Lambda: lambda_arn of a key's rotation block, or rotation_lambda_arn of aws_secretsmanager_secret_rotation."
  value       = aws_lambda_function.function["rotator"].arn
}
