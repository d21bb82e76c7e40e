//! The `target` Lambda: the sample VPC target.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    xinvoke::lambdas::run_target().await
}
