# A complete Keyplane deployment in one region. Build the zips first:
#   functions/lambda/package        # → dist/lambda/{api,authorizer,rotator}.zip
terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Where to deploy."
  type        = string
  default     = "eu-west-1"
}

variable "admins" {
  description = "IAM ARNs of the platform admins."
  type        = list(string)
}

module "keyplane" {
  source = "../../modules/keyplane"

  name               = "keyplane"
  lambda_zip_dir     = "${path.root}/../../../dist/lambda"
  admins             = var.admins
  log_retention_days = 365
}

output "api_endpoint" {
  description = "Set as the provider's endpoint, or KEYPLANE_ENDPOINT for the CLI."
  value       = module.keyplane.api_endpoint
}

output "table_name" {
  description = "The DynamoDB table."
  value       = module.keyplane.table_name
}
