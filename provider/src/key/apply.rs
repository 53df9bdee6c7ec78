//! The calls behind create, refresh, update, destroy and import.

use keyplane_api::id::KeyId;
use keyplane_api::key::{DisplayStatus, KeyScope};
use keyplane_api::keys::{ActivateKey, CreateKey, KeyView, PatchKey};
use keyplane_client::IdempotencyKey;
use keyplane_secrets::{
    NewSecret, Recovery, RotationSchedule, SecretDescription, SecretVersion, SecretsError, Stage,
    KEY_ID_TAG,
};
use tf_provider::value::Value;
use tf_provider::Diagnostics;

use super::plan;
use super::request::{self, recovery_days};
use super::state::{known, KeyState};
use super::Scope;
use crate::connection::Connection;

/// The API's answer for a key that does not exist (or is not the caller's
/// to see).
const KEY_NOT_FOUND: &str = "KEY_NOT_FOUND";

fn key_id(diags: &mut Diagnostics, state: &KeyState) -> Option<KeyId> {
    let raw = known(&state.id)?;
    match KeyId::parse(raw) {
        Ok(id) => Some(id),
        Err(_) => {
            diags.root_error(
                "Invalid key id in state",
                format!("{raw:?} is not a key id (key_…)"),
            );
            None
        }
    }
}

pub async fn create(
    connection: &Connection,
    diags: &mut Diagnostics,
    planned: KeyState,
    request: CreateKey,
) -> Option<KeyState> {
    let minted = match connection.keyplane.create_key(&request).await {
        Ok(outcome) => outcome.into_created(),
        Err(err) => {
            diags.root_error("Cannot create the key", err.to_string());
            return None;
        }
    };
    let Some(minted) = minted else {
        diags.root_error(
            "Cannot create the key",
            "the API answered a new create as a replay, without the plaintext; nothing was written",
        );
        return None;
    };
    let id = minted.view.id.clone();
    tracing::info!(key_id = %id, "created pending key; writing it to Secrets Manager");

    // The plaintext's only stop: from here into Secrets Manager, then it is
    // dropped (and zeroized) with `minted`.
    let written = write_secret(connection, &planned, &id, &minted.key).await;
    drop(minted);
    let version = match written {
        Ok(version) => version,
        Err(err) => {
            let revoked = connection.keyplane.revoke_key(&id).await.is_ok();
            diags.root_error(
                "Cannot write the key to Secrets Manager",
                format!(
                    "{err}. {}",
                    if revoked {
                        format!("Key {id} was revoked: no key is left without its secret.")
                    } else {
                        format!("Key {id} stays pending and expires unused.")
                    }
                ),
            );
            return None;
        }
    };

    let activate = ActivateKey {
        secret_arn: Some(version.arn.clone()),
        rotation: None,
    };
    let view = match connection.keyplane.activate_key(&id, &activate).await {
        Ok(view) => view,
        Err(err) => {
            let _ = connection.keyplane.revoke_key(&id).await;
            let left = discard_secret(connection, &planned, &version).await;
            diags.root_error(
                "Cannot activate the key",
                format!("{err}. Key {id} was revoked; {left}"),
            );
            return None;
        }
    };
    let mut state = planned;
    state.refresh_from(&view);
    state.secret_arn = Value::Value(version.arn.clone());
    state.secret_version_id = Value::Value(version.version_id.clone());
    state.rolled_at = state.created_at.clone();
    if !state.secret_id.is_null() {
        // Only now, with the key active, do readers of the secret get it.
        if let Err(err) = make_current(connection, &version).await {
            diags.root_error(
                "Key active, but not yet the secret's current version",
                format!("{err}. Readers of {} still get the previous value; the key is kept (tainted) and the next apply replaces it", version.arn),
            );
            return Some(state);
        }
    }
    if let Value::Value(rotation) = &state.rotation {
        if let Err(err) = set_rotation(connection, &id, &secret_arn(&state), Some(rotation)).await {
            diags.root_error(
                "Key created, but its rotation could not be turned on",
                format!("{err}; apply again to retry"),
            );
            state.rotation = Value::Null;
        }
    }
    Some(state)
}

/// The label a new version of an existing secret carries until its key is
/// active: readers of `AWSCURRENT` never see a key that does not work yet.
fn activating() -> Stage {
    Stage::Custom("KEYPLANE_ACTIVATING".to_owned())
}

/// Moves `AWSCURRENT` onto `version` (the old current version becomes
/// `AWSPREVIOUS`) and takes the activation label off it.
async fn make_current(
    connection: &Connection,
    version: &SecretVersion,
) -> Result<(), SecretsError> {
    let secrets = &connection.secrets;
    let current = secrets
        .describe(&version.arn)
        .await?
        .and_then(|secret| secret.version_with(&Stage::Current).map(str::to_owned));
    secrets
        .move_stage(
            &version.arn,
            Stage::Current,
            &version.version_id,
            current.as_deref(),
        )
        .await?;
    secrets
        .remove_stage(&version.arn, activating(), &version.version_id)
        .await
}

/// After a failed activation: a secret made for the key is deleted; in an
/// existing secret the key's version loses its label, so nothing reads it.
/// Says what was left.
async fn discard_secret(
    connection: &Connection,
    planned: &KeyState,
    version: &SecretVersion,
) -> String {
    let outcome = if planned.secret_id.is_null() {
        connection
            .secrets
            .delete(&version.arn, Recovery::Force)
            .await
    } else {
        connection
            .secrets
            .remove_stage(&version.arn, activating(), &version.version_id)
            .await
    };
    match outcome {
        Ok(()) => format!("secret {} is as it was", version.arn),
        Err(err) => format!(
            "secret {} still holds a key that never worked ({err})",
            version.arn
        ),
    }
}

fn secret_arn(state: &KeyState) -> String {
    known(&state.secret_arn).cloned().unwrap_or_default()
}

/// Turns Secrets Manager rotation by the rotator on (with the key's
/// consent first, so the rotator's first `testSecret` is accepted) or off
/// (the schedule first, so nothing rotates a key that no longer allows it).
async fn set_rotation(
    connection: &Connection,
    id: &KeyId,
    arn: &str,
    rotation: Option<&super::state::RotationBlock>,
) -> Result<(), String> {
    let allow = |on: bool| PatchKey {
        rotation: Some(on),
        ..PatchKey::default()
    };
    match rotation {
        Some(rotation) => {
            connection
                .keyplane
                .update_key(id, &allow(true))
                .await
                .map_err(|err| err.to_string())?;
            let schedule = RotationSchedule {
                after_days: known(&rotation.automatically_after_days).copied(),
                expression: known(&rotation.schedule_expression).cloned(),
            };
            let lambda_arn = known(&rotation.lambda_arn).map_or("", String::as_str);
            connection
                .secrets
                .schedule_rotation(arn, lambda_arn, &schedule)
                .await
                .map_err(|err| err.to_string())
        }
        None => {
            connection
                .secrets
                .cancel_rotation(arn)
                .await
                .map_err(|err| err.to_string())?;
            connection
                .keyplane
                .update_key(id, &allow(false))
                .await
                .map(|_| ())
                .map_err(|err| err.to_string())
        }
    }
}

/// Writes `key` to the configured destination, tagged with the key's id: a
/// new secret, or a new version of an existing one labelled
/// [`activating`], not yet current.
async fn write_secret(
    connection: &Connection,
    planned: &KeyState,
    id: &KeyId,
    key: &keyplane_api::key_format::ApiKey,
) -> Result<SecretVersion, SecretsError> {
    let token = IdempotencyKey::generate();
    let mut tags = vec![(KEY_ID_TAG.to_owned(), id.to_string())];
    if let Some(extra) = known(&planned.secret_tags).and_then(super::state::string_map) {
        tags.extend(extra);
    }
    if let Some(name) = known(&planned.secret_name) {
        let description = known(&planned.secret_description)
            .cloned()
            .unwrap_or_else(|| format!("Keyplane key {id}"));
        let spec = NewSecret {
            description: Some(&description),
            kms_key_id: known(&planned.secret_kms_key_id).map(String::as_str),
            tags: &tags,
        };
        return match connection
            .secrets
            .create_with(name, key, token.as_str(), &spec)
            .await
        {
            Err(SecretsError::AlreadyExists { name }) => match leftover(connection, &name).await {
                // Taken over: a new current version, tagged with this key.
                Some(arn) => {
                    let version = connection
                        .secrets
                        .put_version(&arn, key, token.as_str(), &[])
                        .await?;
                    connection.secrets.tag(&version.arn, &tags).await?;
                    tracing::info!(secret = %arn, "took over a secret left by a failed create");
                    Ok(version)
                }
                None => Err(SecretsError::AlreadyExists { name }),
            },
            other => other,
        };
    }
    let secret_id = known(&planned.secret_id).map_or("", String::as_str);
    let version = connection
        .secrets
        .put_version(secret_id, key, token.as_str(), &[activating()])
        .await?;
    connection.secrets.tag(&version.arn, &tags).await?;
    Ok(version)
}

/// The ARN of secret `name` if all it holds is a dead key: tagged with
/// the id of a key the caller can see that is revoked or expired. That is
/// what a create leaves behind when Secrets Manager made the secret but
/// its answer was lost (the key was then revoked): without taking it over,
/// every later create of the same resource would stop at "already
/// exists". A secret of a key the caller cannot see, or of a live one, is
/// never touched.
async fn leftover(connection: &Connection, name: &str) -> Option<String> {
    let secret = connection.secrets.describe(name).await.ok()??;
    if secret.deleted_date.is_some() {
        return None;
    }
    let id = KeyId::parse(secret.tags.get(KEY_ID_TAG)?).ok()?;
    let view = connection.keyplane.get_key(&id).await.ok()?;
    matches!(view.status, DisplayStatus::Revoked | DisplayStatus::Expired).then_some(secret.arn)
}

pub async fn read(
    connection: &Connection,
    diags: &mut Diagnostics,
    mut state: KeyState,
) -> Option<KeyState> {
    let id = key_id(diags, &state)?;
    let view = match connection.keyplane.get_key(&id).await {
        Ok(view) => view,
        Err(err) if err.code() == Some(KEY_NOT_FOUND) => {
            tracing::info!(key_id = %id, "key is gone; removing it from state");
            return None;
        }
        Err(err) => {
            diags.root_error("Cannot read the key", err.to_string());
            return Some(state);
        }
    };
    state.refresh_from(&view);
    if let Some(arn) = known(&state.secret_arn).cloned() {
        match connection.secrets.describe(&arn).await {
            Ok(found) => follow_secret(&mut state, &view, found.as_ref()),
            Err(err) => diags.root_error("Cannot read the key's secret", err.to_string()),
        }
    }
    Some(state)
}

/// Brings `secret_version_id` up to date: null when the secret or the
/// key's version is gone (which plans a replacement), the current version
/// when the rotator rolled the key within the same secret.
fn follow_secret(state: &mut KeyState, view: &KeyView, secret: Option<&SecretDescription>) {
    let Some(secret) = secret.filter(|secret| secret.deleted_date.is_none()) else {
        state.secret_version_id = Value::Null;
        return;
    };
    // Rotation turned off elsewhere shows as drift the next apply repairs.
    let rotating =
        secret.rotation_enabled && view.secret.as_ref().is_some_and(|bound| bound.rotation);
    if !rotating {
        state.rotation = Value::Null;
    }
    let ours = secret.tags.get(KEY_ID_TAG) == Some(&view.id.to_string())
        && view
            .secret
            .as_ref()
            .is_some_and(|bound| bound.arn == secret.arn);
    let current = secret.version_with(&Stage::Current).map(str::to_owned);
    let version_known =
        known(&state.secret_version_id).is_some_and(|v| secret.versions.contains_key(v));
    if ours && view.secret.as_ref().is_some_and(|bound| bound.rotation) {
        // Rotation moves the key to each new version.
        state.secret_version_id = current.map_or(Value::Null, Value::Value);
    } else if !version_known {
        state.secret_version_id = Value::Null;
    }
}

pub async fn update(
    connection: &Connection,
    diags: &mut Diagnostics,
    prior: &KeyState,
    planned: KeyState,
) -> Option<KeyState> {
    let id = key_id(diags, prior)?;
    let changes = plan::patch(prior, &planned);
    let roll = planned.secret_version_id.is_unknown();
    let mut state = planned;
    if !changes.is_empty() {
        let patch = request::patch_request(diags, changes)?;
        match connection.keyplane.update_key(&id, &patch).await {
            Ok(view) => state.refresh_from(&view),
            Err(err) => {
                diags.root_error("Cannot update the key", err.to_string());
                return None;
            }
        }
    }
    if roll {
        self::roll(connection, diags, &id, prior, &mut state).await;
    }
    if prior.rotation != state.rotation {
        let wanted = known(&state.rotation).cloned();
        if let Err(err) = set_rotation(connection, &id, &secret_arn(prior), wanted.as_ref()).await {
            diags.root_error("Cannot change the key's rotation", err);
            state.rotation = prior.rotation.clone();
        }
    }
    Some(state)
}

/// Rolls the key and writes the new plaintext as the secret's new
/// `AWSCURRENT` version. If the write fails, the error says until when the
/// old plaintext works, and the state asks for another roll.
async fn roll(
    connection: &Connection,
    diags: &mut Diagnostics,
    id: &KeyId,
    prior: &KeyState,
    state: &mut KeyState,
) {
    let keep_prior = |state: &mut KeyState| {
        state.hint = prior.hint.clone();
        state.secret_version_id = prior.secret_version_id.clone();
        state.rolled_at = prior.rolled_at.clone();
        state.keepers = prior.keepers.clone();
    };
    let minted = match connection
        .keyplane
        .roll_key(id, &request::roll_request(state))
        .await
    {
        Ok(outcome) => outcome.into_rolled(),
        Err(err) => {
            diags.root_error("Cannot roll the key", err.to_string());
            keep_prior(state);
            return;
        }
    };
    let Some(minted) = minted else {
        diags.root_error(
            "Cannot roll the key",
            "the API answered a new roll as a replay, without the plaintext",
        );
        keep_prior(state);
        return;
    };
    let Some(arn) = known(&prior.secret_arn).cloned() else {
        diags.root_error(
            "Cannot roll the key",
            "the state has no secret ARN to write the new plaintext to",
        );
        keep_prior(state);
        return;
    };
    let token = IdempotencyKey::generate();
    let written = connection
        .secrets
        .put_version(&arn, &minted.key, token.as_str(), &[])
        .await;
    let view = minted.view.clone();
    let previous_until = minted.previous_expires_at;
    drop(minted);
    state.refresh_from(&view);
    match written {
        Ok(version) => {
            state.secret_version_id = Value::Value(version.version_id);
            state.rolled_at = Value::Value(super::state::format_instant(view.updated_at));
        }
        Err(err) => {
            let until =
                previous_until.map_or_else(|| "its grace ends".to_owned(), |at| at.to_rfc3339());
            diags.root_error(
                "The key was rolled, but its new plaintext could not be written to Secrets Manager",
                format!("{err}. The secret still holds the previous plaintext, which works until {until}; apply again to roll once more."),
            );
            state.secret_version_id = prior.secret_version_id.clone();
            state.keepers = prior.keepers.clone();
            // Null asks the next plan for another roll.
            state.rolled_at = Value::Null;
        }
    }
}

pub async fn destroy(
    connection: &Connection,
    diags: &mut Diagnostics,
    prior: &KeyState,
) -> Option<()> {
    let id = key_id(diags, prior)?;
    match connection.keyplane.revoke_key(&id).await {
        Ok(_) => tracing::info!(key_id = %id, "revoked key"),
        Err(err) if err.code() == Some(KEY_NOT_FOUND) => {}
        Err(err) => {
            diags.root_error("Cannot revoke the key", err.to_string());
            return None;
        }
    }
    let (Some(arn), Some(version)) = (known(&prior.secret_arn), known(&prior.secret_version_id))
    else {
        return Some(());
    };
    let secret = match connection.secrets.describe(arn).await {
        Ok(Some(secret)) if secret.deleted_date.is_none() => secret,
        Ok(_) => return Some(()),
        Err(err) => {
            diags.root_error(
                "Key revoked, but its secret could not be read",
                format!("{err}; the secret {arn} was left as it is"),
            );
            return None;
        }
    };
    let outcome = if !prior.secret_name.is_null()
        && secret.tags.get(KEY_ID_TAG) == Some(&id.to_string())
    {
        // The secret was made for this key and still holds it.
        let recovery = recovery_days(prior).map_or(Recovery::Force, Recovery::Days);
        connection.secrets.delete(arn, recovery).await
    } else if !secret.versions.contains_key(version) {
        Ok(())
    } else if secret.version_with(&Stage::Current) == Some(version.as_str()) {
        diags.root_warning(
            "Secret version kept",
            format!("{arn}: version {version} holds the revoked key but is still AWSCURRENT, and a secret must keep a current version; write a new one or delete the secret"),
        );
        Ok(())
    } else {
        connection
            .secrets
            .remove_version_stages(arn, version)
            .await
            .map(|_| ())
    };
    if let Err(err) = outcome {
        diags.root_error(
            "Key revoked, but its secret could not be cleaned up",
            err.to_string(),
        );
        return None;
    }
    Some(())
}

pub async fn import(
    connection: &Connection,
    diags: &mut Diagnostics,
    scope: Scope,
    raw_id: &str,
) -> Option<KeyState> {
    let Ok(id) = KeyId::parse(raw_id) else {
        diags.root_error(
            "Invalid import id",
            format!("{raw_id:?} is not a key id (key_…)"),
        );
        return None;
    };
    let view = match connection.keyplane.get_key(&id).await {
        Ok(view) => view,
        Err(err) => {
            diags.root_error("Cannot import the key", err.to_string());
            return None;
        }
    };
    let (own_scope, resource) = match (&view.scope, scope) {
        (KeyScope::Workspace { .. }, Scope::Workspace) => (true, ""),
        (KeyScope::Workspace { .. }, Scope::Organization) => (false, "keyplane_workspace_key"),
        (_, Scope::Organization) => (true, ""),
        (_, Scope::Workspace) => (false, "keyplane_organization_key"),
    };
    if !own_scope {
        diags.root_error(
            "Wrong resource type",
            format!("key {id} must be imported as {resource}"),
        );
        return None;
    }
    let Some(bound) = view.secret.clone() else {
        diags.root_error(
            "Key not bound to a secret",
            format!("key {id} has no Secrets Manager secret; only keys whose plaintext went to a secret can be managed here"),
        );
        return None;
    };
    let mut state = KeyState {
        workspace_id: (scope == Scope::Workspace).then_some(Value::Null),
        workspace_ids: (scope == Scope::Organization).then_some(Value::Null),
        ..KeyState::default()
    };
    state.refresh_from(&view);
    let secret = match connection.secrets.describe(&bound.arn).await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            diags.root_error(
                "Cannot import the key",
                format!("its secret {} does not exist", bound.arn),
            );
            return None;
        }
        Err(err) => {
            diags.root_error("Cannot import the key", err.to_string());
            return None;
        }
    };
    // The API does not say when the key was last rolled; its last change is
    // no earlier, so `rotate_after` never rolls an imported key early.
    state.rolled_at = Value::Value(super::state::format_instant(view.updated_at));
    state.secret_name = Value::Value(secret.name.clone());
    state.secret_arn = Value::Value(secret.arn.clone());
    state.secret_version_id = secret
        .version_with(&Stage::Current)
        .map_or(Value::Null, |v| Value::Value(v.to_owned()));
    Some(state)
}
