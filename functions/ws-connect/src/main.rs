//! Lambda for the WebSocket API's $connect: accept or refuse a charger's WebSocket.
//! Wiring only; the logic is `csms_aws::ws::WsHandlers::connect`.

use csms_aws::config::WsRoute;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::ws::serve_route(WsRoute::Connect, |handlers, request| async move {
        handlers.connect(request).await
    })
    .await
}
