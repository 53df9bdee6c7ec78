//! The conformance suite every [`KeyStore`] adapter must pass.
//!
//! Written once against the trait, so the embedded store and the DynamoDB
//! store are held to exactly the same contract, concurrency included. Each
//! case is a plain `async fn` taking a fresh, empty store; the
//! [`conformance_tests!`](crate::conformance_tests) macro turns every case
//! into its own named `#[tokio::test]`:
//!
//! ```ignore
//! mod in_memory {
//!     keyplane_store::conformance_tests!(EmbeddedStore::in_memory().expect("opens"));
//! }
//! mod file_backed {
//!     // `guarded`: the expression yields (store, guard); the guard (here a
//!     // temporary directory) lives as long as the test.
//!     keyplane_store::conformance_tests!(guarded file_store());
//! }
//! ```
//!
//! The expression is evaluated inside the async test, so it may `.await`.
//! The calling crate needs `tokio` (with `macros` and `rt-multi-thread`):
//! the cases run on a multi-threaded runtime so that the concurrency cases
//! really race.
//!
//! [`KeyStore`]: keyplane_core::store::KeyStore

pub mod fixtures;

mod audit;
mod claims;
mod credits;
mod fences;
mod keys;
mod listing;
mod quota;
mod tenancy;
mod updates;
mod usage;

pub use audit::*;
pub use claims::*;
pub use credits::*;
pub use fences::*;
pub use keys::*;
pub use listing::*;
pub use quota::*;
pub use tenancy::*;
pub use updates::*;
pub use usage::*;

/// Expands into one `#[tokio::test]` per conformance case, each on a fresh
/// store made by the given expression. See the [module docs](crate::conformance).
#[macro_export]
macro_rules! conformance_tests {
    (guarded $fixture:expr) => {
        $crate::conformance_tests!(@cases [$fixture] [
            organization_create_get_update,
            organization_duplicate_is_already_exists,
            organization_missing_is_not_found,
            workspaces_create_get_list,
            workspace_needs_its_organization,
            members_put_get_list_delete,
            member_needs_its_organization,
            key_round_trip,
            key_needs_its_organization,
            key_id_and_hash_are_unique,
            idempotent_create_replays_first_record,
            expired_idempotency_record_is_replaced,
            quota_holds_under_concurrent_creates,
            release_quota_frees_a_slot,
            update_of_missing_key_is_not_found,
            stale_version_is_a_conflict,
            concurrent_updates_have_one_winner,
            roll_keeps_both_secrets_until_deleted,
            revoke_rewrites_snapshots,
            update_leaves_credits_and_last_use_alone,
            credits_never_go_below_zero_under_concurrency,
            exhausted_spend_changes_nothing,
            spend_needs_a_metered_key,
            usage_counters_add_up,
            usage_query_bounds_are_inclusive,
            usage_needs_the_key,
            last_use_flush_touches_existing_keys_only,
            keys_page_newest_first,
            keys_filter_by_workspace_status_and_creator,
            keys_stay_in_their_organization,
            malformed_cursor_is_not_found,
            audit_pages_newest_first,
            fenced_create_needs_the_membership_unchanged,
            fenced_update_needs_the_membership_unchanged,
            personal_keys_outlive_the_membership,
            member_change_is_atomic_with_its_keys,
            idempotent_update_replays_first_record,
            leak_marks_are_stored,
            a_request_is_claimed_once_until_its_claim_expires,
            a_released_request_can_be_claimed_again,
            concurrent_claims_have_one_winner,
        ]);
    };
    (@cases [$fixture:expr] [$($case:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, _guard) = $fixture;
                $crate::conformance::$case(store).await;
            }
        )*
    };
    ($store:expr) => {
        $crate::conformance_tests!(guarded ($store, ()));
    };
}
