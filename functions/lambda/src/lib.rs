//! Keyplane's AWS Lambda functions: `api` (the Router behind API Gateway),
//! `authorizer` (API Gateway Lambda authorizer for customers' APIs) and
//! `rotator` (Secrets Manager rotation of keys bound to a secret).

pub mod rotator;
