//! Who may do what, through the Router: a matrix of roles × actions with the
//! expected status and code, each cell on fresh fixtures; API keys refused
//! on every management route; unsigned, mis-signed and stale requests
//! refused.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Duration;
use common::{member_path, org_key, with, ws_key, Req, TestApp, TestResponse, ADMIN};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy)]
enum Role {
    Admin,
    Owner,
    Editor,
    Viewer,
    OtherWorkspace,
    Outsider,
}

const ROLES: [Role; 6] = [
    Role::Admin,
    Role::Owner,
    Role::Editor,
    Role::Viewer,
    Role::OtherWorkspace,
    Role::Outsider,
];

impl Role {
    fn principal(self) -> &'static str {
        match self {
            Role::Admin => ADMIN,
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
            Role::OtherWorkspace => "other",
            Role::Outsider => "outsider",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    CreateWorkspaceKey,
    CreateOrganizationKey,
    ListKeys,
    GetKey,
    PatchKey,
    RollKey,
    RevokeKey,
    ReadAudit,
    PutMember,
    CreateWorkspace,
    GetOrganization,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed(u16),
    Denied(u16, &'static str),
}

const OK: Expect = Expect::Allowed(200);
const CREATED: Expect = Expect::Allowed(201);
const NO_ORG: Expect = Expect::Denied(404, "ORGANIZATION_NOT_FOUND");
const NO_KEY: Expect = Expect::Denied(404, "KEY_NOT_FOUND");
const OWNER: Expect = Expect::Denied(403, "OWNER_REQUIRED");
const EDITOR: Expect = Expect::Denied(403, "EDITOR_REQUIRED");

/// Columns: admin, org owner, ws editor, ws viewer, editor of another
/// workspace only, non-member.
#[rustfmt::skip]
const MATRIX: [(Action, [Expect; 6]); 11] = [
    //                              admin    owner    editor   viewer  other   outsider
    (Action::CreateWorkspaceKey,    [CREATED, CREATED, CREATED, EDITOR, EDITOR, NO_ORG]),
    (Action::CreateOrganizationKey, [CREATED, CREATED, OWNER,   OWNER,  OWNER,  NO_ORG]),
    (Action::ListKeys,              [OK,      OK,      OK,      OK,     OK,     NO_ORG]),
    (Action::GetKey,                [OK,      OK,      OK,      OK,     NO_KEY, NO_KEY]),
    (Action::PatchKey,              [OK,      OK,      OK,      EDITOR, NO_KEY, NO_KEY]),
    (Action::RollKey,               [OK,      OK,      OK,      EDITOR, NO_KEY, NO_KEY]),
    (Action::RevokeKey,             [OK,      OK,      OK,      EDITOR, NO_KEY, NO_KEY]),
    (Action::ReadAudit,             [OK,      OK,      OWNER,   OWNER,  OWNER,  NO_ORG]),
    (Action::PutMember,             [OK,      OK,      OWNER,   OWNER,  OWNER,  NO_ORG]),
    (Action::CreateWorkspace,       [CREATED, CREATED, OWNER,   OWNER,  OWNER,  NO_ORG]),
    (Action::GetOrganization,       [OK,      OK,      OK,      OK,     OK,     NO_ORG]),
];

/// An org with workspaces `ws` and `other_ws`, one member per role, and a
/// workspace key in `ws` created by the admin.
struct Fixture {
    app: TestApp,
    org: String,
    ws: String,
    other_ws: String,
    key: String,
    key_id: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::new();
    let (org, ws) = app.setup_org().await;
    let other_ws = app.workspace(&org, "staging").await;
    app.member(&org, "owner", "owner", &[]).await;
    app.member(&org, "editor", "member", &[(&ws, "editor")])
        .await;
    app.member(&org, "viewer", "member", &[(&ws, "viewer")])
        .await;
    app.member(&org, "other", "member", &[(&other_ws, "editor")])
        .await;
    app.principal("outsider");
    let (key, key_id) = app.new_key(ADMIN, ws_key(&org, &ws)).await;
    Fixture {
        app,
        org,
        ws,
        other_ws,
        key,
        key_id,
    }
}

impl Fixture {
    async fn perform(&self, role: Role, action: Action) -> TestResponse {
        let (method, path, body) = self.request(action);
        self.app
            .call(Some(role.principal()), method, &path, body, &[])
            .await
    }

    fn request(&self, action: Action) -> (&'static str, String, Option<Value>) {
        let (org, key_id) = (&self.org, &self.key_id);
        let key_path = format!("/v1/keys/{key_id}");
        // Role viewer, so only the right to manage keys is in question.
        let small_key = with(ws_key(org, &self.ws), json!({"role": "viewer"}));
        match action {
            Action::CreateWorkspaceKey => ("POST", "/v1/keys".into(), Some(small_key)),
            Action::CreateOrganizationKey => ("POST", "/v1/keys".into(), Some(org_key(org))),
            Action::ListKeys => ("GET", format!("/v1/keys?organization_id={org}"), None),
            Action::GetKey => ("GET", key_path, None),
            Action::PatchKey => ("PATCH", key_path, Some(json!({"name": "renamed"}))),
            Action::RollKey => (
                "POST",
                format!("{key_path}/roll"),
                Some(json!({"grace_seconds": 0})),
            ),
            Action::RevokeKey => ("DELETE", key_path, None),
            Action::ReadAudit => ("GET", format!("/v1/organizations/{org}/audit"), None),
            Action::PutMember => {
                let newcomer = common::arn("newcomer");
                let roles = json!({ self.other_ws.clone(): "viewer" });
                let body = json!({"org_role": "member", "workspace_roles": roles});
                ("PUT", member_path(org, &newcomer), Some(body))
            }
            Action::CreateWorkspace => (
                "POST",
                format!("/v1/organizations/{org}/workspaces"),
                Some(json!({"name": "new"})),
            ),
            Action::GetOrganization => ("GET", format!("/v1/organizations/{org}"), None),
        }
    }

    /// Everything a refused request could have changed.
    async fn state(&self) -> (usize, Vec<Value>, usize, String) {
        let audit = self.app.audit(&self.org).await.len();
        let keys = self.app.keys(&self.org).await;
        let workspaces = self.app.workspaces(&self.org).await.len();
        let verdict = self.app.verify_code(&self.key).await;
        (audit, keys, workspaces, verdict)
    }
}

/// Runs one cell on fresh fixtures; `Err` describes a mismatch.
async fn check_cell(role: Role, action: Action, expect: Expect) -> Result<(), String> {
    let fixture = fixture().await;
    let before = fixture.state().await;
    let answer = fixture.perform(role, action).await;
    let cell = format!("{role:?} × {action:?}");
    let matches = match expect {
        Expect::Allowed(status) => answer.status.as_u16() == status,
        Expect::Denied(status, code) => answer.status.as_u16() == status && answer.code() == code,
    };
    if !matches {
        return Err(format!(
            "{cell}: expected {expect:?}, got {} {}",
            answer.status, answer.body_text
        ));
    }
    if let Expect::Denied(..) = expect {
        let content_type = answer.header("content-type").unwrap_or("");
        if content_type != keyplane_http::PROBLEM_JSON {
            return Err(format!("{cell}: not problem+json but {content_type}"));
        }
        if fixture.state().await != before {
            return Err(format!("{cell}: a refused request changed something"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_role_gets_exactly_its_rights_on_every_action() {
    // Every cell has its own fixtures, so the cells can run at once.
    let mut cells = tokio::task::JoinSet::new();
    for (action, row) in MATRIX {
        for (role, expect) in ROLES.into_iter().zip(row) {
            cells.spawn(check_cell(role, action, expect));
        }
    }
    let mut failures: Vec<String> = cells
        .join_all()
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    failures.sort();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The ids of the keys `role` sees in the fixture's organization, sorted.
async fn listed(f: &Fixture, role: Role) -> Vec<String> {
    let path = format!("/v1/keys?organization_id={}", f.org);
    let answer = f
        .app
        .call(Some(role.principal()), "GET", &path, None, &[])
        .await;
    let mut ids: Vec<String> = answer.expect(200).json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn members_list_only_the_keys_they_may_read() {
    let f = fixture().await;
    let (_, other_key) = f.app.new_key(ADMIN, ws_key(&f.org, &f.other_ws)).await;
    let (_, org_wide) = f.app.new_key(ADMIN, org_key(&f.org)).await;
    let sorted = |mut ids: Vec<&String>| {
        ids.sort();
        ids.into_iter().cloned().collect::<Vec<_>>()
    };
    let all = sorted(vec![&f.key_id, &other_key, &org_wide]);
    assert_eq!(listed(&f, Role::Admin).await, all);
    assert_eq!(listed(&f, Role::Owner).await, all);
    assert_eq!(
        listed(&f, Role::Viewer).await,
        sorted(vec![&f.key_id, &org_wide])
    );
    assert_eq!(
        listed(&f, Role::OtherWorkspace).await,
        sorted(vec![&other_key, &org_wide])
    );
}

/// Every management route with a plausible body.
fn management_routes(f: &Fixture) -> Vec<(&'static str, String, Option<Value>)> {
    let (org, ws, key_id) = (&f.org, &f.ws, &f.key_id);
    let member = member_path(org, &common::arn("editor"));
    vec![
        (
            "POST",
            "/v1/organizations".into(),
            Some(json!({"name": "Evil"})),
        ),
        ("GET", format!("/v1/organizations/{org}"), None),
        (
            "PATCH",
            format!("/v1/organizations/{org}"),
            Some(json!({"name": "Evil"})),
        ),
        (
            "POST",
            format!("/v1/organizations/{org}/workspaces"),
            Some(json!({"name": "x"})),
        ),
        ("GET", format!("/v1/organizations/{org}/workspaces"), None),
        ("GET", format!("/v1/organizations/{org}/members"), None),
        (
            "PUT",
            member.clone(),
            Some(json!({"org_role": "owner", "workspace_roles": {}})),
        ),
        ("DELETE", member, None),
        ("GET", format!("/v1/organizations/{org}/audit"), None),
        ("POST", "/v1/keys".into(), Some(ws_key(org, ws))),
        ("GET", format!("/v1/keys?organization_id={org}"), None),
        ("GET", format!("/v1/keys/{key_id}"), None),
        (
            "PATCH",
            format!("/v1/keys/{key_id}"),
            Some(json!({"enabled": false})),
        ),
        ("DELETE", format!("/v1/keys/{key_id}"), None),
        ("POST", format!("/v1/keys/{key_id}/activate"), None),
        (
            "POST",
            format!("/v1/keys/{key_id}/roll"),
            Some(json!({"grace_seconds": 0})),
        ),
        ("GET", format!("/v1/keys/{key_id}/usage"), None),
        (
            "POST",
            "/v1/usage".into(),
            Some(json!({"key_id": key_id, "model": "gpt-4o"})),
        ),
    ]
}

#[tokio::test]
async fn an_api_key_can_manage_nothing() {
    let f = fixture().await;
    // The most powerful key there is: an organization owner key.
    let (owner_key, _) = f.app.new_key(ADMIN, org_key(&f.org)).await;
    let before = f.state().await;
    for (method, path, body) in management_routes(&f) {
        for scheme in ["Bearer", "bearer"] {
            let authorization = format!("{scheme} {owner_key}");
            let answer = f
                .app
                .call(
                    None,
                    method,
                    &path,
                    body.clone(),
                    &[("authorization", &authorization)],
                )
                .await;
            answer.expect_problem(403, "API_KEY_NOT_ALLOWED");
            assert!(!answer.body_text.contains(&owner_key), "{method} {path}");
        }
    }
    assert_eq!(f.state().await, before, "an API key changed something");
    assert_eq!(f.app.verify_code(&owner_key).await, "VALID");
}

#[tokio::test]
async fn unsigned_requests_are_challenged_on_every_management_route() {
    let f = fixture().await;
    let before = f.state().await;
    for (method, path, body) in management_routes(&f) {
        let answer = f.app.call(None, method, &path, body, &[]).await;
        answer.expect_problem(401, "SIGNATURE_REQUIRED");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("AWS4-HMAC-SHA256"),
            "{method} {path}"
        );
    }
    assert_eq!(f.state().await, before);
}

#[tokio::test]
async fn a_wrong_secret_is_a_signature_mismatch() {
    let f = fixture().await;
    let before = f.state().await;
    let req = Req::new("POST", "/v1/keys")
        .by(ADMIN)
        .json(&ws_key(&f.org, &f.ws))
        .secret("not-the-secret-at-all");
    let answer = f.app.send(req).await;
    answer.expect_problem(401, "SIGNATURE_MISMATCH");
    assert!(answer.header("www-authenticate").is_some());
    assert_eq!(f.state().await, before);
}

#[tokio::test]
async fn a_stale_or_future_signature_is_expired() {
    let f = fixture().await;
    let before = f.state().await;
    for minutes in [-10, 10] {
        let req = Req::new("POST", "/v1/keys")
            .by(ADMIN)
            .json(&ws_key(&f.org, &f.ws))
            .signed_offset(Duration::minutes(minutes));
        let answer = f.app.send(req).await;
        answer.expect_problem(401, "SIGNATURE_EXPIRED");
        assert!(answer.header("www-authenticate").is_some());
    }
    // Within the allowed skew it is accepted.
    let req = Req::new("GET", &format!("/v1/organizations/{}", f.org))
        .by(ADMIN)
        .signed_offset(Duration::minutes(-4));
    f.app.send(req).await.expect(200);
    assert_eq!(f.state().await, before);
}

#[tokio::test]
async fn a_signature_covers_the_body() {
    let f = fixture().await;
    // Signed for one body, sent with another.
    let signed_body = ws_key(&f.org, &f.ws);
    let mut sent_body = signed_body.clone();
    sent_body["role"] = json!("owner");
    let req = Req::new("POST", "/v1/keys")
        .by(ADMIN)
        .json(&signed_body)
        .tamper(&sent_body);
    let answer = f.app.send(req).await;
    answer.expect_problem(401, "SIGNATURE_MISMATCH");
}
