//! The demo's way into the CSMS: requests to this process's own HTTP API
//! (the same router the listener serves, called in-process), with the admin
//! key and `X-Organisation` — so every record the demo makes passes the
//! same parsing, permissions and rules as a request from outside.

use anyhow::{anyhow, Context};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

/// The largest answer the demo reads (a page of sessions is far smaller).
const MAX_ANSWER: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct Api {
    app: Router,
    admin_key: String,
}

impl Api {
    pub fn new(app: Router, admin_key: String) -> Self {
        Api { app, admin_key }
    }

    /// `method /api/v1{path}` as the platform admin acting in `org` (none:
    /// the platform's own requests); the status and the JSON answer (`null`
    /// when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        org: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(format!("/api/v1{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.admin_key));
        if let Some(org) = org {
            req = req.header("X-Organisation", org);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(b)?)),
            None => req.body(Body::empty()),
        }
        .context("building a request")?;
        let resp = self
            .app
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| anyhow!("{method} {path}: {e}"))?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), MAX_ANSWER)
            .await
            .with_context(|| format!("{method} {path}: reading the answer"))?;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, json))
    }

    /// [`Api::call`] that must answer `expect`; any other status is an error
    /// with the answer's text.
    pub async fn ok(
        &self,
        method: Method,
        path: &str,
        org: Option<&str>,
        body: Option<&Value>,
        expect: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, json) = self.call(method.clone(), path, org, body).await?;
        if status != expect {
            anyhow::bail!("{method} /api/v1{path}: HTTP {status} (expected {expect}): {json}");
        }
        Ok(json)
    }

    /// Whether `GET /api/v1{path}` finds something (200) or not (404).
    pub async fn exists(&self, path: &str, org: Option<&str>) -> anyhow::Result<bool> {
        let (status, json) = self.call(Method::GET, path, org, None).await?;
        match status {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => anyhow::bail!("GET /api/v1{path}: HTTP {s}: {json}"),
        }
    }
}
