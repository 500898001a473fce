//! The evaluator worker: one scorer serving one or more evaluator identities, which
//! commit and reveal through the ledger.
//!
//! Each pass it asks a node which open rounds its identities sit on the committee of
//! (`POST /v1/poq/duties`), fetches each new round's bytes from the gateway that
//! submitted it (by its key in `gateways`, else from `default_gateway`), checks them against the receipt on the ledger, scores them once, and
//! sends one commit per identity while commits are accepted and the matching reveal
//! once reveals are. With `--attack`, the identities marked malicious transform their
//! honest score with poq-core's attack (the same code the simulator runs), seeded per
//! round from the worker's seed.
//!
//! **Crash safety.** What an identity committed to (score, cost, salt) is written to the
//! worker's state file before the commit is sent, so a worker killed between its commit
//! and its reveal reveals the same values after a restart. Salts are derived from the
//! identity's secret key and the round: nobody else can predict them.

use crate::client::NodeClient;
use crate::content::{Content, scored_prompt};
use crate::error::{NodeError, Result};
use crate::rpc::view::DutyView;
use poq_core::RoundId;
use poq_core::attack::{self, Attack, History, Member};
use poq_core::rng::Xoshiro256PlusPlus;
use poq_core::scorer::{ScoreInput, Scorer};
use poq_ledger::tx::commitment;
use poq_ledger::{Body, Hash, Keypair, PublicKey, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest round content an evaluator reads from a gateway.
pub const MAX_CONTENT: u64 = 4 << 20;

/// Blocks after which an unanswered commit or reveal is sent again.
pub const RESEND_AFTER: u64 = 4;

/// One identity the worker acts for.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its key.
    pub key: Keypair,
    /// Whether it applies the attack.
    pub malicious: bool,
}

/// What one identity committed to in one round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pledge {
    /// The score it reports.
    pub score: f64,
    /// The cost it reports.
    pub cost: f64,
}

/// How the worker runs.
pub struct EvaluatorWorker {
    /// The network id.
    pub network: Hash,
    /// The identities.
    pub identities: Vec<Identity>,
    /// The scorer.
    pub scorer: Arc<Mutex<Box<dyn Scorer + Send>>>,
    /// The attack of the malicious identities.
    pub attack: Attack,
    /// The seed of the attack's draws.
    pub seed: u64,
    /// Gateway key → its URL (where the content of its rounds is served).
    pub gateways: BTreeMap<PublicKey, String>,
    /// The URL to ask for rounds of a gateway not in `gateways`.
    pub default_gateway: Option<String>,
    /// Blocks a commit or reveal stays valid.
    pub ttl: u64,
    /// The state file.
    pub state: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// (round, key) → what it committed to.
    pledges: BTreeMap<String, Pledge>,
    /// (round, key) of identities the attack keeps silent in that round.
    #[serde(default)]
    silent: BTreeSet<String>,
}

fn slot(round: RoundId, key: &PublicKey) -> String {
    format!("{}:{key}", round.0)
}

fn worker_err(reason: impl Into<String>) -> NodeError {
    NodeError::Worker {
        role: "evaluator",
        reason: reason.into(),
    }
}

impl EvaluatorWorker {
    fn salt(key: &Keypair, round: RoundId) -> [u8; 32] {
        Hash::of("poq/evaluator/salt", &[&key.seed(), &round.0.to_le_bytes()]).0
    }

    fn load_state(&self) -> Result<State> {
        match std::fs::read(&self.state) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| NodeError::Corrupt {
                path: self.state.clone(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(NodeError::Io {
                path: self.state.clone(),
                source,
            }),
        }
    }

    fn save_state(&self, s: &State) -> Result<()> {
        let tmp = self.state.with_extension("tmp");
        let json = serde_json::to_vec(s).map_err(|e| worker_err(e.to_string()))?;
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::File::open(&tmp).and_then(|f| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, &self.state))
            .map_err(|source| NodeError::Io {
                path: self.state.clone(),
                source,
            })
    }

    /// The honest score of a round's content and the seconds it took.
    async fn score(&self, http: &reqwest::Client, duty: &DutyView) -> Result<(f64, f64)> {
        let url = self
            .gateways
            .get(&duty.receipt.gateway)
            .or(self.default_gateway.as_ref())
            .ok_or_else(|| worker_err(format!("no URL for gateway {}", duty.receipt.gateway)))?;
        let resp = http
            .get(format!("{url}/v1/poq/content/{}", duty.receipt.request))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| worker_err(format!("content of round {}: {e}", duty.round.0)))?;
        if !resp.status().is_success() {
            return Err(worker_err(format!(
                "content of round {}: HTTP {}",
                duty.round.0,
                resp.status()
            )));
        }
        if resp.content_length().is_some_and(|n| n > MAX_CONTENT) {
            return Err(worker_err(format!(
                "content of round {} is over {MAX_CONTENT} bytes",
                duty.round.0
            )));
        }
        let body = resp.bytes().await.map_err(|e| worker_err(e.to_string()))?;
        if body.len() as u64 > MAX_CONTENT {
            return Err(worker_err(format!(
                "content of round {} is over {MAX_CONTENT} bytes",
                duty.round.0
            )));
        }
        let content: Content = serde_json::from_slice(&body).map_err(|e| worker_err(e.to_string()))?;
        if !content.matches(&duty.receipt) {
            return Err(worker_err(format!(
                "the gateway served round {} bytes that do not match its receipt",
                duty.round.0
            )));
        }
        let scorer = self.scorer.clone();
        let start = Instant::now();
        let scored = tokio::task::spawn_blocking(move || {
            let mut s = scorer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let input = ScoreInput {
                prompt: scored_prompt(&content.messages),
                output: &content.answer,
                reference: None,
            };
            s.score_batch(&[input])
        })
        .await
        .map_err(|e| worker_err(e.to_string()))?
        .map_err(|e| worker_err(e.to_string()))?;
        let s = scored
            .first()
            .ok_or_else(|| worker_err("the scorer returned nothing"))?;
        Ok((s.score, start.elapsed().as_secs_f64()))
    }

    /// Runs until `stop` is set.
    pub async fn run(self, node: NodeClient, stop: Arc<AtomicBool>) -> Result<()> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| worker_err(e.to_string()))?;
        let keys: Vec<PublicKey> = self.identities.iter().map(|i| i.key.public()).collect();
        let mut state = self.load_state()?;
        let mut sent: BTreeMap<(RoundId, PublicKey, u8), u64> = BTreeMap::new();
        let mut height = 0;
        while !stop.load(Ordering::Relaxed) {
            let duties = match node.duties(&keys).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::debug!(error = %e, "no node answered");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if duties.height < height {
                // A node behind the one asked before (after a failover): its view would
                // make open rounds look closed. Ask again.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            height = duties.height;
            let expires = height + self.ttl;
            let mut txs = Vec::new();
            let mut dirty = false;
            for duty in &duties.rounds {
                let mine: Vec<(usize, &Identity)> = duty
                    .members
                    .iter()
                    .enumerate()
                    .filter_map(|(pos, m)| {
                        self.identities
                            .iter()
                            .find(|i| i.key.public() == m.key)
                            .map(|i| (pos, i))
                    })
                    .collect();
                let due = |sent: &BTreeMap<(RoundId, PublicKey, u8), u64>, k: PublicKey, what: u8| {
                    sent.get(&(duty.round, k, what))
                        .is_none_or(|&at| height >= at + RESEND_AFTER)
                };
                let need_commit: Vec<&(usize, &Identity)> = mine
                    .iter()
                    .filter(|(pos, i)| {
                        duty.commit_open && !duty.members[*pos].committed && due(&sent, i.key.public(), 0)
                    })
                    .collect();
                let decided = |k: &PublicKey| {
                    let s = slot(duty.round, k);
                    state.pledges.contains_key(&s) || state.silent.contains(&s)
                };
                let unpledged = need_commit.iter().any(|(_, i)| !decided(&i.key.public()));
                // A round is scored once: what an identity pledged is never replaced
                // (its commitment binds it), and a scoring failure leaves the reveals
                // this pass owes to go out below.
                let scored = if unpledged {
                    match self.score(&http, duty).await {
                        Ok(s) => Some(s),
                        Err(e) => {
                            tracing::warn!(round = duty.round.0, error = %e, "cannot score");
                            None
                        }
                    }
                } else {
                    None
                };
                if let Some((honest, cost)) = scored {
                    let members: Vec<Member> = mine
                        .iter()
                        .map(|(pos, i)| Member {
                            honest,
                            malicious: i.malicious,
                            trust: duty.members[*pos].trust,
                        })
                        .collect();
                    let history = History {
                        round: duty.round.0,
                        last_consensus: duty.last_consensus,
                        reference_trust: duty.reference_trust,
                    };
                    let mut rng = Xoshiro256PlusPlus::from_seed_bytes(
                        Hash::of(
                            "poq/evaluator/attack",
                            &[&self.seed.to_le_bytes(), &duty.round.0.to_le_bytes()],
                        )
                        .0,
                    );
                    let mut out = Vec::new();
                    attack::apply(&self.attack, &members, &history, &mut rng, &mut out);
                    for ((_, i), reported) in mine.iter().zip(out) {
                        let s = slot(duty.round, &i.key.public());
                        if state.pledges.contains_key(&s) || state.silent.contains(&s) {
                            continue;
                        }
                        // A silent member pledges nothing and sends nothing.
                        match reported {
                            Some(score) => {
                                state.pledges.insert(s, Pledge { score, cost });
                            }
                            None => {
                                state.silent.insert(s);
                            }
                        }
                        dirty = true;
                    }
                }
                for (_, i) in &need_commit {
                    let k = i.key.public();
                    if let Some(p) = state.pledges.get(&slot(duty.round, &k)) {
                        let c = commitment(
                            &self.network,
                            duty.round,
                            &k,
                            p.score,
                            p.cost,
                            &Self::salt(&i.key, duty.round),
                        );
                        let body = Body::Commit {
                            round: duty.round,
                            commitment: c,
                        };
                        txs.push((
                            (duty.round, k, 0u8),
                            Tx::sign(&self.network, &i.key, expires, body).encode(),
                        ));
                    }
                }
                for (pos, i) in &mine {
                    let k = i.key.public();
                    let m = &duty.members[*pos];
                    if duty.reveal_open
                        && m.committed
                        && !m.revealed
                        && due(&sent, k, 1)
                        && let Some(p) = state.pledges.get(&slot(duty.round, &k))
                    {
                        let body = Body::Reveal {
                            round: duty.round,
                            score: p.score,
                            cost: p.cost,
                            salt: Self::salt(&i.key, duty.round),
                        };
                        txs.push((
                            (duty.round, k, 1u8),
                            Tx::sign(&self.network, &i.key, expires, body).encode(),
                        ));
                    }
                }
            }
            // Forget rounds that closed (this answer is at least as new as any before, so
            // a round missing from it is not open any more).
            let open: BTreeSet<u64> = duties.rounds.iter().map(|d| d.round.0).collect();
            let is_open = |k: &String| {
                k.split(':')
                    .next()
                    .and_then(|r| r.parse().ok())
                    .is_some_and(|r: u64| open.contains(&r))
            };
            let before = state.pledges.len() + state.silent.len();
            state.pledges.retain(|k, _| is_open(k));
            state.silent.retain(is_open);
            dirty |= state.pledges.len() + state.silent.len() != before;
            sent.retain(|(r, _, _), _| open.contains(&r.0));
            if dirty {
                // Durable before any commit that depends on it leaves.
                self.save_state(&state)?;
            }
            for (what, tx) in txs {
                match node.submit(tx).await {
                    Ok(Ok(_)) => {
                        sent.insert(what, height);
                    }
                    Ok(Err(r)) => {
                        tracing::debug!(round = what.0.0, code = %r.code, message = %r.message, "refused");
                        sent.insert(what, height);
                    }
                    Err(e) => tracing::debug!(error = %e, "no node answered"),
                }
            }
            let _ = node.wait(height + 1, Duration::from_secs(2)).await;
        }
        Ok(())
    }
}
