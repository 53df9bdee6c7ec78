//! `docs/` (the registry's layout) lists exactly the attributes the schemas
//! have, so the documentation cannot drift from the code.

use std::collections::BTreeSet;

use terraform_provider_keyplane::key::schema::schema;
use terraform_provider_keyplane::key::Scope;
use terraform_provider_keyplane::KeyplaneProvider;
use tf_provider::{Diagnostics, Provider};

/// The attribute names a page documents: its `- \`name\` (Type)` lines.
fn documented(page: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(format!("{}/docs/{page}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("docs/{page}: {e}"));
    text.lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .filter_map(|rest| rest.split_once("` ("))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[test]
fn each_resource_page_documents_exactly_its_attributes() {
    for (scope, page) in [
        (Scope::Workspace, "resources/workspace_key.md"),
        (Scope::Organization, "resources/organization_key.md"),
    ] {
        let attributes: BTreeSet<String> = schema(scope).block.attributes.into_keys().collect();
        assert_eq!(documented(page), attributes, "docs/{page}");
    }
}

#[test]
fn the_provider_page_documents_exactly_its_settings() {
    let mut diags = Diagnostics::default();
    let schema = KeyplaneProvider::default()
        .schema(&mut diags)
        .expect("a schema");
    let settings: BTreeSet<String> = schema.block.attributes.into_keys().collect();
    assert_eq!(documented("index.md"), settings);
}

#[test]
fn each_data_source_page_documents_exactly_its_attributes() {
    let mut diags = Diagnostics::default();
    let sources = KeyplaneProvider::default()
        .get_data_sources(&mut diags)
        .expect("data sources");
    for (name, page) in [
        ("key", "data-sources/key.md"),
        ("workspace", "data-sources/workspace.md"),
    ] {
        let schema = sources[name].schema(&mut diags).expect("a schema");
        let attributes: BTreeSet<String> = schema.block.attributes.into_keys().collect();
        assert_eq!(documented(page), attributes, "docs/{page}");
    }
    assert_eq!(sources.len(), 2, "every data source has a page");
}
