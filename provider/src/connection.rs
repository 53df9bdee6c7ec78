//! What `configure` builds and every resource call uses: the signed
//! Keyplane client and the Secrets Manager client. Terraform asks for the
//! resources before it configures the provider, so they share a cell that
//! `configure` fills.

use std::sync::{Arc, OnceLock};

use keyplane_secrets::SecretsClient;
use tf_provider::Diagnostics;

/// The configured clients.
#[derive(Debug)]
pub(crate) struct Connection {
    pub keyplane: keyplane_client::Client,
    pub secrets: SecretsClient,
}

/// The cell `configure` fills, shared with every resource.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shared(Arc<OnceLock<Connection>>);

impl Shared {
    pub fn set(&self, connection: Connection) -> bool {
        self.0.set(connection).is_ok()
    }

    /// The clients, or an error diagnostic when the provider was never
    /// configured (Terraform configures it before any apply or refresh).
    pub fn get(&self, diags: &mut Diagnostics) -> Option<&Connection> {
        let connection = self.0.get();
        if connection.is_none() {
            diags.root_error(
                "Provider not configured",
                "the keyplane provider was used before Terraform configured it",
            );
        }
        connection
    }
}
