//! The verify cache's promise, with the clock under the test's control: two
//! instances of the use cases over one store, `cached` (the one under test)
//! and `elsewhere` (another server or Lambda container, no cache).
//!
//! - a change made elsewhere reaches `cached` within the staleness bound,
//!   and not before (so the cache really answers);
//! - `cached`'s own writes take effect at once;
//! - expiry and credits are never served stale;
//! - a zero bound turns the cache off.
//!
//! Last use of plain verifies: noted in memory, written by a flush at most
//! once per key per interval.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use keyplane_core::clock::Clock;
use keyplane_core::key_format::ApiKey;
use keyplane_core::service::{
    ActivateKey, CreateKey, CreatedKey, LastUseSettings, PatchKey, ReportLeak, VerifyCacheSettings,
    VerifyCode, VerifyKey,
};
use keyplane_core::Keyplane;
use keyplane_tests::{caller, workspace_key, World, ADMIN};

const TTL: Duration = Duration::from_secs(5);

fn cached(world: &World) -> Keyplane {
    world
        .keyplane
        .clone()
        .with_verify_cache(VerifyCacheSettings {
            ttl: TTL,
            capacity: 100,
        })
}

async fn code(keyplane: &Keyplane, key: &ApiKey) -> VerifyCode {
    verify(keyplane, key, None).await.0
}

async fn verify(keyplane: &Keyplane, key: &ApiKey, cost: Option<u64>) -> (VerifyCode, Option<u64>) {
    let verdict = keyplane
        .verify(VerifyKey {
            key: ApiKey::from_plaintext(key.expose()),
            permissions: Vec::new(),
            workspace_id: None,
            cost,
        })
        .await
        .expect("verify answers");
    (verdict.code, verdict.credits_remaining)
}

/// A world with one workspace key, its request shaped by `shape` (given
/// the clock's time).
async fn world_with_key(
    shape: impl FnOnce(CreateKey, DateTime<Utc>) -> CreateKey,
) -> (World, CreatedKey) {
    let world = World::new();
    let (org, ws) = world.org().await;
    let request = shape(workspace_key(&org, &ws), world.clock.now());
    let key = world.create(ADMIN, request).await.expect("create");
    (world, key)
}

fn ttl() -> Span {
    Span::from_std(TTL).expect("small")
}

#[tokio::test]
async fn a_revoke_made_elsewhere_takes_effect_within_the_bound() {
    let (world, key) = world_with_key(|request, _| request).await;
    let cached = cached(&world);
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Valid);

    let elsewhere = &world.keyplane;
    elsewhere
        .revoke_key(&caller(ADMIN), &key.view.id)
        .await
        .expect("revoke");
    assert_eq!(code(elsewhere, &key.key).await, VerifyCode::Revoked);

    // Within the bound the cached answer may stand: this one is cached.
    world.clock.advance(ttl() - Span::milliseconds(1));
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Valid);
    // At the bound it is gone, for good.
    world.clock.advance(Span::milliseconds(1));
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Revoked);
    world.clock.advance(ttl() * 3);
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Revoked);
}

#[tokio::test]
async fn own_revoke_disable_and_leak_report_take_effect_at_once() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let cached = cached(&world);
    let admin = caller(ADMIN);

    // A fresh key, its valid answer now cached.
    let cached_valid = || async {
        let created = world
            .create(ADMIN, workspace_key(&org, &ws))
            .await
            .expect("create");
        assert_eq!(code(&cached, &created.key).await, VerifyCode::Valid);
        created
    };

    let revoked = cached_valid().await;
    cached
        .revoke_key(&admin, &revoked.view.id)
        .await
        .expect("revoke");
    assert_eq!(code(&cached, &revoked.key).await, VerifyCode::Revoked);

    let disabled = cached_valid().await;
    let disable = PatchKey {
        enabled: Some(false),
        ..PatchKey::default()
    };
    cached
        .patch_key(&admin, &disabled.view.id, disable)
        .await
        .expect("disable");
    assert_eq!(code(&cached, &disabled.key).await, VerifyCode::Disabled);

    let leaked = cached_valid().await;
    let report = ReportLeak {
        key: ApiKey::from_plaintext(leaked.key.expose()),
        source: None,
    };
    cached.report_leak(report, None).await.expect("report");
    assert_eq!(code(&cached, &leaked.key).await, VerifyCode::Disabled);
}

#[tokio::test]
async fn a_pending_key_activated_elsewhere_verifies_within_the_bound() {
    let (world, key) = world_with_key(|request, _| CreateKey {
        activate: Some(false),
        ..request
    })
    .await;
    let cached = cached(&world);
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Pending);
    world
        .keyplane
        .activate_key(&caller(ADMIN), &key.view.id, ActivateKey::default())
        .await
        .expect("activate");
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Pending);
    world.clock.advance(ttl());
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Valid);
}

#[tokio::test]
async fn expiry_is_judged_on_every_verify_never_cached() {
    let (world, key) = world_with_key(|request, now| CreateKey {
        expires_at: Some(now + Span::seconds(1)),
        ..request
    })
    .await;
    let cached = cached(&world);
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Valid);
    world.clock.advance(Span::seconds(1));
    assert_eq!(code(&cached, &key.key).await, VerifyCode::Expired);
}

#[tokio::test]
async fn credits_stay_exact_through_the_cache() {
    let (world, key) = world_with_key(|request, _| CreateKey {
        credits: Some(2),
        ..request
    })
    .await;
    let cached = cached(&world);
    assert_eq!(
        verify(&cached, &key.key, Some(1)).await,
        (VerifyCode::Valid, Some(1))
    );
    // Spent elsewhere meanwhile: the cache must not hide it.
    assert_eq!(
        verify(&world.keyplane, &key.key, Some(1)).await,
        (VerifyCode::Valid, Some(0))
    );
    assert_eq!(
        verify(&cached, &key.key, Some(1)).await,
        (VerifyCode::UsageExceeded, None)
    );
}

#[tokio::test]
async fn a_zero_bound_turns_the_cache_off() {
    let (world, key) = world_with_key(|request, _| request).await;
    let uncached = world
        .keyplane
        .clone()
        .with_verify_cache(VerifyCacheSettings {
            ttl: Duration::ZERO,
            ..VerifyCacheSettings::default()
        });
    assert_eq!(code(&uncached, &key.key).await, VerifyCode::Valid);
    world
        .keyplane
        .revoke_key(&caller(ADMIN), &key.view.id)
        .await
        .expect("revoke");
    assert_eq!(code(&uncached, &key.key).await, VerifyCode::Revoked);
}

#[tokio::test]
async fn last_use_is_written_by_a_flush_at_most_once_per_interval() {
    let world = World::new();
    let (org, ws) = world.org().await;
    let key = world
        .create(ADMIN, workspace_key(&org, &ws))
        .await
        .expect("create");
    let other = world
        .create(ADMIN, workspace_key(&org, &ws))
        .await
        .expect("create");
    let noting = world.keyplane.clone().with_last_use(LastUseSettings {
        interval: Duration::from_secs(60),
        capacity: 100,
    });
    let last_used = |id| {
        let world = world.clone();
        async move {
            world
                .keyplane
                .get_key(&caller(ADMIN), &id)
                .await
                .expect("get")
                .last_used_at
        }
    };

    let first_use = world.clock.now();
    for _ in 0..3 {
        assert_eq!(code(&noting, &key.key).await, VerifyCode::Valid);
    }
    // Nothing is written on the request path.
    assert_eq!(last_used(key.view.id.clone()).await, None);
    let flushed = noting.flush_last_used_if_due().await;
    assert_eq!(flushed.written, 1);
    assert_eq!(last_used(key.view.id.clone()).await, Some(first_use));

    // Within the interval, further uses wait for the next flush.
    world.clock.advance(Span::seconds(10));
    assert_eq!(code(&noting, &key.key).await, VerifyCode::Valid);
    assert_eq!(code(&noting, &other.key).await, VerifyCode::Valid);
    assert_eq!(noting.flush_last_used_if_due().await.written, 0);
    assert_eq!(last_used(key.view.id.clone()).await, Some(first_use));

    world.clock.advance(Span::seconds(50));
    let second_use = world.clock.now() - Span::seconds(50);
    assert_eq!(noting.flush_last_used_if_due().await.written, 2);
    assert_eq!(last_used(key.view.id.clone()).await, Some(second_use));
    assert_eq!(last_used(other.view.id.clone()).await, Some(second_use));

    // A refused key is not a use.
    noting
        .revoke_key(&caller(ADMIN), &other.view.id)
        .await
        .expect("revoke");
    world.clock.advance(Span::seconds(60));
    assert_eq!(code(&noting, &other.key).await, VerifyCode::Revoked);
    assert_eq!(noting.flush_last_used().await.written, 0);
    assert_eq!(last_used(other.view.id).await, Some(second_use));
}
