//! Every failure a handler can return, and its one mapping to HTTP.
//!
//! Client mistakes are 4xx with a reason that names what was wrong; load shedding is
//! 429/503 with `Retry-After`; only a genuine server fault is a 5xx. The body is always
//! `{"error": {"kind": ..., "message": ...}}`.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use simweb_tools::ToolError;

/// A handler's failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("a valid API key is required (Authorization: Bearer KEY or X-API-KEY: KEY)")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("rate limited: retry after {} ms", .0.as_millis())]
    RateLimited(Duration),
    #[error("{message}")]
    Saturated {
        message: String,
        retry_after: Duration,
    },
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    kind: &'a str,
    message: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Saturated { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable label for clients and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unprocessable(_) => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Saturated { .. } => "saturated",
            ApiError::GatewayTimeout(_) => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited(after) => Some(*after),
            ApiError::Saturated { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Load shedding that a client should retry (the episode must not advance).
    pub fn is_backpressure(&self) -> bool {
        matches!(self, ApiError::RateLimited(_) | ApiError::Saturated { .. })
    }

    /// The answer for a request whose JSON body axum could not read.
    pub fn from_json_rejection(rejection: JsonRejection) -> ApiError {
        let reason = rejection.body_text();
        match rejection {
            JsonRejection::JsonDataError(_) => ApiError::Unprocessable(reason),
            JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest(reason),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "expected a request with `Content-Type: application/json`".to_string(),
            ),
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::PayloadTooLarge(format!("request body is too large: {reason}"))
            }
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(format!("request body is too large: {reason}"))
            }
            _ => ApiError::BadRequest(reason),
        }
    }
}

/// Tool errors keep their meaning: bad arguments 422, unknown tool 404, quotas 429,
/// saturation 503, all with `Retry-After` where the layer said when.
impl From<ToolError> for ApiError {
    fn from(error: ToolError) -> ApiError {
        let message = error.to_string();
        match error {
            ToolError::InvalidArguments { .. } => ApiError::Unprocessable(message),
            ToolError::UnknownTool { .. } | ToolError::ReplayMiss { .. } => {
                ApiError::NotFound(message)
            }
            ToolError::RateLimited { retry_after } => ApiError::RateLimited(retry_after),
            ToolError::Saturated { retry_after, .. } => ApiError::Saturated {
                message,
                retry_after,
            },
            ToolError::Transient(_) | ToolError::Unavailable(_) => ApiError::Saturated {
                message,
                retry_after: Duration::from_secs(1),
            },
            ToolError::Timeout { .. } => ApiError::GatewayTimeout(message),
            ToolError::Internal(_) => ApiError::Internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.kind(),
                message: self.to_string(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_header(after));
        }
        response
    }
}

/// `Retry-After` is whole seconds; round up so a client never retries too early.
pub fn retry_after_header(after: Duration) -> HeaderValue {
    let secs = after.as_millis().div_ceil(1000).max(1);
    HeaderValue::from(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_errors_map_to_client_statuses() {
        let cases = [
            (ToolError::invalid("search", "missing field `query`"), 422),
            (
                ToolError::UnknownTool {
                    name: "x".into(),
                    available: "search".into(),
                },
                404,
            ),
            (
                ToolError::RateLimited {
                    retry_after: Duration::from_millis(1500),
                },
                429,
            ),
            (
                ToolError::Saturated {
                    tool: "search".into(),
                    retry_after: Duration::from_millis(10),
                },
                503,
            ),
        ];
        for (error, status) in cases {
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status().as_u16(), status);
            if status == 429 {
                assert_eq!(response.headers()[header::RETRY_AFTER], "2");
            }
            if status == 503 {
                assert_eq!(response.headers()[header::RETRY_AFTER], "1");
            }
        }
    }
}
