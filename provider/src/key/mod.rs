//! `keyplane_organization_key` and `keyplane_workspace_key`.
//!
//! Create is two-phase: the key is created `pending`, its plaintext is
//! written to Secrets Manager (tagged with the key id), then the key is
//! activated bound to that secret. If the write fails the pending key is
//! revoked, so no active key is ever left without its secret. The
//! plaintext lives only in this process's memory between the two calls.

mod apply;
pub mod plan;
mod request;
pub mod schema;
pub mod state;

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::ValueEmpty;
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::connection::Shared;
pub use state::KeyState;

/// Which of the two resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `keyplane_organization_key`: every workspace, or `workspace_ids`.
    Organization,
    /// `keyplane_workspace_key`: one workspace.
    Workspace,
}

/// A key resource of one scope.
#[derive(Debug)]
pub struct KeyResource {
    scope: Scope,
    connection: Shared,
}

impl KeyResource {
    pub(crate) fn new(scope: Scope, connection: Shared) -> Self {
        Self { scope, connection }
    }
}

#[async_trait]
impl Resource for KeyResource {
    type State<'a> = KeyState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema::schema(self.scope))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: KeyState) -> Option<()> {
        request::validate(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: KeyState,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(KeyState, ValueEmpty)> {
        let connection = self.connection.get(diags)?;
        apply::read(connection, diags, state)
            .await
            .map(|state| (state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: KeyState,
        _config: KeyState,
        _meta: ValueEmpty,
    ) -> Option<(KeyState, ValueEmpty)> {
        Some((plan::plan_create(&proposed), ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: KeyState,
        proposed: KeyState,
        _config: KeyState,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(KeyState, ValueEmpty, Vec<AttributePath>)> {
        let (planned, replace) = plan::plan_update(&prior, &proposed, chrono::Utc::now());
        let replace = replace.into_iter().map(AttributePath::new).collect();
        Some((planned, private_state, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: KeyState,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(private_state)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: KeyState,
        _config: KeyState,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(KeyState, ValueEmpty)> {
        let connection = self.connection.get(diags)?;
        let request = request::create_request(diags, self.scope, &planned)?;
        apply::create(connection, diags, planned, request)
            .await
            .map(|state| (state, private_state))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: KeyState,
        planned: KeyState,
        _config: KeyState,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(KeyState, ValueEmpty)> {
        let connection = self.connection.get(diags)?;
        apply::update(connection, diags, &prior, planned)
            .await
            .map(|state| (state, private_state))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: KeyState,
        _private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let connection = self.connection.get(diags)?;
        apply::destroy(connection, diags, &prior).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(KeyState, ValueEmpty)> {
        let connection = self.connection.get(diags)?;
        apply::import(connection, diags, self.scope, &id)
            .await
            .map(|state| (state, ValueEmpty::default()))
    }
}
