//! Lambda for the WebSocket API's $default: one OCPP frame in, the reply frame out.
//! Wiring only; the logic is `csms_aws::ws::WsHandlers::message`.

use csms_aws::config::WsRoute;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::ws::serve_route(WsRoute::Message, |handlers, request| async move {
        handlers.message(request).await
    })
    .await
}
