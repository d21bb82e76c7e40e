//! The `target` Lambda: the sample VPC target.

use lambda_runtime::service_fn;
use xinvoke::adapters::logging;
use xinvoke::lambdas::target;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init_json();
    lambda_runtime::run(service_fn(target::handle)).await
}
