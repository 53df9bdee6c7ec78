//! Keys: create, list, read, edit, revoke, activate, roll, usage.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use http::Method;
use keyplane_api::id::KeyId;
use keyplane_api::key_format::ApiKey;
use keyplane_api::keys::{
    ActivateKey, CreateKey, KeyPage, KeyView, KeyWithSecret, ListKeys, PatchKey, RollKey,
};
use keyplane_api::usage::{KeyUsage, UsageRange};

use crate::client::{segment, Answer, Call};
use crate::idempotency::IdempotencyKey;
use crate::pages::paginate;
use crate::{Client, Error};

/// The answer header that marks a replayed create or roll.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// A key with its plaintext: what a create or roll made. The plaintext is
/// shown this once.
#[derive(Debug)]
pub struct Minted {
    /// The plaintext key. Store it now: it is never shown again.
    pub key: ApiKey,
    /// When the previous secret stops working (a roll).
    pub previous_expires_at: Option<DateTime<Utc>>,
    /// The key, masked.
    pub view: KeyView,
}

/// Reads a create or roll answer: a new plaintext, or the masked key of a
/// replay. An unmarked answer without a plaintext (a proxy dropped the
/// header) is a replay too: the one thing a caller must never be left to
/// guess is whether they hold the plaintext.
fn read_minted(answer: &Answer) -> Result<Result<Minted, KeyView>, Error> {
    let body: KeyWithSecret = answer.json()?;
    Ok(match body.key {
        Some(key) if !answer.flag(IDEMPOTENT_REPLAYED) => Ok(Minted {
            key,
            previous_expires_at: body.previous_expires_at,
            view: body.view,
        }),
        _ => Err(body.view),
    })
}

/// What a create did.
#[derive(Debug)]
#[must_use = "a Created outcome holds the only copy of the plaintext key"]
pub enum CreateOutcome {
    /// The key was made by this request: the plaintext is here, once.
    Created(Minted),
    /// The server had already handled a create with this `Idempotency-Key`
    /// — an earlier call, or an earlier attempt of this one whose answer
    /// was lost — and answered with that key, masked. The plaintext is not
    /// shown again: if nobody stored it, roll the key.
    Replayed(KeyView),
}

/// What a roll did.
#[derive(Debug)]
#[must_use = "a Rolled outcome holds the only copy of the new plaintext key"]
pub enum RollOutcome {
    /// The key has a new secret: the plaintext is here, once.
    Rolled(Minted),
    /// A roll with this `Idempotency-Key` had already been done (possibly
    /// by an earlier attempt of this call whose answer was lost); its
    /// plaintext is not shown again. Roll again with a new key to get one.
    Replayed(KeyView),
}

impl CreateOutcome {
    /// The key, masked.
    pub fn view(&self) -> &KeyView {
        match self {
            CreateOutcome::Created(created) => &created.view,
            CreateOutcome::Replayed(view) => view,
        }
    }

    /// Whether the server answered with an earlier create's key.
    pub fn is_replayed(&self) -> bool {
        matches!(self, CreateOutcome::Replayed(_))
    }

    /// The key with its plaintext; `None` for a replay.
    pub fn into_created(self) -> Option<Minted> {
        match self {
            CreateOutcome::Created(created) => Some(created),
            CreateOutcome::Replayed(_) => None,
        }
    }
}

impl RollOutcome {
    /// The key, masked.
    pub fn view(&self) -> &KeyView {
        match self {
            RollOutcome::Rolled(rolled) => &rolled.view,
            RollOutcome::Replayed(view) => view,
        }
    }

    /// Whether the server answered with an earlier roll's result.
    pub fn is_replayed(&self) -> bool {
        matches!(self, RollOutcome::Replayed(_))
    }

    /// The key with its new plaintext; `None` for a replay.
    pub fn into_rolled(self) -> Option<Minted> {
        match self {
            RollOutcome::Rolled(rolled) => Some(rolled),
            RollOutcome::Replayed(_) => None,
        }
    }
}

impl Client {
    /// `POST /v1/keys` with a fresh `Idempotency-Key`: every retry of this
    /// call is the same request, so it can never mint a second key. Check
    /// for [`CreateOutcome::Replayed`].
    pub async fn create_key(&self, req: &CreateKey) -> Result<CreateOutcome, Error> {
        self.create_key_with_idempotency_key(req, &IdempotencyKey::generate())
            .await
    }

    /// `POST /v1/keys` with your own `Idempotency-Key`, so that a repeat in
    /// a later process (a restarted job) is answered as a replay too.
    pub async fn create_key_with_idempotency_key(
        &self,
        req: &CreateKey,
        idempotency_key: &IdempotencyKey,
    ) -> Result<CreateOutcome, Error> {
        let call = Call::new(Method::POST, "/v1/keys", "/v1/keys".to_owned())
            .json(req)?
            .idempotency_key(idempotency_key);
        let answer = self.send(call).await?;
        Ok(match read_minted(&answer)? {
            Ok(minted) => CreateOutcome::Created(minted),
            Err(view) => CreateOutcome::Replayed(view),
        })
    }

    /// `GET /v1/keys`: one page, masked, newest first.
    pub async fn list_keys_page(&self, query: &ListKeys) -> Result<KeyPage, Error> {
        let call = Call::new(Method::GET, "/v1/keys", "/v1/keys".to_owned()).query(query)?;
        self.send(call).await?.json()
    }

    /// `GET /v1/keys`, every page: a stream of keys that follows
    /// `next_cursor` from `query.cursor` on. Each page is one call, retried
    /// on its own.
    pub fn list_keys(&self, query: ListKeys) -> BoxStream<'static, Result<KeyView, Error>> {
        let client = self.clone();
        paginate(query.cursor.clone(), move |cursor| {
            let client = client.clone();
            let query = ListKeys {
                cursor,
                ..query.clone()
            };
            async move {
                let page = client.list_keys_page(&query).await?;
                Ok((page.items, page.next_cursor))
            }
        })
    }

    /// `GET /v1/keys/{key_id}`, masked.
    pub async fn get_key(&self, key: &KeyId) -> Result<KeyView, Error> {
        let call = Call::new(Method::GET, "/v1/keys/{key_id}", key_path(key));
        self.send(call).await?.json()
    }

    /// `PATCH /v1/keys/{key_id}`: name, role, permissions, expiry,
    /// metadata, enabled. Retried (the values are absolute); with
    /// `if_version`, a retry after a lost answer may report
    /// `VERSION_CONFLICT` for this call's own earlier write — see
    /// [`crate::ApiError::after_lost_attempt`].
    pub async fn update_key(&self, key: &KeyId, patch: &PatchKey) -> Result<KeyView, Error> {
        let call = Call::new(Method::PATCH, "/v1/keys/{key_id}", key_path(key)).json(patch)?;
        self.send(call).await?.json()
    }

    /// `DELETE /v1/keys/{key_id}`: revokes, at once and for good. Revoking
    /// a revoked key answers its view, so retries are safe.
    pub async fn revoke_key(&self, key: &KeyId) -> Result<KeyView, Error> {
        let call = Call::new(Method::DELETE, "/v1/keys/{key_id}", key_path(key));
        self.send(call).await?.json()
    }

    /// `POST /v1/keys/{key_id}/activate`: the second phase of a two-phase
    /// create, optionally binding the secret that now holds the key.
    /// Repeating the same activation changes nothing, so retries are safe.
    pub async fn activate_key(&self, key: &KeyId, req: &ActivateKey) -> Result<KeyView, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/keys/{key_id}/activate",
            format!("{}/activate", key_path(key)),
        )
        .json(req)?;
        self.send(call).await?.json()
    }

    /// `POST /v1/keys/{key_id}/roll` with a fresh `Idempotency-Key`: a new
    /// secret under the same id, the old one valid for `grace_seconds`.
    /// Retries never roll twice; check for [`RollOutcome::Replayed`].
    pub async fn roll_key(&self, key: &KeyId, req: &RollKey) -> Result<RollOutcome, Error> {
        self.roll_key_with_idempotency_key(key, req, &IdempotencyKey::generate())
            .await
    }

    /// `POST /v1/keys/{key_id}/roll` with your own `Idempotency-Key`.
    pub async fn roll_key_with_idempotency_key(
        &self,
        key: &KeyId,
        req: &RollKey,
        idempotency_key: &IdempotencyKey,
    ) -> Result<RollOutcome, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/keys/{key_id}/roll",
            format!("{}/roll", key_path(key)),
        )
        .json(req)?
        .idempotency_key(idempotency_key);
        let answer = self.send(call).await?;
        Ok(match read_minted(&answer)? {
            Ok(minted) => RollOutcome::Rolled(minted),
            Err(view) => RollOutcome::Replayed(view),
        })
    }

    /// `GET /v1/keys/{key_id}/usage`: per day and model, UTC days,
    /// inclusive.
    pub async fn key_usage(&self, key: &KeyId, range: &UsageRange) -> Result<KeyUsage, Error> {
        let call = Call::new(
            Method::GET,
            "/v1/keys/{key_id}/usage",
            format!("{}/usage", key_path(key)),
        )
        .query(range)?;
        self.send(call).await?.json()
    }
}

fn key_path(key: &KeyId) -> String {
    format!("/v1/keys/{}", segment(key.as_str()))
}
