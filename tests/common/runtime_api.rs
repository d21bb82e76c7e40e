//! A Lambda Runtime API on loopback, for running the real `invoker` and `target` binaries as
//! Lambda runs them: the binary polls `GET /2018-06-01/runtime/invocation/next`, gets an event
//! with the headers Lambda sends (request id, deadline, function ARN, trace id), and posts its
//! answer to `.../response` or `.../error`. Only what the AWS Lambda runtime interface
//! documents, nothing of cargo-lambda's.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, Notify};

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST .../response`: the result.
    Ok(serde_json::Value),
    /// `POST .../error`: the body's `errorType` and `errorMessage`.
    Error { error_type: String, message: String },
}

#[derive(Default)]
struct Queue {
    events: Mutex<VecDeque<(String, serde_json::Value, u64)>>,
    ready: Notify,
}

/// The Runtime API and the function process it serves.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    queue: Arc<Queue>,
    answers: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Answer)>>,
    child: Option<Child>,
    log: Arc<tempfile::NamedTempFile>,
    next_id: std::sync::atomic::AtomicU64,
}

impl RuntimeApi {
    /// Serve a Runtime API on a free port and start `binary` against it, with `env` on top of
    /// the variables Lambda sets. The function's stdout and stderr go to a file ([`Self::log`]).
    pub async fn start(binary: &str, env: &[(&str, &str)]) -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let queue = Arc::new(Queue::default());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(serve(listener, Arc::clone(&queue), tx));
        let log = Arc::new(tempfile::NamedTempFile::new().expect("log file"));
        let out = log.reopen().expect("log file");
        let err = log.reopen().expect("log file");
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "xinvoke-invoker")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/xinvoke-invoker")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .envs(env.iter().copied())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("the function binary starts");
        RuntimeApi {
            addr,
            queue,
            answers: tokio::sync::Mutex::new(rx),
            child: Some(child),
            log,
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Deliver `event` with `time_left` before its deadline and wait for the answer.
    pub async fn invoke(&self, event: serde_json::Value, time_left: Duration) -> Answer {
        let n = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("0000000{n}-aaaa-bbbb-cccc-dddddddddddd");
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let deadline = now_ms + time_left.as_millis() as u64;
        self.queue
            .events
            .lock()
            .unwrap()
            .push_back((id.clone(), event, deadline));
        self.queue.ready.notify_one();
        let mut answers = self.answers.lock().await;
        let wait = time_left + Duration::from_secs(30);
        loop {
            let (got, answer) = tokio::time::timeout(wait, answers.recv())
                .await
                .unwrap_or_else(|_| panic!("no answer to {id}; the function's log:\n{}", self.log()))
                .expect("the Runtime API runs");
            if got == id {
                return answer;
            }
        }
    }

    /// The X-Ray trace header the `n`-th invocation (from 1) is given, as Lambda gives it
    /// (`Lambda-Runtime-Trace-Id`): one trace per invocation.
    pub fn trace_id(n: u64) -> String {
        trace_id_of(&format!("0000000{n}-aaaa-bbbb-cccc-dddddddddddd"))
    }

    /// Everything the function wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The function's JSON log lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

type Answers = mpsc::UnboundedSender<(String, Answer)>;

/// An invocation's trace header: X-Ray's form, its root's id made of the request id's number.
fn trace_id_of(request_id: &str) -> String {
    let n: u64 = request_id.split('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    format!("Root=1-5759e988-{n:024x};Parent=53995c3f42cd8ad8;Sampled=1")
}

async fn serve(listener: tokio::net::TcpListener, queue: Arc<Queue>, answers: Answers) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (queue, answers) = (Arc::clone(&queue), answers.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (queue, answers) = (Arc::clone(&queue), answers.clone());
                async move { Ok::<_, std::convert::Infallible>(route(req, &queue, &answers).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(req: Request<Incoming>, queue: &Queue, answers: &Answers) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = || serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let error = || {
        let v = json();
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Answer::Error {
            error_type: field("errorType"),
            message: field("errorMessage"),
        }
    };
    let accepted = || {
        Response::builder()
            .status(202)
            .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")))
            .unwrap()
    };
    if path == "/2018-06-01/runtime/invocation/next" {
        let (id, event, deadline) = loop {
            let next = queue.events.lock().unwrap().pop_front();
            match next {
                Some(e) => break e,
                None => queue.ready.notified().await,
            }
        };
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker",
            )
            .header("lambda-runtime-trace-id", trace_id_of(&id))
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap();
    }
    if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") {
        if let Some(id) = rest.strip_suffix("/response") {
            let _ = answers.send((id.to_string(), Answer::Ok(json())));
            return accepted();
        }
        if let Some(id) = rest.strip_suffix("/error") {
            let _ = answers.send((id.to_string(), error()));
            return accepted();
        }
    }
    if path == "/2018-06-01/runtime/init/error" {
        let _ = answers.send(("init".into(), error()));
        return accepted();
    }
    Response::builder()
        .status(404)
        .body(Full::new(Bytes::from_static(b"not a Runtime API path")))
        .unwrap()
}
