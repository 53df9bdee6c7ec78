//! Organizations, workspaces and members.

use http::Method;
use keyplane_api::id::OrgId;
use keyplane_api::principal::Principal;
use keyplane_api::tenancy::{
    CreateOrganization, CreateWorkspace, Items, Member, Organization, PutMember,
    UpdateOrganization, Workspace,
};

use crate::client::{segment, Call};
use crate::{Client, Error};

impl Client {
    /// `POST /v1/organizations` (platform admins). Not retried after a
    /// timeout or 5xx: a repeat would create a second organization.
    pub async fn create_organization(
        &self,
        req: &CreateOrganization,
    ) -> Result<Organization, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/organizations",
            "/v1/organizations".to_owned(),
        );
        self.send(call.json(req)?.once()).await?.json()
    }

    /// `GET /v1/organizations/{org}` (members).
    pub async fn get_organization(&self, org: &OrgId) -> Result<Organization, Error> {
        let call = Call::new(Method::GET, "/v1/organizations/{org}", org_path(org));
        self.send(call).await?.json()
    }

    /// `PATCH /v1/organizations/{org}`: rename (owners) or set the key
    /// quota (platform admins).
    pub async fn update_organization(
        &self,
        org: &OrgId,
        req: &UpdateOrganization,
    ) -> Result<Organization, Error> {
        let call = Call::new(Method::PATCH, "/v1/organizations/{org}", org_path(org));
        self.send(call.json(req)?).await?.json()
    }

    /// `POST /v1/organizations/{org}/workspaces` (owners). Not retried
    /// after a timeout or 5xx: a repeat would create a second workspace.
    pub async fn create_workspace(
        &self,
        org: &OrgId,
        req: &CreateWorkspace,
    ) -> Result<Workspace, Error> {
        let call = Call::new(
            Method::POST,
            "/v1/organizations/{org}/workspaces",
            format!("{}/workspaces", org_path(org)),
        );
        self.send(call.json(req)?.once()).await?.json()
    }

    /// `GET /v1/organizations/{org}/workspaces` (members): all of them.
    pub async fn list_workspaces(&self, org: &OrgId) -> Result<Items<Workspace>, Error> {
        let call = Call::new(
            Method::GET,
            "/v1/organizations/{org}/workspaces",
            format!("{}/workspaces", org_path(org)),
        );
        self.send(call).await?.json()
    }

    /// `PUT /v1/organizations/{org}/members/{principal}` (owners): sets the
    /// member's roles and permissions.
    pub async fn put_member(
        &self,
        org: &OrgId,
        principal: &Principal,
        req: &PutMember,
    ) -> Result<Member, Error> {
        let call = Call::new(
            Method::PUT,
            "/v1/organizations/{org}/members/{principal}",
            member_path(org, principal),
        );
        self.send(call.json(req)?).await?.json()
    }

    /// `GET /v1/organizations/{org}/members` (owners).
    pub async fn list_members(&self, org: &OrgId) -> Result<Items<Member>, Error> {
        let call = Call::new(
            Method::GET,
            "/v1/organizations/{org}/members",
            format!("{}/members", org_path(org)),
        );
        self.send(call).await?.json()
    }

    /// `DELETE /v1/organizations/{org}/members/{principal}` (owners); the
    /// member's personal keys are disabled before this returns.
    ///
    /// Retried like a read: a repeat finishes an interrupted removal. When
    /// a retry after a lost answer finds the member already gone
    /// (`MEMBER_NOT_FOUND`), the earlier attempt did the job and this
    /// returns `Ok`.
    pub async fn remove_member(&self, org: &OrgId, principal: &Principal) -> Result<(), Error> {
        let call = Call::new(
            Method::DELETE,
            "/v1/organizations/{org}/members/{principal}",
            member_path(org, principal),
        );
        match self.send(call).await {
            Ok(_) => Ok(()),
            Err(Error::Api(err))
                if err.after_lost_attempt() && err.code() == "MEMBER_NOT_FOUND" =>
            {
                Ok(())
            }
            Err(err) => Err(err),
        }
    }
}

pub(crate) fn org_path(org: &OrgId) -> String {
    format!("/v1/organizations/{}", segment(org.as_str()))
}

fn member_path(org: &OrgId, principal: &Principal) -> String {
    format!("{}/members/{}", org_path(org), segment(principal.as_str()))
}
