# Keyplane protecting your own HTTP API with its authorizer, and a key for
# that API declared with the Keyplane provider, stored in Secrets Manager and
# rotated by the rotator Lambda every 30 days.
terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
    keyplane = {
      source = "keyplane/keyplane"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

variable "admins" {
  description = "IAM ARNs of the platform admins (the identity running this apply among them)."
  type        = list(string)
}

variable "organization_id" {
  description = "The Keyplane organization that owns the key."
  type        = string
}

variable "workspace_id" {
  description = "The workspace the key works in."
  type        = string
}

variable "orders_lambda_invoke_arn" {
  description = "Invoke ARN of the Lambda function behind your orders API."
  type        = string
}

# Your API.
resource "aws_apigatewayv2_api" "orders" {
  name          = "orders"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "orders" {
  api_id                 = aws_apigatewayv2_api.orders.id
  integration_type       = "AWS_PROXY"
  integration_uri        = var.orders_lambda_invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "get_order" {
  api_id             = aws_apigatewayv2_api.orders.id
  route_key          = "GET /orders/{id}"
  authorization_type = "CUSTOM"
  authorizer_id      = module.keyplane.http_api_authorizer_ids["orders"]
  target             = "integrations/${aws_apigatewayv2_integration.orders.id}"
}

module "keyplane" {
  source = "../../modules/keyplane"

  name           = "keyplane"
  lambda_zip_dir = "${path.root}/../../../dist/lambda"
  admins         = var.admins

  # Which permission each of your routes needs.
  route_permissions = {
    "GET /orders/{id}" = ["orders:read"]
  }
  authorizer_http_apis = { orders = aws_apigatewayv2_api.orders.id }
  # 0: a revoked key is refused on its next request.
  authorizer_cache_ttl_seconds = 0

  rotation_secret_name_prefix = "orders/"
}

provider "keyplane" {
  endpoint = module.keyplane.api_endpoint
  region   = "eu-west-1"
}

# The client's key: its plaintext goes straight into Secrets Manager, and the
# rotator rolls it there every 30 days.
resource "keyplane_workspace_key" "orders_client" {
  organization_id = var.organization_id
  workspace_id    = var.workspace_id
  name            = "orders-client"
  role            = "viewer"
  permissions     = ["orders:read"]
  secret_name     = "orders/client-key"

  rotation {
    lambda_arn               = module.keyplane.rotator_function_arn
    automatically_after_days = 30
  }
}

output "client_secret_arn" {
  description = "Where the client reads its key."
  value       = keyplane_workspace_key.orders_client.secret_arn
}
