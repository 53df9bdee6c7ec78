# Secrets Manager may invoke the rotator, for secrets of this account only.
# Which secrets it may then touch is limited by the rotator's role (iam.tf)
# and, in Keyplane, by the key's own binding and consent.
resource "aws_lambda_permission" "rotator" {
  statement_id   = "AllowSecretsManager"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.function["rotator"].function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = local.account
}
