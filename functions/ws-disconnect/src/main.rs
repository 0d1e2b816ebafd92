//! Lambda for the WebSocket API's $disconnect: record that a charger's WebSocket closed.
//! Wiring only; the logic is `csms_aws::ws::WsHandlers::disconnect`.

use csms_aws::config::WsRoute;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::ws::serve_route(WsRoute::Disconnect, |handlers, request| async move {
        handlers.disconnect(request).await
    })
    .await
}
