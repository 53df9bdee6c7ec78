//! The local credentials file (AWS shared-credentials format plus a
//! `principal_arn` per profile).
