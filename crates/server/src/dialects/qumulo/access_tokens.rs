//! `/v1/auth/access-tokens/`: what `qq auth_create_access_token`, `auth_list_access_tokens`,
//! `auth_get_access_token`, `auth_modify_access_token` and `auth_delete_access_token` send.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use sessiond_core::model::{AccessToken, AccessTokenFilter, UserId};
use sessiond_core::service::UserKey;
use sessiond_core::Core;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::identity::{self, IdentityIn, IdentityOut};
use super::Qumulo;
use super::{QResult, QumuloError};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::state::AppState;

#[derive(Serialize)]
pub struct Meta {
    id: String,
    user: IdentityOut,
    creator: IdentityOut,
    creation_time: String,
    expiration_time: Option<String>,
    enabled: bool,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Python's `isoformat()` (`+00:00`, optional microseconds) and `Z` are both accepted.
fn parse_time(s: &str) -> QResult<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        QumuloError::bad_request(format!(
            "expiration_time {s:?} is not an ISO 8601 time with a zone, like 2030-01-20T12:00:00Z"
        ))
    })
}

async fn metas(core: &Core, tokens: &[AccessToken]) -> QResult<Vec<Meta>> {
    let mut who: HashMap<UserId, IdentityOut> = HashMap::new();
    for id in tokens.iter().flat_map(|t| [t.user_id, t.creator_id]) {
        if let std::collections::hash_map::Entry::Vacant(slot) = who.entry(id) {
            let ident = match core.find_user(&UserKey::Id(id)).await? {
                Some(u) => IdentityOut::user(&u),
                None => IdentityOut::unknown(id),
            };
            slot.insert(ident);
        }
    }
    Ok(tokens
        .iter()
        .map(|t| Meta {
            id: t.id.clone(),
            user: who[&t.user_id].clone(),
            creator: who[&t.creator_id].clone(),
            creation_time: rfc3339(t.creation_time),
            expiration_time: t.expiration_time.map(rfc3339),
            enabled: t.enabled,
        })
        .collect())
}

async fn resolve(core: &Core, ident: &IdentityIn) -> QResult<UserId> {
    core.find_user(&ident.user_key()?)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| QumuloError::not_found("no such local user"))
}

#[derive(Deserialize)]
pub struct CreateRequest {
    user: IdentityIn,
    #[serde(default)]
    expiration_time: Option<String>,
}

#[derive(Serialize)]
pub struct Created {
    id: String,
    bearer_token: String,
}

pub async fn create(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiJson(req, _): ApiJson<CreateRequest, Qumulo>,
) -> QResult<Json<Created>> {
    let user = resolve(&s.core, &req.user).await?;
    let expiration = req.expiration_time.as_deref().map(parse_time).transpose()?;
    let (token, secret) = s.core.create_access_token(&p, user, expiration).await?;
    Ok(Json(Created {
        id: token.id,
        bearer_token: secret.expose().to_owned(),
    }))
}

#[derive(Deserialize)]
pub struct ListQuery {
    user: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct Paging {
    next: Option<String>,
}

#[derive(Serialize)]
pub struct Page {
    entries: Vec<Meta>,
    paging: Paging,
}

/// Keyset paging: `paging.next` is the path of the next page and repeats the filter and
/// the limit (`qq` follows it as it is); `null` on the last page.
pub async fn list(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiQuery(q, _): ApiQuery<ListQuery, Qumulo>,
) -> QResult<Json<Page>> {
    let user_id = match q.user.as_deref() {
        Some(u) => Some(resolve(&s.core, &identity::parse(u)?).await?),
        None => None,
    };
    let limit = q.limit.unwrap_or(s.cfg.page_size).clamp(1, 1000);
    let mut tokens = s
        .core
        .list_access_tokens(
            &p,
            &AccessTokenFilter {
                user_id,
                after: q.after.clone(),
                limit: limit + 1,
            },
        )
        .await?;
    let more = tokens.len() > limit as usize;
    tokens.truncate(limit as usize);
    let next = match (more, tokens.last()) {
        (true, Some(last)) => {
            let mut params = vec![];
            if let Some(u) = &q.user {
                params.push(("user", u.clone()));
            }
            params.push(("after", last.id.clone()));
            params.push(("limit", limit.to_string()));
            let query = serde_urlencoded::to_string(&params).unwrap_or_default();
            Some(format!("/v1/auth/access-tokens/?{query}"))
        }
        _ => None,
    };
    Ok(Json(Page {
        entries: metas(&s.core, &tokens).await?,
        paging: Paging { next },
    }))
}

pub async fn get(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiPath(id, _): ApiPath<String, Qumulo>,
) -> QResult<Json<Meta>> {
    let t = s.core.get_access_token(&p, &id).await?;
    Ok(Json(metas(&s.core, &[t]).await?.remove(0)))
}

/// Absent: keep; `null`: clear; a value: set.
fn some_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Deserialize)]
pub struct ModifyRequest {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "some_or_null")]
    expiration_time: Option<Option<String>>,
}

pub async fn modify(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiPath(id, _): ApiPath<String, Qumulo>,
    ApiJson(req, _): ApiJson<ModifyRequest, Qumulo>,
) -> QResult<Json<Meta>> {
    let expiration = match req.expiration_time {
        None => None,
        Some(None) => Some(None),
        Some(Some(t)) => Some(Some(parse_time(&t)?)),
    };
    let t = s
        .core
        .modify_access_token(&p, &id, req.enabled, expiration)
        .await?;
    Ok(Json(metas(&s.core, &[t]).await?.remove(0)))
}

/// 200 with an empty body, as Qumulo answers.
pub async fn delete(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiPath(id, _): ApiPath<String, Qumulo>,
) -> QResult<()> {
    s.core.delete_access_token(&p, &id).await?;
    Ok(())
}
