//! The infra module (`infra/modules/keyplane`) agrees with the code, so the
//! two cannot drift apart silently: the table is laid out as the DynamoDB
//! store's schema says, and each function gets exactly the environment its
//! cold-start validation reads, and enough of it to start.

use std::collections::BTreeSet;
use std::path::Path;

use hcl::{Block, Body, Expression, ObjectKey, TraversalOperator};
use keyplane_lambda::config::{
    ApiConfig, AuthorizerConfig, Env, FunctionConfig, KEYPLANE_ADMINS, KEYPLANE_KEY_ENV,
    KEYPLANE_LAST_USED_FLUSH_SECS, KEYPLANE_LOG, KEYPLANE_RATE_DATA_PLANE,
    KEYPLANE_RATE_LEAK_REPORTS, KEYPLANE_RATE_MANAGEMENT, KEYPLANE_REQUEST_TIMEOUT_MS,
    KEYPLANE_ROUTE_PERMISSIONS, KEYPLANE_TABLE, KEYPLANE_USAGE_REPORTERS,
    KEYPLANE_VERIFY_CACHE_ENTRIES, KEYPLANE_VERIFY_CACHE_TTL_MS,
};
use keyplane_lambda::rotator::{
    RotatorFunctionConfig, KEYPLANE_ROTATION_GRACE_SECONDS, KEYPLANE_ROTATION_PRINCIPAL,
};
use keyplane_store::dynamo::schema;

/// Every `.tf` file of the module, as one body.
fn module() -> Body {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/modules/keyplane");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    let mut body = Body::builder();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let parsed: Body =
            hcl::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        body = body.add_structures(parsed);
    }
    body.build()
}

fn resource<'a>(body: &'a Body, kind: &str, name: &str) -> &'a Block {
    body.blocks()
        .find(|block| {
            block.identifier() == "resource"
                && block.labels().iter().map(|l| l.as_str()).eq([kind, name])
        })
        .unwrap_or_else(|| panic!("resource {kind}.{name} is missing"))
}

fn attribute<'a>(body: &'a Body, key: &str) -> &'a Expression {
    body.attributes()
        .find(|attribute| attribute.key() == key)
        .map(|attribute| attribute.expr())
        .unwrap_or_else(|| panic!("attribute {key} is missing"))
}

fn text(expression: &Expression) -> String {
    match expression {
        Expression::String(text) => text.clone(),
        other => panic!("expected a literal string, found {other:?}"),
    }
}

fn blocks<'a>(body: &'a Body, identifier: &'a str) -> impl Iterator<Item = &'a Block> {
    body.blocks()
        .filter(move |block| block.identifier() == identifier)
}

#[test]
fn the_table_is_laid_out_as_the_store_expects() {
    let module = module();
    let table = resource(&module, "aws_dynamodb_table", "keys").body();
    assert_eq!(text(attribute(table, "hash_key")), schema::PK);
    assert_eq!(text(attribute(table, "range_key")), schema::SK);
    assert_eq!(text(attribute(table, "billing_mode")), "PAY_PER_REQUEST");

    let attributes: BTreeSet<String> = blocks(table, "attribute")
        .map(|a| text(attribute(a.body(), "name")))
        .collect();
    let keys = [
        schema::PK,
        schema::SK,
        schema::GSI1_PK,
        schema::GSI1_SK,
        schema::GSI2_PK,
        schema::GSI2_SK,
    ];
    assert_eq!(attributes, keys.iter().map(|k| (*k).to_owned()).collect());

    let indexes: BTreeSet<(String, String, String, String)> =
        blocks(table, "global_secondary_index")
            .map(|index| {
                let body = index.body();
                (
                    text(attribute(body, "name")),
                    text(attribute(body, "hash_key")),
                    text(attribute(body, "range_key")),
                    text(attribute(body, "projection_type")),
                )
            })
            .collect();
    let expected: BTreeSet<_> = [
        (schema::KEYS_BY_ORG_INDEX, schema::GSI1_PK, schema::GSI1_SK),
        (
            schema::KEYS_BY_CREATOR_INDEX,
            schema::GSI2_PK,
            schema::GSI2_SK,
        ),
    ]
    .into_iter()
    .map(|(name, hash, range)| {
        (
            name.to_owned(),
            hash.to_owned(),
            range.to_owned(),
            "ALL".to_owned(),
        )
    })
    .collect();
    assert_eq!(indexes, expected);

    let ttl = blocks(table, "ttl").next().expect("a ttl block").body();
    assert_eq!(text(attribute(ttl, "attribute_name")), schema::TTL);
    assert_eq!(attribute(ttl, "enabled"), &Expression::Bool(true));
    let pitr = blocks(table, "point_in_time_recovery")
        .next()
        .expect("PITR")
        .body();
    assert_eq!(attribute(pitr, "enabled"), &Expression::Bool(true));
}

/// The keys of an object literal, or of `merge(local.x, {...})` with
/// `local.x`'s keys taken from `locals`.
fn object_keys(expression: &Expression, locals: &Body) -> BTreeSet<String> {
    match expression {
        Expression::Object(object) => object
            .keys()
            .map(|key| match key {
                ObjectKey::Identifier(id) => id.to_string(),
                ObjectKey::Expression(Expression::String(s)) => s.clone(),
                other => panic!("unexpected key {other:?}"),
            })
            .collect(),
        Expression::FuncCall(call) if call.name.to_string() == "merge" => call
            .args
            .iter()
            .flat_map(|arg| object_keys(arg, locals))
            .collect(),
        Expression::Traversal(traversal) => {
            let Some(TraversalOperator::GetAttr(name)) = traversal.operators.first() else {
                panic!("cannot resolve {traversal:?}");
            };
            object_keys(attribute(locals, name.as_str()), locals)
        }
        other => panic!("cannot read the keys of {other:?}"),
    }
}

/// A value each variable's validation accepts.
fn sample(variable: &str) -> &'static str {
    match variable {
        v if v == KEYPLANE_TABLE => "keyplane",
        v if v == KEYPLANE_LOG => "info",
        v if v == KEYPLANE_ADMINS => "arn:aws:iam::111111111111:user/admin",
        v if v == KEYPLANE_USAGE_REPORTERS => "arn:aws:iam::111111111111:role/gateway",
        v if v == KEYPLANE_KEY_ENV => "live",
        v if v == KEYPLANE_ROUTE_PERMISSIONS => r#"{"GET /orders/{id}": ["orders:read"]}"#,
        v if v == KEYPLANE_ROTATION_PRINCIPAL => "arn:aws:iam::111111111111:role/keyplane-rotator",
        v if v == KEYPLANE_ROTATION_GRACE_SECONDS => "7200",
        v if v == KEYPLANE_VERIFY_CACHE_TTL_MS => "5000",
        v if v == KEYPLANE_VERIFY_CACHE_ENTRIES => "10000",
        v if v == KEYPLANE_LAST_USED_FLUSH_SECS => "60",
        v if v == KEYPLANE_RATE_DATA_PLANE => "2000/s:4000",
        v if v == KEYPLANE_RATE_LEAK_REPORTS => "60/min:30",
        v if v == KEYPLANE_RATE_MANAGEMENT => "off",
        v if v == KEYPLANE_REQUEST_TIMEOUT_MS => "10000",
        other => panic!("the module sets {other}, which no function reads"),
    }
}

#[test]
fn each_function_gets_exactly_the_environment_it_validates() {
    let module = module();
    let locals: Vec<&Block> = blocks(&module, "locals").collect();
    let mut all_locals = Body::builder();
    for block in &locals {
        all_locals = all_locals.add_structures(block.body().clone());
    }
    let all_locals = all_locals.build();
    let environment = match attribute(&all_locals, "environment") {
        Expression::Object(object) => object.clone(),
        other => panic!("local.environment is not an object: {other:?}"),
    };
    let per_function = |function: &str| -> BTreeSet<String> {
        let expression = environment
            .iter()
            .find(|(key, _)| matches!(key, ObjectKey::Identifier(id) if id.as_str() == function))
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("no environment for {function}"));
        object_keys(expression, &all_locals)
    };
    let expected = |names: &[&str]| {
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<_>>()
    };
    let common = [KEYPLANE_TABLE, KEYPLANE_LOG];
    let hot_path = [
        KEYPLANE_VERIFY_CACHE_TTL_MS,
        KEYPLANE_VERIFY_CACHE_ENTRIES,
        KEYPLANE_LAST_USED_FLUSH_SECS,
    ];

    let api = per_function("api");
    assert_eq!(
        api,
        expected(
            &[
                &common[..],
                &hot_path[..],
                &[
                    KEYPLANE_ADMINS,
                    KEYPLANE_USAGE_REPORTERS,
                    KEYPLANE_KEY_ENV,
                    KEYPLANE_RATE_DATA_PLANE,
                    KEYPLANE_RATE_LEAK_REPORTS,
                    KEYPLANE_RATE_MANAGEMENT,
                    KEYPLANE_REQUEST_TIMEOUT_MS,
                ]
            ]
            .concat()
        )
    );
    let authorizer = per_function("authorizer");
    assert_eq!(
        authorizer,
        expected(&[&common[..], &hot_path[..], &[KEYPLANE_ROUTE_PERMISSIONS]].concat())
    );
    let rotator = per_function("rotator");
    assert_eq!(
        rotator,
        expected(
            &[
                &common[..],
                &[
                    KEYPLANE_ADMINS,
                    KEYPLANE_ROTATION_PRINCIPAL,
                    KEYPLANE_ROTATION_GRACE_SECONDS
                ]
            ]
            .concat()
        )
    );

    // And that is enough for each to start (Lambda adds AWS_REGION).
    let env = |names: &BTreeSet<String>| {
        Env::from_pairs(
            names
                .iter()
                .map(|name| (name.as_str(), sample(name)))
                .chain([("AWS_REGION", "eu-west-1")]),
        )
    };
    <ApiConfig as FunctionConfig>::from(&env(&api)).expect("api starts");
    <AuthorizerConfig as FunctionConfig>::from(&env(&authorizer)).expect("authorizer starts");
    <RotatorFunctionConfig as FunctionConfig>::from(&env(&rotator)).expect("rotator starts");
}

/// The module's defaults for the limits are the Router's own.
#[test]
fn the_rate_defaults_match_the_router() {
    use keyplane_http::{parse_rate, Limits};

    let module = module();
    let default_of = |name: &str| -> String {
        let variable = blocks(&module, "variable")
            .find(|b| b.labels().first().map(|l| l.as_str()) == Some(name))
            .unwrap_or_else(|| panic!("no variable {name}"));
        text(attribute(variable.body(), "default"))
    };
    for (name, rate) in [
        ("rate_data_plane", Limits::DATA_PLANE),
        ("rate_leak_reports", Limits::LEAK_REPORTS),
        ("rate_management", Limits::MANAGEMENT),
    ] {
        assert_eq!(parse_rate(&default_of(name)), Ok(Some(rate)), "{name}");
    }
}
