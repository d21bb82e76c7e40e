//! The floor of a bootstrap that makes one HTTP call per event, for `scripts/bench.sh`: the
//! hello-world bootstrap (`hello_runtime.rs`, on one thread as the invoker runs) that also POSTs
//! each event, unsigned, to `HELLO_POST_URL` (`http://HOST:PORT/PATH`) on a pooled keep-alive
//! connection (hyper-util's client, the HTTP stack the invoker's signed path uses) and answers
//! the status. What the invoker costs over it is its own work (decoding the event, signing,
//! classifying, logging, metrics), not the extra exchange. A binary of its own, so the
//! hello-world's size, init and RSS stay those of the bare bootstrap.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// One plain HTTP call per event.
struct Post {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
}

impl Post {
    fn from_env() -> Result<Post, Error> {
        let url = std::env::var("HELLO_POST_URL").map_err(|_| "set HELLO_POST_URL=http://HOST:PORT/PATH")?;
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("HELLO_POST_URL {url:?} is not a URL ({e}): give http://HOST:PORT/PATH"))?;
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(tcp);
        Ok(Post { client, uri })
    }

    async fn call(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let body = Bytes::from(serde_json::to_vec(&event.payload)?);
        let request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = self.client.request(request).await?;
        let status = response.status().as_u16();
        let answer = response.into_body().collect().await?.to_bytes();
        Ok(serde_json::json!({ "status": status, "bytes": answer.len() }))
    }
}

fn main() -> Result<(), Error> {
    let post = Post::from_env()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lambda_runtime::run(service_fn(|event| post.call(event))))
}
