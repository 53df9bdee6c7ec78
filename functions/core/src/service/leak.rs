//! Leaked-key reports: anyone who finds a key may report it, and a live
//! secret stops working at once.

use chrono::{DateTime, Utc};

use crate::key::{DisabledReason, KeyRecord, KeyStatus};
use crate::key_format::KeyHash;
use crate::{Error, ErrorKind};

use super::Keyplane;
use keyplane_api::verify::ReportLeak;

/// What a leak report does to one copy of a key.
fn apply_leak(key: &mut KeyRecord, hash: &KeyHash, now: DateTime<Utc>) -> bool {
    if key.status == KeyStatus::Revoked {
        return false;
    }
    let Some(secret) = key
        .secrets
        .iter_mut()
        .find(|s| s.hash == *hash && s.expires_at.is_none_or(|at| at > now))
    else {
        // Rotated out and ended: it no longer opens anything, and acting on
        // it would let whoever kept an old secret take down its replacement.
        return false;
    };
    if secret.expires_at.is_some() {
        // The previous secret, still in its grace period: it ends now (the
        // commit deletes it), and the current secret, which was not
        // reported, keeps working.
        secret.expires_at = Some(now);
        secret.leaked = true;
        return true;
    }
    let already = secret.leaked && key.disabled_reason == Some(DisabledReason::LeakReported);
    secret.leaked = true;
    key.status = match key.status {
        KeyStatus::Active | KeyStatus::Pending | KeyStatus::Disabled => KeyStatus::Disabled,
        KeyStatus::Revoked => KeyStatus::Revoked,
    };
    key.disabled_reason = Some(DisabledReason::LeakReported);
    !already
}

impl Keyplane {
    /// Handles a leak report. The caller learns nothing about whether the
    /// key existed: every well-formed or malformed report gets the same `Ok`.
    ///
    /// A live secret that is reported is marked leaked, whatever the key's
    /// status: it never verifies `VALID` again. If it is the current secret
    /// the key is disabled until a roll replaces it; if it is the previous
    /// secret of a roll, its grace period ends now. A secret whose grace
    /// period had already ended is only audited.
    pub async fn report_leak(
        &self,
        req: ReportLeak,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        if req.key.check().is_err() {
            return Ok(());
        }
        let hash = req.key.hash();
        let Some(secret) = self.store.get_secret(&hash).await? else {
            return Ok(());
        };
        let Some(key) = self.store.get_key(&secret.key_id).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        let event = |action: &str| {
            self.audit_event_by(
                "anonymous",
                req.source.clone(),
                request_id.clone(),
                &key.organization_id,
                action,
                key.id.as_str(),
            )
        };
        let acted = event("key.leak_reported");
        let outcome = match self
            .change_until_written(&key, &acted, |k| apply_leak(k, &hash, now))
            .await
        {
            Ok(true) => Ok(()),
            // Nothing to change (already handled, revoked, or an ended
            // secret): the report is still part of the trail.
            Ok(false) => self
                .store
                .append_audit(&event("key.leak_reported_no_effect"))
                .await
                .map_err(Error::from),
            Err(err) => Err(err),
        };
        match outcome {
            // Only an outage may differ from the usual answer; anything else
            // (say, losing a race with a concurrent change five times) would
            // tell the reporter that the key exists.
            Err(err) if err.kind == ErrorKind::Unavailable => Err(err),
            Err(err) => {
                tracing::warn!(key_id = %key.id, code = err.code, "leak report could not disable the key");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}
