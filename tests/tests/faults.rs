//! Store failures in the middle of every multi-item write.
//!
//! Each use case that writes more than one item (a key with its quota
//! count, secret, stats and audit event; a roll; a revoke; a disable; an
//! activation; a membership change with the personal keys it disables; a
//! workspace or an organization with its event; a leak report; usage; a
//! spend) runs once cleanly to learn the store calls it makes, then once
//! per call with an outage that starts at that call: the call is refused
//! (nothing written) or, for a write, applied with its answer lost. After
//! each fault:
//!
//! - the use case failed with `Unavailable` (or succeeded, when the fault
//!   struck nothing it needed);
//! - verify during the outage fails closed: an error, never `VALID`;
//! - once healed, the store reads back either the old state or the new
//!   one, entirely, and the invariants hold (quota counts equal the keys
//!   that count, every live secret's item carries its key's current
//!   version, every key change has its audit event; on DynamoDB, a scan
//!   finds no secret, stats, marker or idempotency item without its key);
//! - running the same request again reaches the new state.
//!
//! Two backends: the embedded store behind a failing decorator (each of its
//! methods is one transaction, so its calls are the interruption points),
//! and the DynamoDB store on moto behind a fault-injecting HTTP proxy,
//! where the points are each request that writes (the transaction, the
//! conditional update) and the request right after it (a read-back, the
//! recheck that follows a membership change); the embedded runs cover
//! every call, reads before the first write included.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::Duration;
use keyplane_aws::Profile;
use keyplane_core::clock::ManualClock;
use keyplane_core::id::{KeyId, OrgId, WorkspaceId};
use keyplane_core::key::{KeyRecord, KeyRole, KeyStatus, KeyType, SecretRecord};
use keyplane_core::key_format::{ApiKey, KeyHash};
use keyplane_core::service::{
    ActivateKey, CreateKey, CreateOrganization, CreateOutcome, CreateWorkspace, IdempotencyToken,
    PatchKey, PutMember, ReportLeak, ReportUsage, RollKey, ScopeKind, UpdateOrganization,
    VerifyKey,
};
use keyplane_core::store::{KeyQuery, KeyStore};
use keyplane_core::tenancy::{Membership, OrgRole, Organization, Workspace, WorkspaceRole};
use keyplane_core::usage::UsageRow;
use keyplane_core::{Config, Error, ErrorKind, Keyplane};
use keyplane_store::conformance::fixtures;
use keyplane_store::dynamo::schema;
use keyplane_store::dynamo::testing::{client_config, moto_endpoint, sdk, unique_table_name};
use keyplane_store::{DynamoStore, EmbeddedStore};
use keyplane_tests::fault_proxy::FaultProxy;
use keyplane_tests::faults::{Fault, Injector};
use keyplane_tests::faulty_store::FaultyStore;
use keyplane_tests::{caller, principal, workspace_key, ADMIN, REPORTER, ROTATOR};

const BOB: &str = "arn:aws:iam::222222222222:user/bob";
const CAROL: &str = "arn:aws:iam::222222222222:user/carol";
const DAVE: &str = "arn:aws:iam::222222222222:user/dave";

/// Use cases over a store whose calls can be made to fail, and a view of
/// the same data that never fails, to read back what was written.
#[derive(Clone)]
struct Rig {
    backend: &'static str,
    keyplane: Keyplane,
    faults: Injector,
    /// The same data, read without faults.
    store: Arc<dyn KeyStore>,
    /// DynamoDB only: the table read directly, for item-level checks, and
    /// the proxy the faulted store talks through.
    dynamo: Option<(DynamoStore, Arc<FaultProxy>)>,
}

fn config() -> Config {
    Config {
        admins: vec![principal(ADMIN)],
        usage_reporters: vec![principal(REPORTER)],
        key_env: keyplane_core::key_format::KeyEnv::Test,
        rotators: vec![principal(ROTATOR)],
    }
}

fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap()
}

impl Rig {
    fn new(
        backend: &'static str,
        faulted: Arc<dyn KeyStore>,
        faults: Injector,
        store: Arc<dyn KeyStore>,
        dynamo: Option<(DynamoStore, Arc<FaultProxy>)>,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        Self {
            backend,
            keyplane: Keyplane::new(faulted, clock, config()),
            faults,
            store,
            dynamo,
        }
    }

    fn embedded() -> Self {
        let inner: Arc<dyn KeyStore> = Arc::new(EmbeddedStore::in_memory().unwrap());
        let faulty = Arc::new(FaultyStore::new(inner.clone()));
        let faults = faulty.faults().clone();
        Self::new("embedded", faulty, faults, inner, None)
    }

    /// The DynamoDB store on a fresh table of moto, its requests through a
    /// fault proxy, with the Lambda functions' retries (the SDK retries
    /// each failed request twice before the store sees the failure), their
    /// pauses shortened.
    async fn dynamo(test: &str) -> Option<Self> {
        let endpoint = moto_endpoint(test)?;
        let proxy = Arc::new(FaultProxy::start(&endpoint).await);
        Some(Self::on_fresh_table(&endpoint, proxy).await)
    }

    async fn on_fresh_table(endpoint: &str, proxy: Arc<FaultProxy>) -> Self {
        let direct = aws_client(client_config(endpoint));
        let table = unique_table_name();
        schema::create_table(&direct, &table).await.unwrap();
        let through = aws_client(
            client_config(proxy.url())
                .retry_config(
                    Profile::Lambda
                        .retry_config()
                        .with_initial_backoff(std::time::Duration::from_millis(1))
                        .with_max_backoff(std::time::Duration::from_millis(5)),
                )
                .timeout_config(Profile::Emulator.timeout_config()),
        );
        let faulted = Arc::new(DynamoStore::new(through, table.clone()));
        let reader = DynamoStore::new(direct, table);
        let faults = proxy.faults().clone();
        Self::new(
            "dynamodb",
            faulted,
            faults,
            Arc::new(reader.clone()),
            Some((reader, proxy)),
        )
    }

    /// The same kind of rig on new, empty data (a new table on DynamoDB,
    /// which keeps moto's per-table work small).
    async fn renew(&self) -> Self {
        match &self.dynamo {
            None => Self::embedded(),
            Some((_, proxy)) => Self::on_fresh_table(proxy.upstream(), proxy.clone()).await,
        }
    }
}

fn aws_client(config: sdk::config::Builder) -> sdk::Client {
    sdk::Client::from_conf(config.build())
}

/// The fixture a case starts from: an organization (quota 10) with a
/// workspace and an active metered service key (the probe verify uses);
/// for the cases that need them, two owners (Bob and Carol) and two
/// personal organization keys of Bob's, or a pending key.
#[derive(Debug, Clone)]
struct Ctx {
    org: OrgId,
    ws: WorkspaceId,
    service: KeyId,
    service_key: String,
    personal: Vec<KeyId>,
    pending: Option<KeyId>,
}

async fn created(keyplane: &Keyplane, who: &str, req: CreateKey) -> (KeyId, String) {
    match keyplane.create_key(&caller(who), req, None).await.unwrap() {
        CreateOutcome::Created(created) => (created.view.id, created.key.expose().to_owned()),
        CreateOutcome::Replayed(_) => unreachable!("no token was sent"),
    }
}

fn service_key(org: &OrgId, ws: &WorkspaceId) -> CreateKey {
    CreateKey {
        credits: Some(100),
        ..workspace_key(org, ws)
    }
}

fn personal_org_key(org: &OrgId) -> CreateKey {
    CreateKey {
        scope: ScopeKind::Organization,
        workspace_id: None,
        key_type: KeyType::Personal,
        name: Some("bob's".into()),
        role: KeyRole::Owner,
        credits: None,
        ..service_key(org, &WorkspaceId::generate())
    }
}

async fn setup(rig: &Rig, op: Op) -> Ctx {
    let kp = &rig.keyplane;
    let admin = caller(ADMIN);
    let org = kp
        .create_organization(
            &admin,
            CreateOrganization {
                name: "Acme".into(),
                key_quota: Some(10),
            },
        )
        .await
        .unwrap()
        .id;
    let ws = kp
        .create_workspace(
            &admin,
            &org,
            CreateWorkspace {
                name: "prod".into(),
            },
        )
        .await
        .unwrap()
        .id;
    // Owners straight into the store: cheaper than the use case, which the
    // member cases exercise anyway.
    let members = matches!(op, Op::DemoteMember | Op::RemoveMember | Op::CreateKey);
    let owners: &[&str] = if members { &[CAROL, BOB] } else { &[] };
    for who in owners {
        let member = Membership {
            org_role: OrgRole::Owner,
            ..fixtures::member(&org, &principal(who), &[])
        };
        let put = fixtures::event(&org, "member.put", who, start());
        rig.store.put_member(&member, None, &put).await.unwrap();
    }
    let (service, plaintext) = created(kp, ADMIN, service_key(&org, &ws)).await;
    let mut personal = Vec::new();
    if matches!(op, Op::DemoteMember | Op::RemoveMember) {
        for _ in 0..2 {
            personal.push(created(kp, BOB, personal_org_key(&org)).await.0);
        }
    }
    let pending = if op == Op::ActivateKey {
        let req = CreateKey {
            credits: None,
            activate: Some(false),
            ..service_key(&org, &ws)
        };
        Some(created(kp, ADMIN, req).await.0)
    } else {
        None
    };
    Ctx {
        org,
        ws,
        service,
        service_key: plaintext,
        personal,
        pending,
    }
}

/// The use cases under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CreateWorkspace,
    UpdateOrganization,
    AddMember,
    DemoteMember,
    RemoveMember,
    CreateKey,
    RollKey,
    RevokeKey,
    DisableKey,
    ActivateKey,
    ReportLeak,
    ReportUsage,
    SpendCredits,
}

impl Op {
    async fn run(self, rig: &Rig, ctx: &Ctx) -> Result<(), Error> {
        let kp = &rig.keyplane;
        let admin = caller(ADMIN);
        match self {
            Op::CreateWorkspace => kp
                .create_workspace(
                    &admin,
                    &ctx.org,
                    CreateWorkspace {
                        name: "staging".into(),
                    },
                )
                .await
                .map(drop),
            Op::UpdateOrganization => kp
                .update_organization(
                    &admin,
                    &ctx.org,
                    UpdateOrganization {
                        name: Some("Acme 2".into()),
                        key_quota: Some(20),
                    },
                )
                .await
                .map(drop),
            Op::AddMember => kp
                .put_member(
                    &admin,
                    &ctx.org,
                    &principal(DAVE),
                    PutMember {
                        org_role: OrgRole::Member,
                        workspace_roles: BTreeMap::from([(ctx.ws.clone(), WorkspaceRole::Editor)]),
                        permissions: None,
                    },
                )
                .await
                .map(drop),
            Op::DemoteMember => kp
                .put_member(
                    &admin,
                    &ctx.org,
                    &principal(BOB),
                    PutMember {
                        org_role: OrgRole::Member,
                        workspace_roles: BTreeMap::from([(ctx.ws.clone(), WorkspaceRole::Viewer)]),
                        permissions: None,
                    },
                )
                .await
                .map(drop),
            Op::RemoveMember => kp.delete_member(&admin, &ctx.org, &principal(BOB)).await,
            Op::CreateKey => kp
                .create_key(
                    &caller(BOB),
                    CreateKey {
                        scope: ScopeKind::Workspace,
                        workspace_id: Some(ctx.ws.clone()),
                        role: KeyRole::Editor,
                        ..personal_org_key(&ctx.org)
                    },
                    Some(&IdempotencyToken::Client(format!("create-{}", ctx.org))),
                )
                .await
                .map(drop),
            Op::RollKey => kp
                .roll_key(
                    &admin,
                    &ctx.service,
                    RollKey { grace_seconds: 600 },
                    Some(&IdempotencyToken::Client(format!("roll-{}", ctx.org))),
                )
                .await
                .map(drop),
            Op::RevokeKey => kp.revoke_key(&admin, &ctx.service).await.map(drop),
            Op::DisableKey => kp
                .patch_key(
                    &admin,
                    &ctx.service,
                    PatchKey {
                        enabled: Some(false),
                        ..PatchKey::default()
                    },
                )
                .await
                .map(drop),
            Op::ActivateKey => kp
                .activate_key(
                    &admin,
                    ctx.pending.as_ref().unwrap(),
                    ActivateKey {
                        secret_arn: None,
                        rotation: None,
                    },
                )
                .await
                .map(drop),
            Op::ReportLeak => {
                kp.report_leak(
                    ReportLeak {
                        key: ApiKey::from_plaintext(ctx.service_key.clone()),
                        source: Some("https://paste.example/1".into()),
                    },
                    None,
                )
                .await
            }
            Op::ReportUsage => {
                kp.report_usage(
                    &caller(REPORTER),
                    ReportUsage {
                        key_id: ctx.service.clone(),
                        model: "gpt-4o".into(),
                        input_tokens: 10,
                        output_tokens: 20,
                        requests: None,
                    },
                )
                .await
            }
            Op::SpendCredits => {
                let verdict = kp
                    .verify(VerifyKey {
                        cost: Some(5),
                        ..VerifyKey::new(ApiKey::from_plaintext(ctx.service_key.clone()))
                    })
                    .await?;
                assert!(
                    verdict.valid,
                    "a metered verify answered {:?} under a fault",
                    verdict.code
                );
                Ok(())
            }
        }
    }

    /// Is `after` the state this use case leads to from `before`?
    fn is_new(self, ctx: &Ctx, before: &State, after: &State) -> bool {
        let key = |id: &KeyId| after.key(id);
        let more = |action: &str, target: &str| {
            after.events(action, target) > before.events(action, target)
        };
        match self {
            // No idempotency key: a retry after a lost answer makes a
            // second one, each with its event.
            Op::CreateWorkspace => {
                let made = after.workspaces.len() - before.workspaces.len();
                made >= 1
                    && made
                        == after.events("workspace.create", "")
                            - before.events("workspace.create", "")
            }
            Op::UpdateOrganization => {
                after.org.key_quota == 20
                    && after.org.name == "Acme 2"
                    && more("organization.update", ctx.org.as_str())
            }
            Op::AddMember => after.member(DAVE).is_some() && more("member.put", DAVE),
            Op::DemoteMember => {
                after
                    .member(BOB)
                    .is_some_and(|m| m.org_role == OrgRole::Member)
                    && more("member.put", BOB)
                    && ctx
                        .personal
                        .iter()
                        .all(|id| key(id).status == KeyStatus::Disabled)
            }
            Op::RemoveMember => {
                after.member(BOB).is_none()
                    && more("member.delete", BOB)
                    && ctx
                        .personal
                        .iter()
                        .all(|id| key(id).status == KeyStatus::Disabled)
            }
            Op::CreateKey => {
                after.keys.len() == before.keys.len() + 1
                    && after.org.key_count == before.org.key_count + 1
            }
            Op::RollKey => {
                let key = key(&ctx.service);
                key.secrets.len() == 2 && key.secrets[1].expires_at.is_some()
            }
            Op::RevokeKey => {
                key(&ctx.service).status == KeyStatus::Revoked
                    && after.org.key_count + 1 == before.org.key_count
            }
            Op::DisableKey => key(&ctx.service).status == KeyStatus::Disabled,
            Op::ActivateKey => ctx
                .pending
                .as_ref()
                .is_some_and(|id| key(id).status == KeyStatus::Active),
            Op::ReportLeak => {
                let key = key(&ctx.service);
                key.status == KeyStatus::Disabled && key.secrets.iter().all(|s| s.leaked)
            }
            Op::ReportUsage => !after.usage.is_empty() && key(&ctx.service).last_used_at.is_some(),
            Op::SpendCredits => {
                key(&ctx.service)
                    .credits_remaining
                    .is_some_and(|left| left < 100)
                    && key(&ctx.service).last_used_at.is_some()
            }
        }
    }
}

/// Everything one organization has in the store, read without faults.
#[derive(Debug, Clone, PartialEq)]
struct State {
    org: Organization,
    workspaces: Vec<Workspace>,
    members: Vec<Membership>,
    /// By id.
    keys: Vec<KeyRecord>,
    /// The secret item of every hash the keys list, by hash.
    secrets: BTreeMap<KeyHash, Option<SecretRecord>>,
    /// (action, target) of every event.
    audit: Vec<(String, String)>,
    usage: Vec<UsageRow>,
}

impl State {
    async fn read(store: &dyn KeyStore, org: &OrgId, metered: &KeyId) -> Self {
        let org_record = store.get_organization(org).await.unwrap().unwrap();
        let workspaces = store.list_workspaces(org).await.unwrap();
        let members = store.list_members(org).await.unwrap();
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .list_keys(&KeyQuery {
                    organization_id: org.clone(),
                    workspace_id: None,
                    status: None,
                    created_by: None,
                    cursor: cursor.take(),
                    limit: 100,
                })
                .await
                .unwrap();
            // Listed with their credits and last use.
            keys.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        keys.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let mut secrets = BTreeMap::new();
        for key in &keys {
            for secret in &key.secrets {
                secrets.insert(secret.hash, store.get_secret(&secret.hash).await.unwrap());
            }
        }
        // Only the service key is ever used.
        let day = start().date_naive();
        let usage = store
            .query_usage(metered, day - Duration::days(1), day + Duration::days(1))
            .await
            .unwrap();
        let mut audit = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = store.list_audit(org, cursor.as_deref(), 100).await.unwrap();
            audit.extend(page.items.into_iter().map(|e| (e.action, e.target)));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        audit.sort();
        Self {
            org: org_record,
            workspaces,
            members,
            keys,
            secrets,
            audit,
            usage,
        }
    }

    fn key(&self, id: &KeyId) -> &KeyRecord {
        self.keys.iter().find(|k| &k.id == id).unwrap()
    }

    fn member(&self, arn: &str) -> Option<&Membership> {
        self.members.iter().find(|m| m.principal.as_str() == arn)
    }

    /// Events with `action` on `target` (any target when empty).
    fn events(&self, action: &str, target: &str) -> usize {
        self.audit
            .iter()
            .filter(|(a, t)| a == action && (target.is_empty() || t == target))
            .count()
    }

    /// What must hold whatever was interrupted.
    fn check_invariants(&self, what: &str) {
        let counted = self
            .keys
            .iter()
            .filter(|k| k.status != KeyStatus::Revoked)
            .count();
        assert_eq!(
            self.org.key_count as usize, counted,
            "{what}: the quota count is not the number of keys that count"
        );
        let members: BTreeSet<&str> = self.members.iter().map(|m| m.principal.as_str()).collect();
        for key in &self.keys {
            for secret in &key.secrets {
                let item = self.secrets[&secret.hash].as_ref();
                let item = item.unwrap_or_else(|| {
                    panic!("{what}: key {} lists a secret with no item", key.id)
                });
                assert_eq!(item.key_id, key.id, "{what}");
                assert_eq!(
                    (item.key_version, item.status, item.leaked),
                    (key.version, key.status, secret.leaked),
                    "{what}: the secret item of key {} is not from its current version",
                    key.id
                );
            }
            assert_eq!(
                self.events("key.create", key.id.as_str()),
                1,
                "{what}: key {} has no creation event",
                key.id
            );
            let changes = self
                .audit
                .iter()
                .filter(|(a, t)| {
                    t == key.id.as_str() && a != "key.create" && !a.ends_with("_no_effect")
                })
                .count();
            assert_eq!(
                changes as u64,
                key.version - 1,
                "{what}: key {} is at version {} with {changes} change events",
                key.id,
                key.version
            );
            if key.key_type == KeyType::Personal
                && matches!(key.status, KeyStatus::Active | KeyStatus::Pending)
            {
                assert!(
                    members.contains(key.created_by.as_str()),
                    "{what}: personal key {} is live after its creator left",
                    key.id
                );
            }
        }
        assert_eq!(
            self.events("key.create", ""),
            self.keys.len(),
            "{what}: a creation event without its key"
        );
    }
}

/// DynamoDB only, from a scan of the whole table (so nothing the API
/// would not show escapes): the organization's key items are exactly the
/// keys it lists, each with its stats item and its personal-key marker;
/// its keys' secret items are exactly the secrets they list; no stats,
/// secret, usage or marker item exists without its key.
type Item = HashMap<String, sdk::types::AttributeValue>;

/// Every item of the table.
async fn scan(table: &DynamoStore) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = table
            .client()
            .scan()
            .table_name(table.table())
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(next) if !next.is_empty() => start = Some(next.clone()),
            _ => break,
        }
    }
    items
}

/// A string attribute of `item`, or empty.
fn text(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

async fn check_items(table: &DynamoStore, org: &OrgId, state: &State, what: &str) {
    let items = scan(table).await;
    let present: BTreeSet<(String, String)> = items
        .iter()
        .map(|item| (text(item, schema::PK), text(item, schema::SK)))
        .collect();
    let has = |pk: &str, sk: &str| present.contains(&(pk.to_owned(), sk.to_owned()));
    let org_pk = schema::org_pk(org);
    let keys: BTreeSet<String> = state.keys.iter().map(|k| schema::key_pk(&k.id)).collect();
    let mut key_items = BTreeSet::new();
    let mut secret_items = BTreeSet::new();
    for item in &items {
        let (pk, sk) = (text(item, schema::PK), text(item, schema::SK));
        let owner = format!("KEY#{}", text(item, schema::KEY_ID));
        if sk == schema::KEY_SK && text(item, schema::GSI1_PK) == org_pk {
            key_items.insert(pk);
        } else if sk == schema::STATS_SK || sk.starts_with(schema::USAGE_PREFIX) {
            assert!(
                has(&pk, schema::KEY_SK),
                "{what}: {sk} item without its key"
            );
        } else if sk == schema::SECRET_SK {
            assert!(
                has(&owner, schema::KEY_SK),
                "{what}: secret item without its key"
            );
            if keys.contains(&owner) {
                secret_items.insert(pk);
            }
        } else if sk.starts_with(schema::PERSONAL_KEY_PREFIX) {
            assert!(
                has(&owner, schema::KEY_SK),
                "{what}: marker without its key"
            );
        }
    }
    assert_eq!(key_items, keys, "{what}: key items are not the keys listed");
    for key in &state.keys {
        let pk = schema::key_pk(&key.id);
        assert!(has(&pk, schema::STATS_SK), "{what}: key {pk} without stats");
        if key.key_type == KeyType::Personal {
            let marker = schema::personal_key_sk(&key.created_by, &key.id);
            assert!(
                has(&org_pk, &marker),
                "{what}: personal key {pk} without its marker"
            );
        }
    }
    let listed: BTreeSet<String> = state.secrets.keys().map(schema::secret_pk).collect();
    assert_eq!(
        secret_items, listed,
        "{what}: secret items are not exactly the secrets the keys list"
    );
}

fn is_write(call: &str) -> bool {
    matches!(
        call,
        "TransactWriteItems"
            | "PutItem"
            | "UpdateItem"
            | "DeleteItem"
            | "BatchWriteItem"
            | "create_organization"
            | "update_organization"
            | "create_workspace"
            | "put_member"
            | "delete_member"
            | "change_member"
            | "create_key"
            | "update_key"
            | "spend_credits"
            | "touch_last_used"
            | "record_usage"
            | "append_audit"
    )
}

/// Which calls of a clean run get a fault, and which faults.
///
/// On the embedded store, every call. On DynamoDB, where each point costs
/// a round of requests to moto, the points that can leave something
/// behind: each write (refused: before it; its answer lost: after it) and
/// the call right after it; a failing read before the first write can
/// only stop the use case before it writes, and the reads after the one
/// right after the last write add nothing it does not show.
fn fault_points(rig: &Rig, calls: &[String]) -> Vec<(usize, Fault)> {
    let mut points = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let after_write = i > 0 && is_write(&calls[i - 1]);
        if rig.dynamo.is_some() && !is_write(call) && !after_write {
            continue;
        }
        points.push((i + 1, Fault::Refuse));
        if is_write(call) {
            points.push((i + 1, Fault::LoseAnswer));
        }
    }
    points
}

async fn read(rig: &Rig, ctx: &Ctx, what: &str) -> State {
    let state = State::read(rig.store.as_ref(), &ctx.org, &ctx.service).await;
    state.check_invariants(what);
    if let Some((table, _)) = &rig.dynamo {
        check_items(table, &ctx.org, &state, what).await;
    }
    state
}

/// Runs `op` under a fault at every point, on a fresh fixture each time.
async fn under_faults(rig: &Rig, op: Op) {
    let rig = &rig.renew().await;
    let ctx = setup(rig, op).await;
    let before = read(rig, &ctx, "clean run, before").await;
    let mark = rig.faults.mark();
    op.run(rig, &ctx).await.unwrap();
    let calls = rig.faults.calls_since(mark);
    let after = read(rig, &ctx, "clean run, after").await;
    assert!(
        op.is_new(&ctx, &before, &after),
        "{op:?}: the clean run did not reach the new state: {after:#?}"
    );
    let points = fault_points(rig, &calls);
    eprintln!(
        "{} {op:?}: {} calls {calls:?}; {} fault points",
        rig.backend,
        calls.len(),
        points.len()
    );
    for (nth, fault) in points {
        let what = format!(
            "{} {op:?}, {fault:?} from call {nth} ({})",
            rig.backend,
            calls[nth - 1]
        );
        let ctx = setup(rig, op).await;
        let before = read(rig, &ctx, &what).await;
        rig.faults.fail_from(nth, fault);
        let outcome = op.run(rig, &ctx).await;
        assert!(!rig.faults.failed().is_empty(), "{what}: no call failed");
        let probe = rig
            .keyplane
            .verify(VerifyKey::new(ApiKey::from_plaintext(
                ctx.service_key.clone(),
            )))
            .await;
        match probe {
            Err(err) => assert_eq!(err.kind, ErrorKind::Unavailable, "{what}: verify: {err:?}"),
            Ok(verdict) => panic!("{what}: verify answered {verdict:?} with the store down"),
        }
        rig.faults.heal();

        let state = read(rig, &ctx, &what).await;
        let new = op.is_new(&ctx, &before, &state);
        match &outcome {
            Ok(()) => assert!(new, "{what}: succeeded without reaching the new state"),
            Err(err) => {
                assert_eq!(err.kind, ErrorKind::Unavailable, "{what}: {err:?}");
                assert!(
                    new || state == before,
                    "{what}: half-written: neither the old nor the new state:\nbefore: {before:#?}\nafter: {state:#?}"
                );
            }
        }

        // The same request again, once the store is back, finishes the job.
        let retried = op.run(rig, &ctx).await;
        match retried {
            Ok(()) => {}
            Err(err) if new && err.kind != ErrorKind::Unavailable => {}
            Err(err) => panic!("{what}: the retry failed: {err:?}"),
        }
        let state = read(rig, &ctx, &what).await;
        assert!(
            op.is_new(&ctx, &before, &state),
            "{what}: the retry did not reach the new state: {state:#?}"
        );
    }
}

const ALL: [Op; 13] = [
    Op::CreateWorkspace,
    Op::UpdateOrganization,
    Op::AddMember,
    Op::DemoteMember,
    Op::RemoveMember,
    Op::CreateKey,
    Op::RollKey,
    Op::RevokeKey,
    Op::DisableKey,
    Op::ActivateKey,
    Op::ReportLeak,
    Op::ReportUsage,
    Op::SpendCredits,
];

#[tokio::test]
async fn embedded_store_every_multi_item_write_is_all_or_nothing() {
    let rig = Rig::embedded();
    for op in ALL {
        under_faults(&rig, op).await;
    }
}

async fn on_dynamo(test: &str, ops: &[Op]) {
    let Some(rig) = Rig::dynamo(test).await else {
        return;
    };
    for op in ops {
        under_faults(&rig, *op).await;
    }
}

#[tokio::test]
async fn dynamodb_key_writes_are_all_or_nothing() {
    on_dynamo(
        "dynamodb key writes under faults",
        &[
            Op::CreateKey,
            Op::RollKey,
            Op::RevokeKey,
            Op::DisableKey,
            Op::ActivateKey,
        ],
    )
    .await;
}

#[tokio::test]
async fn dynamodb_tenancy_writes_are_all_or_nothing() {
    on_dynamo(
        "dynamodb tenancy writes under faults",
        &[Op::CreateWorkspace, Op::UpdateOrganization],
    )
    .await;
}

#[tokio::test]
async fn dynamodb_member_changes_and_the_keys_they_disable_are_all_or_nothing() {
    on_dynamo(
        "dynamodb member changes under faults",
        &[Op::AddMember, Op::DemoteMember, Op::RemoveMember],
    )
    .await;
}

#[tokio::test]
async fn dynamodb_data_plane_writes_are_all_or_nothing() {
    on_dynamo(
        "dynamodb data-plane writes under faults",
        &[Op::ReportLeak, Op::ReportUsage, Op::SpendCredits],
    )
    .await;
}

/// Creating an organization under a fault at its one call (the
/// transaction, refused or applied with its answer lost): the table never
/// holds an organization without its `organization.create` event or the
/// event without the organization, and a retry creates one.
#[tokio::test]
async fn dynamodb_organization_create_is_all_or_nothing() {
    let Some(rig) = Rig::dynamo("dynamodb organization create under faults").await else {
        return;
    };
    let rig = rig.renew().await;
    let (table, _) = rig.dynamo.clone().unwrap();
    let create = || async {
        rig.keyplane
            .create_organization(
                &caller(ADMIN),
                CreateOrganization {
                    name: "Beta".into(),
                    key_quota: None,
                },
            )
            .await
    };
    let check = |what: String| {
        let table = table.clone();
        async move {
            let items = scan(&table).await;
            let orgs: BTreeSet<String> = items
                .iter()
                .filter(|item| text(item, schema::SK) == schema::ORG_SK)
                .map(|item| text(item, schema::PK))
                .collect();
            let created: BTreeSet<String> = items
                .iter()
                .filter(|item| text(item, schema::SK).starts_with(schema::AUDIT_PREFIX))
                .filter(|item| {
                    text(item, schema::DOC).contains(r#""action":"organization.create""#)
                })
                .map(|item| text(item, schema::PK))
                .collect();
            assert_eq!(
                orgs, created,
                "{what}: organizations and their creation events"
            );
            orgs.len()
        }
    };
    let mark = rig.faults.mark();
    create().await.unwrap();
    assert_eq!(rig.faults.calls_since(mark), ["TransactWriteItems"]);
    let mut orgs = check("clean run".into()).await;
    for fault in Fault::ALL {
        rig.faults.fail_from(1, fault);
        let err = create().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable, "{fault:?}: {err:?}");
        rig.faults.heal();
        let now = check(format!("{fault:?}")).await;
        assert_eq!(
            now,
            orgs + usize::from(fault == Fault::LoseAnswer),
            "{fault:?}"
        );
        create().await.unwrap();
        orgs = check(format!("{fault:?}, retried")).await;
        assert_eq!(orgs, now + 1);
    }
}

/// A member with more personal keys than one atomic write holds: the
/// keys beyond it are disabled first, each on its own, then the removal
/// with the rest. An outage at the removal's write leaves the membership
/// and only disabled extra keys (fail closed); the retry removes the
/// member with every key disabled.
#[tokio::test]
async fn removing_a_member_with_more_keys_than_one_write_holds_fails_closed() {
    let rig = Rig::embedded();
    let ctx = setup(&rig, Op::RemoveMember).await;
    rig.keyplane
        .update_organization(
            &caller(ADMIN),
            &ctx.org,
            UpdateOrganization {
                name: None,
                key_quota: Some(100),
            },
        )
        .await
        .unwrap();
    let mut personal = ctx.personal.clone();
    for _ in 0..38 {
        personal.push(
            created(&rig.keyplane, BOB, personal_org_key(&ctx.org))
                .await
                .0,
        );
    }
    rig.faults
        .fail_operation("change_member", 1, None, Fault::Refuse);
    let err = rig
        .keyplane
        .delete_member(&caller(ADMIN), &ctx.org, &principal(BOB))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    rig.faults.heal();
    let state = read(&rig, &ctx, "overflow, interrupted").await;
    assert!(state.member(BOB).is_some());
    let disabled = personal
        .iter()
        .filter(|id| state.key(id).status == KeyStatus::Disabled)
        .count();
    assert!(
        (1..personal.len()).contains(&disabled),
        "{disabled} of {} disabled before the removal's write",
        personal.len()
    );

    rig.keyplane
        .delete_member(&caller(ADMIN), &ctx.org, &principal(BOB))
        .await
        .unwrap();
    let state = read(&rig, &ctx, "overflow, retried").await;
    assert!(state.member(BOB).is_none());
    assert!(personal
        .iter()
        .all(|id| state.key(id).status == KeyStatus::Disabled));
}
