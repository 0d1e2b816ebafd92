//! Lambda for the WebSocket API's $default: one OCPP frame in, the reply frame out.
//! Wiring only; the logic is `csms_aws::ws::WsHandlers::message`.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use csms_aws::config::WsRoute;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let handlers = Arc::new(ctx.ws_handlers(WsRoute::Message)?);
    if csms_aws::config::wiring_check() {
        return Ok(());
    }
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            let handlers = handlers.clone();
            async move { Ok::<_, Error>(handlers.message(event.payload).await) }
        },
    ))
    .await
}
