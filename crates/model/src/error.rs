//! The guide's error table ("Error Code Table"), as a type.
//!
//! Every failure the API can report is one variant here, so a handler cannot
//! invent a status/code pair the guide does not have, and the wire form
//! (`{"code": N, "message": "..."}`) is produced in exactly one place.

use serde_json::Value;

/// Longest rendering of a client-supplied value or field name echoed back in
/// a message. Keeps error bodies small whatever the client sent.
const ECHO_LIMIT: usize = 64;

/// One row of the guide's error table, with the message parameters it needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400 / 40000: wrong JSON type, malformed JSON, or a value that cannot be
    /// interpreted at all.
    #[error("The value of {field} is invalid: {value}.")]
    Invalid { field: String, value: String },
    /// 400 / 40001: right type, but outside the field's table, range or
    /// `valid` list.
    #[error("The value of {field} is unsupported: {value}.")]
    Unsupported { field: String, value: String },
    /// 400 / 40002: the field is read-only (or the action is not possible in
    /// the current state) and the request asked to change it.
    #[error("The operation on {field} is disallowed.")]
    Disallowed { field: String },
    /// 400 / 40003: the resource has no such field.
    #[error("The field cannot be recognized: {field}.")]
    UnknownField { field: String },
    /// 400 / 40004: a body was required and none was sent.
    #[error("No message content found.")]
    NoContent,
    /// 401 / 40100: missing or invalid credentials.
    #[error("User account is unauthorized.")]
    Unauthorized,
    /// 403 / 40300: authenticated, but the tier may not do this.
    #[error("The demand on the resource is refused.")]
    Refused,
    /// 404 / 40400: no such path.
    #[error("The resource is not found: {url}.")]
    NotFound { url: String },
    /// 404 / 40401: the path exists but the id does not.
    #[error("The instance of the resource is not found: {idx}.")]
    InstanceNotFound { idx: String },
    /// 405 / 40500: known path, wrong method.
    #[error("The operation is disallowed.")]
    MethodNotAllowed,
    /// 413 / 41300: body (or headers) over the configured limit.
    #[error("The message is too large.")]
    TooLarge,
    /// 500 / 50000: an internal failure. Never carries internals.
    #[error("System error.")]
    System,
    /// 501 / 50100: a path under `/api/` naming a version other than v2.0.
    #[error("API version is unsupported.")]
    VersionUnsupported,
    /// 503 / 50300
    #[error("System is overloaded.")]
    Overloaded,
    /// 503 / 50301
    #[error("System is down for maintenance.")]
    Maintenance,
    /// 503 / 50302: the hardware (or storage) needed for the request does not
    /// answer.
    #[error("Service is not ready.")]
    NotReady,
    /// 503 / 50303: a cap (connections, participants, ...) is reached.
    #[error("Maximum is exceeded.")]
    MaxExceeded,
    /// 503 / 50304
    #[error("System is in recovery mode.")]
    Recovery,
}

impl ApiError {
    /// 40000 for `field` with the offending JSON `value` (echo bounded).
    pub fn invalid(field: impl Into<String>, value: &Value) -> Self {
        ApiError::Invalid {
            field: bounded(&field.into()),
            value: echo(value),
        }
    }

    /// 40000 without echoing the value (used for secrets).
    pub fn invalid_secret(field: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: bounded(&field.into()),
            value: "(not shown)".into(),
        }
    }

    /// 40001 for `field` with the offending JSON `value` (echo bounded).
    pub fn unsupported(field: impl Into<String>, value: &Value) -> Self {
        ApiError::Unsupported {
            field: bounded(&field.into()),
            value: echo(value),
        }
    }

    /// 40002 for `field`.
    pub fn disallowed(field: impl Into<String>) -> Self {
        ApiError::Disallowed {
            field: bounded(&field.into()),
        }
    }

    /// 40003 for `field`.
    pub fn unknown_field(field: impl Into<String>) -> Self {
        ApiError::UnknownField {
            field: bounded(&field.into()),
        }
    }

    /// 40401 for `idx`.
    pub fn instance(idx: &str) -> Self {
        ApiError::InstanceNotFound { idx: bounded(idx) }
    }

    /// 40400 for `url`.
    pub fn not_found(url: &str) -> Self {
        ApiError::NotFound { url: bounded(url) }
    }

    /// HTTP status of this row.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Invalid { .. }
            | ApiError::Unsupported { .. }
            | ApiError::Disallowed { .. }
            | ApiError::UnknownField { .. }
            | ApiError::NoContent => 400,
            ApiError::Unauthorized => 401,
            ApiError::Refused => 403,
            ApiError::NotFound { .. } | ApiError::InstanceNotFound { .. } => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::TooLarge => 413,
            ApiError::System => 500,
            ApiError::VersionUnsupported => 501,
            ApiError::Overloaded
            | ApiError::Maintenance
            | ApiError::NotReady
            | ApiError::MaxExceeded
            | ApiError::Recovery => 503,
        }
    }

    /// The guide's five-digit error code.
    pub fn code(&self) -> u32 {
        match self {
            ApiError::Invalid { .. } => 40000,
            ApiError::Unsupported { .. } => 40001,
            ApiError::Disallowed { .. } => 40002,
            ApiError::UnknownField { .. } => 40003,
            ApiError::NoContent => 40004,
            ApiError::Unauthorized => 40100,
            ApiError::Refused => 40300,
            ApiError::NotFound { .. } => 40400,
            ApiError::InstanceNotFound { .. } => 40401,
            ApiError::MethodNotAllowed => 40500,
            ApiError::TooLarge => 41300,
            ApiError::System => 50000,
            ApiError::VersionUnsupported => 50100,
            ApiError::Overloaded => 50300,
            ApiError::Maintenance => 50301,
            ApiError::NotReady => 50302,
            ApiError::MaxExceeded => 50303,
            ApiError::Recovery => 50304,
        }
    }

    /// The error body exactly as the guide shows it.
    pub fn body(&self) -> Value {
        serde_json::json!({ "code": self.code(), "message": self.to_string() })
    }
}

/// Compact JSON rendering of a client value, cut to [`ECHO_LIMIT`] chars.
fn echo(value: &Value) -> String {
    let s = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    bounded(&s)
}

fn bounded(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() <= ECHO_LIMIT {
        clean
    } else {
        let mut cut: String = clean.chars().take(ECHO_LIMIT).collect();
        cut.push_str("...");
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_form_matches_the_guide() {
        let e = ApiError::not_found("/api/v2.0/nope");
        assert_eq!(e.status(), 404);
        assert_eq!(
            e.body(),
            json!({"code": 40400, "message": "The resource is not found: /api/v2.0/nope."})
        );
        assert_eq!(
            ApiError::unsupported("volume", &json!(101)).to_string(),
            "The value of volume is unsupported: 101."
        );
    }

    #[test]
    fn echoed_values_are_bounded_and_printable() {
        let long = "x".repeat(10_000);
        let msg = ApiError::invalid("name", &json!(long)).to_string();
        assert!(msg.len() < 120, "{msg}");
        let ctl = ApiError::unknown_field("a\nb").to_string();
        assert!(!ctl.contains('\n'));
    }

    #[test]
    fn secrets_are_not_echoed() {
        let msg = ApiError::invalid_secret("authorization").to_string();
        assert!(msg.contains("(not shown)"));
    }
}
