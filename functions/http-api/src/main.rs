//! Lambda serving the HTTP API v1 (API Gateway HTTP API, payload 2.0).
//! Wiring only: the same axum router as the local runner, over DynamoDB.

use csms_api::{router, ApiState, Secret};
use lambda_http::{run, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let admin_key = std::env::var("CSMS_ADMIN_API_KEY")
        .ok()
        .filter(|k| k.len() >= 16)
        .map(Secret::new);
    if admin_key.is_none() {
        tracing::warn!("CSMS_ADMIN_API_KEY is unset or shorter than 16 characters: every API request will be refused");
    }
    let commands = ctx.command_service()?;
    let load = ctx.load_service(commands.clone());
    let load_trigger = ctx.load_trigger();
    run(router(ApiState {
        store: ctx.store,
        clock: ctx.clock,
        admin_key,
        commands,
        events: ctx.events,
        load,
        load_trigger,
        webhook_policy: csms_aws::config::AwsContext::webhook_policy(),
    }))
    .await
}
