//! When injected faults strike: the switch shared by the fault proxy in
//! front of moto ([`crate::fault_proxy`]) and the failing decorator of the
//! embedded store ([`crate::faulty_store`]).
//!
//! Both count the calls they see (HTTP requests by operation, or store
//! methods by name). Armed, they fail the calls from a chosen one on: an
//! outage that starts at that call and lasts until [`Injector::heal`].
//! The first failing call either never happens ([`Fault::Refuse`]) or
//! happens with its answer lost ([`Fault::LoseAnswer`]); every call after
//! it is refused.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How the first failing call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refused before it reaches the backend: nothing was written.
    Refuse,
    /// Applied by the backend, then answered with a failure: the write
    /// happened but the caller cannot know it.
    LoseAnswer,
}

impl Fault {
    /// Both kinds.
    pub const ALL: [Self; 2] = [Self::Refuse, Self::LoseAnswer];
}

/// What to do with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let it through.
    Forward,
    /// Fail it without letting it through.
    Refuse,
    /// Let it through, then fail it.
    ForwardThenFail,
}

#[derive(Debug, Clone)]
struct Plan {
    /// Only calls of this operation count and fail (`None`: every call).
    operation: Option<String>,
    /// Matching calls still to let through before the first failure.
    skip: usize,
    /// Matching calls still to fail (`None`: until healed).
    remaining: Option<usize>,
    fault: Fault,
    /// The first failing call has been decided.
    started: bool,
}

#[derive(Debug, Default)]
struct Shared {
    calls: Vec<String>,
    failed: Vec<String>,
    plan: Option<Plan>,
}

/// The switch: counts calls and decides which fail. Cheap to clone;
/// clones share their state.
#[derive(Debug, Clone, Default)]
pub struct Injector(Arc<Mutex<Shared>>);

impl Injector {
    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a call of `operation` and decides its fate.
    pub fn decide(&self, operation: &str) -> Decision {
        let mut shared = self.shared();
        shared.calls.push(operation.to_owned());
        let Some(plan) = shared.plan.as_mut() else {
            return Decision::Forward;
        };
        if plan.operation.as_deref().is_some_and(|op| op != operation) {
            return Decision::Forward;
        }
        if plan.skip > 0 {
            plan.skip -= 1;
            return Decision::Forward;
        }
        match plan.remaining.as_mut() {
            Some(0) => return Decision::Forward,
            Some(left) => *left -= 1,
            None => {}
        }
        let lose = plan.fault == Fault::LoseAnswer && !plan.started;
        plan.started = true;
        shared.failed.push(operation.to_owned());
        if lose {
            Decision::ForwardThenFail
        } else {
            Decision::Refuse
        }
    }

    /// How many calls were seen so far: a mark for [`Injector::calls_since`].
    pub fn mark(&self) -> usize {
        self.shared().calls.len()
    }

    /// The operations seen since `mark`, in order.
    pub fn calls_since(&self, mark: usize) -> Vec<String> {
        self.shared().calls.get(mark..).unwrap_or_default().to_vec()
    }

    /// The calls failed on purpose since the last arming.
    pub fn failed(&self) -> Vec<String> {
        self.shared().failed.clone()
    }

    /// From the `nth` call from now on (1-based), every call fails until
    /// [`heal`](Self::heal).
    pub fn fail_from(&self, nth: usize, fault: Fault) {
        self.arm(None, nth, None, fault);
    }

    /// The `nth` call of `operation` from now on (1-based) and the
    /// `times - 1` calls of it after that fail (`None`: until healed);
    /// other calls go through.
    pub fn fail_operation(&self, operation: &str, nth: usize, times: Option<usize>, fault: Fault) {
        self.arm(Some(operation.to_owned()), nth, times, fault);
    }

    fn arm(&self, operation: Option<String>, nth: usize, remaining: Option<usize>, fault: Fault) {
        assert!(nth >= 1, "calls are counted from 1");
        let mut shared = self.shared();
        shared.failed.clear();
        shared.plan = Some(Plan {
            operation,
            skip: nth - 1,
            remaining,
            fault,
            started: false,
        });
    }

    /// Ends the fault: every call goes through again.
    pub fn heal(&self) {
        self.shared().plan = None;
    }
}
