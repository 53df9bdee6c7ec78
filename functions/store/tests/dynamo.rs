//! The DynamoDB store against the whole conformance suite, each case on a
//! fresh table of the moto emulator. Without moto the cases are skipped
//! (see `keyplane_store::dynamo::testing`).

use keyplane_store::dynamo::testing::moto_store;

keyplane_store::conformance_tests!(guarded match moto_store("dynamo conformance").await {
    Some(store) => (store, ()),
    None => return,
});
