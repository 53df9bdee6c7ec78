//! The OpenAPI document, generated from the handlers' annotations and the
//! core's types so it cannot drift from the code.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{audit, data_plane, keys, meta, organizations, usage};

/// The Keyplane API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Keyplane", description = "API keys for platform teams: mint, verify, roll, revoke. Management routes are signed with AWS SigV4 (service execute-api); data-plane routes take the key itself."),
    paths(
        organizations::create, organizations::get, organizations::update,
        organizations::create_workspace, organizations::list_workspaces,
        organizations::list_members, organizations::put_member, organizations::delete_member,
        keys::create, keys::list, keys::get, keys::patch, keys::revoke, keys::activate, keys::roll,
        usage::report, usage::key_usage, audit::list,
        data_plane::verify, data_plane::whoami, data_plane::report_leak,
        meta::healthz, meta::openapi,
    ),
    components(schemas(keyplane_api::problem::Problem)),
    modifiers(&Security),
)]
pub struct ApiDoc;

/// The document, built once on first use and shared by every request.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(ApiDoc::openapi)
}

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a Keyplane API key"))
                    .build(),
            ),
        );
    }
}
