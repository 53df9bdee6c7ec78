//! A property over the whole policy, through the use cases: for random
//! members (organization roles, workspace roles, permission patterns), random
//! keys and random actions, no action answers with a plaintext or leaves a
//! key wider than before unless the acting principal could have created that
//! exact key. The oracle below is written from the rules as the README
//! states them, independently of `keyplane_core::policy`.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use keyplane_core::id::{KeyId, OrgId, WorkspaceId};
use keyplane_core::key::{KeyRole, KeyType};
use keyplane_core::service::{
    CreateKey, CreateOutcome, KeyView, PatchKey, RollKey, RollOutcome, ScopeKind,
};
use keyplane_core::tenancy::{OrgRole, WorkspaceRole};
use keyplane_tests::{caller, World, ADMIN};
use proptest::prelude::*;

const PEOPLE: [&str; 3] = [
    "arn:aws:iam::333333333333:user/ann",
    "arn:aws:iam::333333333333:user/ben",
    "arn:aws:iam::333333333333:user/cat",
];
const PATTERNS: [&str; 5] = ["*", "models:*", "models:small", "models:big", "files:read"];

/// A member as the test draws it.
#[derive(Debug, Clone)]
struct Person {
    owner: bool,
    /// Role in workspace 0 and 1: none, viewer, editor.
    roles: [Option<WorkspaceRole>; 2],
    permissions: Vec<&'static str>,
}

/// Where a key reaches: workspace 0, workspace 1, both (chosen), or all.
#[derive(Debug, Clone, Copy)]
enum Reach {
    One(usize),
    Both,
    All,
}

#[derive(Debug, Clone)]
struct Grant {
    reach: Reach,
    personal: bool,
    pending: bool,
    role: KeyRole,
    permissions: Vec<&'static str>,
}

#[derive(Debug, Clone)]
enum Action {
    Create(Grant),
    Roll,
    Patch {
        role: Option<KeyRole>,
        permissions: Option<Vec<&'static str>>,
        enabled: Option<bool>,
        extend: bool,
    },
    Activate,
}

/// Who acts: a person, or the platform admin.
type Actor = Option<usize>;

fn role() -> impl Strategy<Value = KeyRole> {
    prop_oneof![
        Just(KeyRole::Viewer),
        Just(KeyRole::Editor),
        Just(KeyRole::Owner)
    ]
}

fn patterns() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(PATTERNS.to_vec(), 0..=3)
}

fn person() -> impl Strategy<Value = Person> {
    let ws_role = prop_oneof![
        Just(None),
        Just(Some(WorkspaceRole::Viewer)),
        Just(Some(WorkspaceRole::Editor))
    ];
    (any::<bool>(), [ws_role.clone(), ws_role], patterns()).prop_map(
        |(owner, roles, permissions)| Person {
            owner,
            roles,
            permissions,
        },
    )
}

fn grant() -> impl Strategy<Value = Grant> {
    let reach = prop_oneof![
        (0..2usize).prop_map(Reach::One),
        Just(Reach::Both),
        Just(Reach::All)
    ];
    (reach, any::<bool>(), any::<bool>(), role(), patterns()).prop_map(
        |(reach, personal, pending, role, permissions)| Grant {
            reach,
            personal,
            pending,
            role,
            permissions,
        },
    )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        grant().prop_map(Action::Create),
        Just(Action::Roll),
        (
            proptest::option::of(role()),
            proptest::option::of(patterns()),
            proptest::option::of(any::<bool>()),
            any::<bool>()
        )
            .prop_map(|(role, permissions, enabled, extend)| Action::Patch {
                role,
                permissions,
                enabled,
                extend
            }),
        Just(Action::Activate),
    ]
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![1 => Just(None), 4 => (0..PEOPLE.len()).prop_map(Some)]
}

/// Does `pattern` grant `wanted` (a concrete or wildcard permission)?
fn grants(pattern: &str, wanted: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => wanted.starts_with(prefix),
        None => pattern == wanted,
    }
}

fn covered(held: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| held.iter().any(|h| grants(h, w)))
}

/// The oracle: could `person` create `key` (by its scope, role,
/// permissions and creator)?
fn could_create(person: &Person, arn: &str, key: &KeyView, ws: &[WorkspaceId; 2]) -> bool {
    let reached: Vec<usize> = match &key.scope {
        keyplane_core::key::KeyScope::Workspace { workspace_id } => {
            vec![ws.iter().position(|w| w == workspace_id).unwrap()]
        }
        keyplane_core::key::KeyScope::Workspaces { workspace_ids } => workspace_ids
            .iter()
            .map(|id| ws.iter().position(|w| w == id).unwrap())
            .collect(),
        keyplane_core::key::KeyScope::Organization => Vec::new(),
    };
    let is_workspace_key = matches!(key.scope, keyplane_core::key::KeyScope::Workspace { .. });
    let (manages, held) = if person.owner {
        (true, KeyRole::Owner)
    } else if !is_workspace_key {
        (false, KeyRole::Viewer)
    } else {
        match person.roles[reached[0]] {
            Some(WorkspaceRole::Editor) => (true, KeyRole::Editor),
            _ => (false, KeyRole::Viewer),
        }
    };
    let held_permissions: Vec<String> = person.permissions.iter().map(|p| p.to_string()).collect();
    manages
        && held >= key.role
        && covered(&held_permissions, &key.permissions)
        && (key.key_type != KeyType::Personal || key.created_by.as_str() == arn)
}

/// Is `after` wider than `before`?
fn wider(before: &KeyView, after: &KeyView) -> bool {
    use keyplane_core::key::DisplayStatus::Active;
    let later = match (before.expires_at, after.expires_at) {
        (Some(old), Some(new)) => new > old,
        (Some(_), None) => true,
        (None, _) => false,
    };
    after.role > before.role
        || !covered(&before.permissions, &after.permissions)
        || later
        || (after.status == Active && before.status != Active)
}

struct Scenario {
    world: World,
    org: OrgId,
    ws: [WorkspaceId; 2],
    people: Vec<Person>,
    keys: Vec<KeyId>,
}

impl Scenario {
    async fn new(people: Vec<Person>) -> Self {
        let world = World::new();
        let (org, first) = world.org().await;
        let second = world.workspace(&org, "staging").await;
        let ws = [first, second];
        for (person, arn) in people.iter().zip(PEOPLE) {
            let roles: Vec<(&WorkspaceId, WorkspaceRole)> = person
                .roles
                .iter()
                .zip(&ws)
                .filter_map(|(role, id)| role.map(|r| (id, r)))
                .collect();
            let org_role = if person.owner {
                OrgRole::Owner
            } else {
                OrgRole::Member
            };
            let permissions = person.permissions.iter().map(|p| p.to_string()).collect();
            world
                .member(&org, arn, org_role, &roles, Some(permissions))
                .await
                .unwrap();
        }
        Self {
            world,
            org,
            ws,
            people,
            keys: Vec::new(),
        }
    }

    fn request(&self, grant: &Grant) -> CreateKey {
        let (scope, workspace_id, workspace_ids) = match grant.reach {
            Reach::One(i) => (ScopeKind::Workspace, Some(self.ws[i].clone()), None),
            Reach::Both => (
                ScopeKind::Organization,
                None,
                Some(self.ws.iter().cloned().collect::<BTreeSet<_>>()),
            ),
            Reach::All => (ScopeKind::Organization, None, None),
        };
        CreateKey {
            organization_id: self.org.clone(),
            scope,
            workspace_id,
            workspace_ids,
            key_type: if grant.personal {
                KeyType::Personal
            } else {
                KeyType::Service
            },
            name: None,
            role: grant.role,
            permissions: grant.permissions.iter().map(|p| p.to_string()).collect(),
            expires_at: Some(self.world.clock_now() + Duration::days(1)),
            credits: None,
            metadata: BTreeMap::new(),
            activate: Some(!grant.pending),
        }
    }

    async fn view(&self, id: &KeyId) -> KeyView {
        self.world
            .keyplane
            .get_key(&caller(ADMIN), id)
            .await
            .unwrap()
    }

    /// May the actor have done this to `key`: the oracle, or an admin
    /// acting on anything but someone else's personal key.
    fn allowed(&self, actor: Actor, key: &KeyView) -> bool {
        match actor {
            None => key.key_type != KeyType::Personal || key.created_by.as_str() == ADMIN,
            Some(i) => could_create(&self.people[i], PEOPLE[i], key, &self.ws),
        }
    }

    /// Runs one action and checks the property.
    async fn act(
        &mut self,
        actor: Actor,
        action: &Action,
        pick: usize,
    ) -> Result<(), TestCaseError> {
        let arn = actor.map_or(ADMIN, |i| PEOPLE[i]);
        let who = caller(arn);
        let target = (!self.keys.is_empty()).then(|| self.keys[pick % self.keys.len()].clone());
        match (action, target) {
            (Action::Create(grant), _) => {
                let outcome = self
                    .world
                    .keyplane
                    .create_key(&who, self.request(grant), None)
                    .await;
                if let Ok(CreateOutcome::Created(created)) = outcome {
                    prop_assert!(
                        self.allowed(actor, &created.view),
                        "{arn} minted {:?}",
                        created.view
                    );
                    self.keys.push(created.view.id);
                }
            }
            (Action::Roll, Some(id)) => {
                let before = self.view(&id).await;
                let rolled = self
                    .world
                    .keyplane
                    .roll_key(&who, &id, RollKey::default(), None)
                    .await;
                if let Ok(RollOutcome::Rolled(_)) = rolled {
                    prop_assert!(self.allowed(actor, &before), "{arn} rolled {before:?}");
                }
            }
            (
                Action::Patch {
                    role,
                    permissions,
                    enabled,
                    extend,
                },
                Some(id),
            ) => {
                let before = self.view(&id).await;
                let patch = PatchKey {
                    role: *role,
                    permissions: permissions
                        .as_ref()
                        .map(|ps| ps.iter().map(|p| p.to_string()).collect()),
                    enabled: *enabled,
                    expires_at: extend.then(|| Some(self.world.clock_now() + Duration::days(30))),
                    ..PatchKey::default()
                };
                if self
                    .world
                    .keyplane
                    .patch_key(&who, &id, patch)
                    .await
                    .is_ok()
                {
                    let after = self.view(&id).await;
                    if wider(&before, &after) {
                        prop_assert!(
                            self.allowed(actor, &after),
                            "{arn} widened {before:?} into {after:?}"
                        );
                    }
                }
            }
            (Action::Activate, Some(id)) => {
                let before = self.view(&id).await;
                if self
                    .world
                    .keyplane
                    .activate_key(&who, &id, Default::default())
                    .await
                    .is_ok()
                {
                    let after = self.view(&id).await;
                    if wider(&before, &after) {
                        prop_assert!(self.allowed(actor, &after), "{arn} activated {after:?}");
                    }
                }
            }
            (_, None) => {}
        }
        // Identical requests in one second are one request; move on.
        self.world.clock.advance(Duration::seconds(1));
        Ok(())
    }
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for World {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use keyplane_core::clock::Clock;
        self.clock.now()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_action_hands_out_or_widens_beyond_the_actor(
        people in proptest::collection::vec(person(), PEOPLE.len()),
        seeds in proptest::collection::vec(grant(), 1..4),
        steps in proptest::collection::vec((actor(), action(), any::<usize>()), 1..12),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut scenario = Scenario::new(people).await;
            // Keys to act on: created by the admin and, where they may, by
            // the people (their personal keys act as them).
            for (i, seed) in seeds.iter().enumerate() {
                let creator = if i == 0 { None } else { Some(i % PEOPLE.len()) };
                scenario.act(creator, &Action::Create(seed.clone()), 0).await?;
            }
            for (actor, action, pick) in &steps {
                scenario.act(*actor, action, *pick).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
