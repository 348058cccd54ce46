//! `/api/v2.0/auth/tokens` — guide 0000-01 (and `DELETE` to revoke).
//!
//! `POST {"authorization": base64("user:password")}` returns a credential to
//! send as `Authorization: <credential>`. Any failure — bad JSON shape, bad
//! base64, unknown user, wrong password — is the same 400/40000, whose
//! message never contains the secret.

use crate::api::{Reply, Req};
use crate::app::App;
use serde_json::json;
use std::sync::Arc;
use vp2730_model::{ApiError, Obj};

/// POST /auth/tokens
pub async fn create(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let body = req.json()?;
    let mut o = Obj::new(&body, "")?;
    let encoded = o.required("authorization")?.str()?.to_string();
    o.finish()?;
    let credential = app.auth.login(&encoded, req.peer).await?;
    Ok(Reply::Json(json!({ "credential": credential })))
}

/// DELETE /auth/tokens: revokes the credential the request was made with.
pub async fn revoke(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    match req.credential.as_deref() {
        Some(c) if app.auth.revoke(c) => {
            app.hub.revoked(c);
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::disallowed("Authorization")),
    }
}
