//! Loading a caller's standing in an organization, and building audit events.

use crate::audit::{AuditEvent, AUDIT_RETENTION};
use crate::id::{EventId, OrgId};
use crate::policy::Standing;
use crate::principal::Principal;
use crate::store::MemberFence;
use crate::tenancy::{Membership, Organization};
use crate::Error;

use super::{Caller, Keyplane};

/// An organization and the caller's place in it.
#[derive(Debug)]
pub(crate) struct Access {
    pub org: Organization,
    member: Option<Membership>,
    admin: bool,
}

impl Access {
    pub fn standing(&self) -> Standing<'_> {
        if self.admin {
            Standing::Admin
        } else if let Some(member) = &self.member {
            Standing::Member(member)
        } else {
            Standing::Outsider
        }
    }

    /// The fence a minting or widening write carries: the membership as
    /// this decision saw it. Platform admins are configured, not stored,
    /// and need none.
    pub fn fence(&self) -> Option<MemberFence> {
        if self.admin {
            return None;
        }
        self.member.as_ref().map(|m| MemberFence {
            organization_id: m.organization_id.clone(),
            principal: m.principal.clone(),
            version: m.version,
        })
    }
}

impl Keyplane {
    pub(crate) fn is_admin(&self, principal: &Principal) -> bool {
        self.config.admins.contains(principal)
    }

    /// Loads `org` and the caller's membership. Outsiders get the same
    /// `ORGANIZATION_NOT_FOUND` as for a missing organization, so ids of
    /// other tenants cannot be probed.
    pub(crate) async fn access(&self, principal: &Principal, org: &OrgId) -> Result<Access, Error> {
        let not_found = || Error::not_found("ORGANIZATION_NOT_FOUND", "organization", org.as_str());
        let organization = self
            .store
            .get_organization(org)
            .await?
            .ok_or_else(not_found)?;
        let admin = self.is_admin(principal);
        let member = self.store.get_member(org, principal).await?;
        if !admin && member.is_none() {
            return Err(not_found());
        }
        Ok(Access {
            org: organization,
            member,
            admin,
        })
    }

    pub(crate) fn audit_event(
        &self,
        caller: &Caller,
        org: &OrgId,
        action: &str,
        target: &str,
    ) -> AuditEvent {
        self.audit_event_by(
            caller.principal.as_str(),
            caller.source.clone(),
            caller.request_id.clone(),
            org,
            action,
            target,
        )
    }

    pub(crate) fn audit_event_by(
        &self,
        actor: &str,
        source: Option<String>,
        request_id: Option<String>,
        org: &OrgId,
        action: &str,
        target: &str,
    ) -> AuditEvent {
        let at = self.clock.now();
        AuditEvent {
            id: EventId::generate(),
            organization_id: org.clone(),
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            source: source.map(|s| crate::validate::printable_long(&s)),
            // Every host (the Router, Lambda, tests) hands us its request
            // id; whatever it is, only a plain, key-free one is stored.
            request_id: request_id.and_then(|id| crate::validate::request_id(&id)),
            ttl: (at + AUDIT_RETENTION).timestamp(),
        }
    }
}
