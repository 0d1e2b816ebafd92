//! Lambda serving the HTTP API v1 (API Gateway HTTP API, payload 2.0).
//! Wiring only: the same axum router as the local runner (the API and the web
//! portal, `csms_app::http_app`), over DynamoDB.

use lambda_http::{run, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wired = csms_aws::config::start(|ctx| {
        let state = ctx.wiring.api_state()?;
        if state.admin_key.is_none() {
            tracing::warn!("CSMS_ADMIN_API_KEY is unset: every API request will be refused");
        }
        Ok::<_, Error>(state)
    });
    let Some(state) = wired.await? else {
        return Ok(());
    };
    run(csms_app::http_app(state)).await
}
