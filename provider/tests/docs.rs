//! `docs/` (the registry's layout) lists exactly the attributes the schemas
//! have, so the documentation cannot drift from the code.

use std::collections::BTreeSet;

use terraform_provider_keyplane::key::schema::schema;
use terraform_provider_keyplane::key::Scope;
use terraform_provider_keyplane::KeyplaneProvider;
use tf_provider::{Diagnostics, Provider};

fn read(page: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/{page}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("docs/{page}: {e}"))
}

/// The attribute names a page documents at the top level: its
/// `- \`name\` (Type)` lines before any nested schema.
fn documented(page: &str) -> BTreeSet<String> {
    let text = read(page);
    let top = text.split("### Nested Schema").next().unwrap_or_default();
    names(top)
}

fn names(text: &str) -> BTreeSet<String> {
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
        let block = schema(scope).block;
        let mut top: BTreeSet<String> = block.attributes.into_keys().collect();
        top.extend(block.blocks.keys().cloned());
        assert_eq!(documented(page), top, "docs/{page}");
        let Some(tf_provider::schema::NestedBlock::Optional(rotation)) =
            block.blocks.get("rotation")
        else {
            panic!("the rotation block is optional");
        };
        let text = read(page);
        let nested = text
            .split("### Nested Schema for `rotation`")
            .nth(1)
            .map(names)
            .unwrap_or_default();
        let expected: BTreeSet<String> = rotation.attributes.keys().cloned().collect();
        assert_eq!(nested, expected, "docs/{page}: rotation");
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
