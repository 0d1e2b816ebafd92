//! Lambda on the billing queue: one organisation's billing day per message
//! (`session-sweep` queues them hourly). Wiring only; the logic is
//! `csms_aws::billing::handle_billing_day_message` over
//! `csms_app::billing_sweep::BillingSweep::run_organisation`, the batch
//! handling `csms_aws::sqs::serve_queue`.

use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::sqs::serve_queue(
        |ctx| ctx.wiring.billing_sweep(),
        |sweep, body| async move {
            csms_aws::billing::handle_billing_day_message(&sweep, &body)
                .await
                .map(|_| ())
        },
    )
    .await
}
