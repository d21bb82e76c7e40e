//! The invoker's failure destination: the SQS queue (`XINVOKE_FAILURE_QUEUE_URL`, the
//! template's `FailureQueue`) that takes what is final and must not be redelivered, an SQS
//! record whose target may have run among them. Lambda's own on-failure destination serves the
//! async path; an SQS event source has none for a record the function chose not to hand back,
//! so the invoker sends it itself. The client is built once at cold start, with the SDK's
//! standard retries (a record sent twice to this queue is a duplicate report, never a second
//! run of the target).

use aws_config::SdkConfig;
use aws_smithy_types::retry::RetryConfig;
use thiserror::Error;

/// The failure destination could not take a record.
#[derive(Debug, Error)]
#[error("the failure queue {url} refused the record ({detail}): allow sqs:SendMessage on it to the invoker's role, and check XINVOKE_FAILURE_QUEUE_URL")]
pub struct FailureQueueError {
    url: String,
    detail: String,
}

/// The queue and its client.
#[derive(Debug, Clone)]
pub struct FailureQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl FailureQueue {
    /// A client of the queue at `url`, from the invoker's base configuration (its credentials,
    /// region, transport; `AWS_ENDPOINT_URL_SQS` when set).
    pub fn new(base: &SdkConfig, url: &str) -> FailureQueue {
        let config = aws_sdk_sqs::config::Builder::from(base)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .build();
        FailureQueue {
            client: aws_sdk_sqs::Client::from_conf(config),
            url: url.to_string(),
        }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Send one record (a JSON document).
    pub async fn send(&self, body: String) -> Result<(), FailureQueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| FailureQueueError {
                url: self.url.clone(),
                detail: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
            })
    }
}
