//! A client of nodes' HTTP APIs ([`crate::rpc`]): what gateways and evaluator workers
//! use to submit transactions and read the ledger.
//!
//! It knows several nodes and fails over: a request that cannot reach one node (it is
//! down, or restarting) goes to the next, and the client remembers the last that
//! answered. Every request has a timeout, so nothing waits unbounded.

use crate::error::{NodeError, Result};
use crate::history::RoundRecord;
use crate::rpc::view::{Accepted, DutiesRequest, DutiesView, NodeView, StatusView};
use poq_ledger::{Hash, PublicKey};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The time one request may take, beyond any wait it asks the node for.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A node's answer that is an error: the HTTP status and the node's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The HTTP status.
    pub status: u16,
    /// The error's code (`mempool_full`, a ledger rejection's reason, …).
    pub code: String,
    /// The node's message.
    pub message: String,
}

/// A client of one or more nodes.
#[derive(Debug, Clone)]
pub struct NodeClient {
    urls: Arc<Vec<String>>,
    current: Arc<AtomicUsize>,
    http: reqwest::Client,
}

fn client_error(url: &str, reason: impl std::fmt::Display) -> NodeError {
    NodeError::Client {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

impl NodeClient {
    /// A client of the nodes at `urls` (`http://127.0.0.1:PORT`).
    pub fn new(urls: Vec<String>) -> Result<Self> {
        if urls.is_empty() {
            return Err(client_error("", "no node URL given"));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT + crate::rpc::MAX_WAIT)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| client_error(&urls[0], e))?;
        Ok(Self {
            urls: Arc::new(urls.into_iter().map(|u| u.trim_end_matches('/').to_string()).collect()),
            current: Arc::new(AtomicUsize::new(0)),
            http,
        })
    }

    /// The node URLs.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Sends a request built by `build` to each node in turn, from the last that
    /// answered, until one answers; `Ok(Err(refused))` is a node's error answer.
    async fn send(
        &self,
        timeout: Duration,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<std::result::Result<bytes::Bytes, Refused>> {
        let n = self.urls.len();
        let start = self.current.load(Ordering::Relaxed);
        let mut last = None;
        for i in 0..n {
            let k = (start + i) % n;
            let url = &self.urls[k];
            match build(&self.http, url).timeout(timeout).send().await {
                Ok(resp) => {
                    self.current.store(k, Ordering::Relaxed);
                    let status = resp.status();
                    let body = resp.bytes().await.map_err(|e| client_error(url, e))?;
                    if status.is_success() {
                        return Ok(Ok(body));
                    }
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let field = |f: &str| v["error"][f].as_str().unwrap_or_default().to_string();
                    return Ok(Err(Refused {
                        status: status.as_u16(),
                        code: field("code"),
                        message: field("message"),
                    }));
                }
                Err(e) => last = Some(client_error(url, e)),
            }
        }
        Err(last.unwrap_or_else(|| client_error("", "no node")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, timeout: Duration) -> Result<std::result::Result<T, Refused>> {
        let body = self.send(timeout, |c, u| c.get(format!("{u}{path}"))).await?;
        match body {
            Ok(b) => serde_json::from_slice(&b)
                .map(Ok)
                .map_err(|e| client_error(path, format!("answer is not the expected JSON: {e}"))),
            Err(r) => Ok(Err(r)),
        }
    }

    /// Submits a signed transaction's bytes.
    pub async fn submit(&self, tx: Vec<u8>) -> Result<std::result::Result<Hash, Refused>> {
        let body = bytes::Bytes::from(tx);
        let r = self
            .send(REQUEST_TIMEOUT, |c, u| {
                c.post(format!("{u}/v1/poq/tx"))
                    .header("content-type", "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
        match r {
            Ok(b) => serde_json::from_slice::<Accepted>(&b)
                .map(|a| Ok(a.hash))
                .map_err(|e| client_error("/v1/poq/tx", e)),
            Err(r) => Ok(Err(r)),
        }
    }

    /// The status of the node.
    pub async fn status(&self) -> Result<StatusView> {
        self.get("/v1/poq/status", REQUEST_TIMEOUT)
            .await?
            .map_err(|r| client_error("/v1/poq/status", r.message))
    }

    /// The status once the node applied `height`, or after `timeout` (whichever first).
    pub async fn wait(&self, height: u64, timeout: Duration) -> Result<StatusView> {
        let ms = timeout.min(crate::rpc::MAX_WAIT).as_millis();
        self.get(
            &format!("/v1/poq/wait?height={height}&timeout_ms={ms}"),
            REQUEST_TIMEOUT + timeout,
        )
        .await?
        .map_err(|r| client_error("/v1/poq/wait", r.message))
    }

    /// Round `id` (`None` if the ledger has none).
    pub async fn round(&self, id: u64) -> Result<Option<RoundRecord>> {
        match self.get(&format!("/v1/poq/rounds/{id}"), REQUEST_TIMEOUT).await? {
            Ok(r) => Ok(Some(r)),
            Err(r) if r.status == 404 => Ok(None),
            Err(r) => Err(client_error("/v1/poq/rounds", r.message)),
        }
    }

    /// The round carrying `request` (`None` if none does yet).
    pub async fn round_of_request(&self, request: &Hash) -> Result<Option<RoundRecord>> {
        match self
            .get(&format!("/v1/poq/requests/{request}"), REQUEST_TIMEOUT)
            .await?
        {
            Ok(r) => Ok(Some(r)),
            Err(r) if r.status == 404 => Ok(None),
            Err(r) => Err(client_error("/v1/poq/requests", r.message)),
        }
    }

    /// The rounds submitted or closed above height `after`.
    pub async fn changes(&self, after: u64) -> Result<crate::rpc::view::ChangesView> {
        self.get(&format!("/v1/poq/changes?after={after}"), REQUEST_TIMEOUT)
            .await?
            .map_err(|r| client_error("/v1/poq/changes", r.message))
    }

    /// The newest `limit` rounds.
    pub async fn rounds(&self, limit: usize) -> Result<Vec<RoundRecord>> {
        self.get(&format!("/v1/poq/rounds?limit={limit}"), REQUEST_TIMEOUT)
            .await?
            .map_err(|r| client_error("/v1/poq/rounds", r.message))
    }

    /// Every registered key.
    pub async fn nodes(&self) -> Result<Vec<NodeView>> {
        self.get("/v1/poq/nodes", REQUEST_TIMEOUT)
            .await?
            .map_err(|r| client_error("/v1/poq/nodes", r.message))
    }

    /// The open rounds that `keys` sit on the committee of.
    pub async fn duties(&self, keys: &[PublicKey]) -> Result<DutiesView> {
        let body = bytes::Bytes::from(
            serde_json::to_vec(&DutiesRequest { keys: keys.to_vec() })
                .map_err(|e| client_error("/v1/poq/duties", e))?,
        );
        let r = self
            .send(REQUEST_TIMEOUT, |c, u| {
                c.post(format!("{u}/v1/poq/duties"))
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await?;
        match r {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| client_error("/v1/poq/duties", e)),
            Err(r) => Err(client_error("/v1/poq/duties", r.message)),
        }
    }
}
