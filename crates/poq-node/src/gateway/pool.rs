//! The inference workers a gateway can send requests to, and how it picks one.

use poq_ledger::PublicKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One request in this many goes to a worker in turn, whatever its record.
pub const EXPLORE_EVERY: usize = 4;

/// One inference worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    /// Its URL.
    pub url: String,
    /// Its key (what it signs receipts with).
    pub key: PublicKey,
    /// The model it serves.
    pub model: String,
}

/// The workers, with what the ledger says of each.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    workers: Vec<Worker>,
    /// Mean reward per round served, per key (from the ledger).
    history: BTreeMap<PublicKey, f64>,
    next: usize,
}

impl Pool {
    /// The workers known so far.
    pub fn workers(&self) -> &[Worker] {
        &self.workers
    }

    /// Adds or replaces the worker at `w.url`.
    pub fn upsert(&mut self, w: Worker) {
        match self.workers.iter_mut().find(|x| x.url == w.url) {
            Some(x) => *x = w,
            None => self.workers.push(w),
        }
    }

    /// Records a key's mean reward per round.
    pub fn set_history(&mut self, key: PublicKey, mean_reward: f64) {
        self.history.insert(key, mean_reward);
    }

    /// The models served, distinct, in order.
    pub fn models(&self) -> Vec<String> {
        let mut m: Vec<String> = self.workers.iter().map(|w| w.model.clone()).collect();
        m.sort();
        m.dedup();
        m
    }

    /// A worker for `model` (any when `None`): among the candidates, the best mean
    /// reward per round; a worker with no history yet is tried first (so every node
    /// gets a record), ties rotate, and one request in [`EXPLORE_EVERY`] goes to the
    /// next candidate in turn, so a node's record keeps up with how it serves now.
    pub fn pick(&mut self, model: Option<&str>) -> Option<Worker> {
        let candidates: Vec<&Worker> = self
            .workers
            .iter()
            .filter(|w| model.is_none_or(|m| w.model == m))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        self.next = self.next.wrapping_add(1);
        if self.next.is_multiple_of(EXPLORE_EVERY) {
            return Some(candidates[(self.next / EXPLORE_EVERY) % candidates.len()].clone());
        }
        let score = |w: &Worker| self.history.get(&w.key).copied().unwrap_or(f64::INFINITY);
        let best = candidates.iter().map(|w| score(w)).fold(f64::NEG_INFINITY, f64::max);
        let top: Vec<&&Worker> = candidates.iter().filter(|w| score(w) >= best).collect();
        Some((*top[self.next % top.len()]).clone())
    }
}
