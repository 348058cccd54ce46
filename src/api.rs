//! What a route handler receives and returns.

use crate::app::App;
use crate::auth::Tier;
use bytes::Bytes;
use serde_json::Value;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use vp2730_model::{parse_body, ApiError};

/// A request that passed routing, authentication and the body limits.
pub struct Req {
    /// Path parameters (`<id>`), in order.
    pub params: Vec<String>,
    pub body: Bytes,
    /// The caller's tier.
    pub tier: Tier,
    /// `https://<host the client used>`, for URLs in responses.
    pub base: String,
    /// The credential token the request was authenticated with, if any.
    pub credential: Option<String>,
    pub peer: IpAddr,
}

impl Req {
    /// Path parameter `i` ("" if the route has fewer).
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    /// The body as JSON, strictly parsed (see [`parse_body`]).
    pub fn json(&self) -> Result<Value, ApiError> {
        parse_body(&self.body)
    }

    /// The body as JSON, or `None` when there is none (empty, `null`, `{}`).
    pub fn json_opt(&self) -> Result<Option<Value>, ApiError> {
        match parse_body(&self.body) {
            Ok(v) => Ok(Some(v)),
            Err(ApiError::NoContent) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A successful answer.
pub enum Reply {
    /// 200 with a JSON body.
    Json(Value),
    /// 204.
    NoContent,
    /// 200 with a file.
    Bytes {
        content_type: &'static str,
        body: Bytes,
    },
}

/// A boxed handler future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Reply, ApiError>> + Send>>;

/// A route handler.
pub type Handler = fn(Arc<App>, Req) -> HandlerFuture;

/// A JSON value as a response body. Serialising a `Value` cannot fail; if it
/// ever did, the body is `{}` rather than a panic or an empty 200.
pub fn json_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}
