//! The gateway's Prometheus metrics (`GET /metrics`, text exposition format).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// A label set of one string.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The HTTP status code.
    pub status: u16,
}

/// A rejection reason label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The reason's name.
    pub reason: String,
}

/// Every metric the gateway exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Chat requests answered, by HTTP status.
    pub requests: Family<StatusLabel, Counter>,
    /// Seconds from a request to its answer.
    pub request_seconds: Histogram,
    /// Seconds the inference node took.
    pub inference_seconds: Histogram,
    /// Seconds from a request to its round's close, for rounds the gateway saw close.
    pub finalize_seconds: Histogram,
    /// The ledger's height.
    pub height: Gauge,
    /// Rounds the ledger finalized.
    pub rounds_finalized: Gauge,
    /// Rounds the ledger expired.
    pub rounds_expired: Gauge,
    /// Rounds this gateway submitted.
    pub submitted: Counter,
    /// Transactions blocks carried that the ledger rejected, by reason.
    pub rejected: Family<ReasonLabel, Gauge<u64, AtomicU64>>,
}

fn buckets() -> impl Iterator<Item = f64> {
    [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ]
    .into_iter()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("poq");
        let m = Metrics {
            requests: Family::default(),
            request_seconds: Histogram::new(buckets()),
            inference_seconds: Histogram::new(buckets()),
            finalize_seconds: Histogram::new(buckets()),
            height: Gauge::default(),
            rounds_finalized: Gauge::default(),
            rounds_expired: Gauge::default(),
            submitted: Counter::default(),
            rejected: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "gateway_requests",
            "Chat requests answered, by HTTP status",
            m.requests.clone(),
        );
        registry.register(
            "gateway_request_seconds",
            "Seconds from a chat request to its answer",
            m.request_seconds.clone(),
        );
        registry.register(
            "gateway_inference_seconds",
            "Seconds the inference node took",
            m.inference_seconds.clone(),
        );
        registry.register(
            "round_finalize_seconds",
            "Seconds from a chat request to the block that closed its round",
            m.finalize_seconds.clone(),
        );
        registry.register("ledger_height", "The ledger's last applied height", m.height.clone());
        registry.register(
            "ledger_rounds_finalized",
            "Rounds the ledger finalized",
            m.rounds_finalized.clone(),
        );
        registry.register(
            "ledger_rounds_expired",
            "Rounds the ledger expired below quorum",
            m.rounds_expired.clone(),
        );
        registry.register(
            "gateway_rounds_submitted",
            "Rounds this gateway submitted",
            m.submitted.clone(),
        );
        registry.register(
            "ledger_rejected_transactions",
            "Transactions blocks carried that the ledger rejected, by reason",
            m.rejected.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
