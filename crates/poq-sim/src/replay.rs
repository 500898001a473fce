//! Replay of logged records: rounds drawn from real model outputs and real evaluator
//! scores, as the publications do.
//!
//! One JSON Lines record per (prompt, inference node) ([`LogRecord`]):
//! `{"prompt_id", "task", "node", "output", "latency_ms", "gt_f1", "gt_rougeL",
//!   "scores": {"<evaluator>": number in [0,10]}, "eval_latency_ms": {"<evaluator>": number}}`.
//! A round picks a record uniformly; the protocol draws the committee from the whole
//! pool, and each member reports its evaluator's logged score. Only records every
//! evaluator scored are replayed (a judge may fail on some answers), so any committee
//! can be seated; the ground truth is token F1 × 10 for QA and ROUGE-L × 10 for
//! summarization.
//!
//! **Gold set.** [`ReplayWorld::with_gold_holdout`] holds out a fraction of each task's
//! prompts (a seeded shuffle of their sorted ids, fixed across runs): gold spot-checks
//! draw only from them and ordinary rounds never do, as a network keeps its reference
//! answers apart from the traffic it scores.

use crate::world::{Answer, HonestReport, World};
use crate::{Result, SimError};
use poq_core::rng::{Xoshiro256PlusPlus, below, shuffle};
use poq_core::{EvaluatorId, NodeId, Task};
use std::collections::BTreeSet;
use std::path::Path;

pub use poq_core::record::LogRecord;

#[derive(Debug, Clone, PartialEq)]
struct Record {
    prompt: String,
    node: NodeId,
    task: Task,
    truth: f64,
    latency_ms: f64,
    /// (score, latency) per logged evaluator, by evaluator index.
    scores: Vec<(f64, f64)>,
}

/// A world replaying logged records.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayWorld {
    nodes: Vec<String>,
    /// The logged evaluators (models), sorted.
    models: Vec<String>,
    /// Evaluator nodes per logged evaluator.
    replicas: usize,
    records: Vec<Record>,
    /// Indices of the records ordinary rounds draw from.
    live: Vec<usize>,
    /// Indices of the held-out gold records.
    gold: Vec<usize>,
    /// Records left out because some evaluator did not score them.
    incomplete: usize,
}

/// The seed of the gold holdout's shuffle: fixed, so every run holds out the same
/// prompts.
const HOLDOUT_SEED: u64 = 0x0090_1d5e;

fn bad(path: &Path, line: usize, reason: String) -> SimError {
    SimError::Log {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

/// Reads and validates every record of a log file, naming the line of any bad one.
pub fn read_logs(path: &Path) -> Result<Vec<LogRecord>> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut raw = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: LogRecord = serde_json::from_str(line).map_err(|e| bad(path, i + 1, e.to_string()))?;
        r.check().map_err(|reason| bad(path, i + 1, reason))?;
        raw.push(r);
    }
    if raw.is_empty() {
        return Err(bad(path, 0, "no records".to_string()));
    }
    Ok(raw)
}

/// Sorted distinct values, so ids do not depend on record order.
fn sorted_names<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    names.cloned().collect::<BTreeSet<_>>().into_iter().collect()
}

impl ReplayWorld {
    /// Reads and validates a log file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_records(&read_logs(path)?).map_err(|e| match e {
            SimError::Log { line, reason, .. } => bad(path, line, reason),
            other => other,
        })
    }

    /// Builds the world from validated records, keeping those every evaluator scored;
    /// an error when none is complete.
    pub fn from_records(raw: &[LogRecord]) -> Result<Self> {
        let models = sorted_names(raw.iter().flat_map(|r| r.scores.keys()));
        let complete: Vec<&LogRecord> = raw.iter().filter(|r| r.scores.len() == models.len()).collect();
        if complete.is_empty() {
            return Err(SimError::Log {
                path: Default::default(),
                line: 0,
                reason: format!("no record is scored by all of {}", models.join(", ")),
            });
        }
        let nodes = sorted_names(complete.iter().map(|r| &r.node));
        let mut records = Vec::with_capacity(complete.len());
        for r in &complete {
            // Both lookups are into lists built from these very records.
            let node = nodes.binary_search(&r.node).map_err(|_| SimError::Log {
                path: Default::default(),
                line: 0,
                reason: format!("node {:?} missing from the node list", r.node),
            })?;
            let scores = models
                .iter()
                .map(|m| match (r.scores.get(m), r.eval_latency_ms.get(m)) {
                    (Some(&s), Some(&l)) => Ok((s, l)),
                    _ => Err(SimError::Log {
                        path: Default::default(),
                        line: 0,
                        reason: format!("record {:?} of {:?} lacks evaluator {m:?}", r.prompt_id, r.node),
                    }),
                })
                .collect::<Result<Vec<_>>>()?;
            records.push(Record {
                prompt: r.prompt_id.clone(),
                node: NodeId(node as u32),
                task: r.task,
                truth: 10.0
                    * match r.task {
                        Task::Qa => r.gt_f1,
                        Task::Summarization => r.gt_rouge_l,
                    },
                latency_ms: r.latency_ms,
                scores,
            });
        }
        Ok(Self {
            nodes,
            models,
            replicas: 1,
            incomplete: raw.len() - complete.len(),
            live: (0..records.len()).collect(),
            gold: Vec::new(),
            records,
        })
    }

    /// Holds out `fraction` of each task's prompts as the gold set (rounded, at least
    /// one prompt when the fraction is positive and the task has two or more, never all
    /// of them). 0 puts every prompt back; a fraction outside [0, 1) is an error.
    pub fn with_gold_holdout(mut self, fraction: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(SimError::InvalidScenario {
                name: "gold_holdout".to_string(),
                value: fraction.to_string(),
                reason: "must be a fraction in [0, 1)".to_string(),
            });
        }
        let mut held: BTreeSet<(Task, &str)> = BTreeSet::new();
        let mut rng = Xoshiro256PlusPlus::from_u64(HOLDOUT_SEED);
        for task in Task::ALL {
            let mut prompts: Vec<&str> = self
                .records
                .iter()
                .filter(|r| r.task == task)
                .map(|r| r.prompt.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            shuffle(&mut rng, &mut prompts);
            let want = (fraction * prompts.len() as f64).round() as usize;
            let count = if fraction > 0.0 && prompts.len() >= 2 {
                want.clamp(1, prompts.len() - 1)
            } else {
                want.min(prompts.len().saturating_sub(1))
            };
            held.extend(prompts[..count].iter().map(|&p| (task, p)));
        }
        let (gold, live): (Vec<usize>, Vec<usize>) = (0..self.records.len())
            .partition(|&i| held.contains(&(self.records[i].task, self.records[i].prompt.as_str())));
        self.gold = gold;
        self.live = live;
        Ok(self)
    }

    /// Records ordinary rounds draw from, and held-out gold records.
    pub fn split(&self) -> (usize, usize) {
        (self.live.len(), self.gold.len())
    }

    /// Seats every logged evaluator on `n` evaluator nodes ("name#1" .. "name#n"),
    /// which report the same honest score: the same model on the same input is
    /// deterministic, so a network of many evaluator nodes running a few models looks
    /// like this. Attacks then corrupt nodes, not models. `n` = 0 is an error.
    pub fn with_replicas(mut self, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(SimError::InvalidScenario {
                name: "replicas".to_string(),
                value: n.to_string(),
                reason: "each logged evaluator needs at least one node".to_string(),
            });
        }
        self.replicas = n;
        Ok(self)
    }

    /// Records replayed.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records (never true for a built world).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records left out because some evaluator did not score them.
    pub fn incomplete(&self) -> usize {
        self.incomplete
    }

    /// A record drawn uniformly from `pool` (never empty: the live records are all the
    /// records less a holdout that leaves at least one prompt per task).
    fn draw(&self, pool: &[usize], rng: &mut Xoshiro256PlusPlus) -> Answer {
        let index = pool[below(rng, pool.len() as u64) as usize];
        let r = &self.records[index];
        Answer {
            node: r.node,
            task: r.task,
            truth: r.truth,
            latency_ms: r.latency_ms,
            record: index,
        }
    }

    /// The logged evaluator (model) evaluator node `i` runs.
    pub fn model_of(&self, i: usize) -> Option<&str> {
        self.models.get(i / self.replicas).map(String::as_str)
    }
}

impl World for ReplayWorld {
    fn evaluators(&self) -> usize {
        self.models.len() * self.replicas
    }

    fn nodes(&self) -> usize {
        self.nodes.len()
    }

    fn node_name(&self, i: usize) -> String {
        self.nodes.get(i).cloned().unwrap_or_default()
    }

    fn evaluator_name(&self, i: usize) -> String {
        match self.model_of(i) {
            Some(m) if self.replicas > 1 => format!("{m}#{}", i % self.replicas + 1),
            Some(m) => m.to_string(),
            None => String::new(),
        }
    }

    fn evaluator_kind(&self, i: usize) -> String {
        self.model_of(i).unwrap_or_default().to_string()
    }

    /// Means over the node's replayed answers (every node has at least one: node names
    /// come from the replayed records).
    fn node_profile(&self, i: usize) -> (f64, f64) {
        let mine: Vec<&Record> = self.records.iter().filter(|r| r.node.index() == i).collect();
        let k = mine.len() as f64;
        (
            mine.iter().map(|r| r.truth).sum::<f64>() / k,
            mine.iter().map(|r| r.latency_ms).sum::<f64>() / k,
        )
    }

    fn answer(&self, rng: &mut Xoshiro256PlusPlus) -> Answer {
        self.draw(&self.live, rng)
    }

    /// From the held-out gold records; from the live ones when nothing is held out.
    fn gold_answer(&self, rng: &mut Xoshiro256PlusPlus) -> Answer {
        if self.gold.is_empty() {
            self.draw(&self.live, rng)
        } else {
            self.draw(&self.gold, rng)
        }
    }

    fn models(&self) -> Vec<String> {
        self.models.clone()
    }

    fn model_score(&self, answer: &Answer, m: usize) -> Option<f64> {
        self.records.get(answer.record)?.scores.get(m).map(|&(s, _)| s)
    }

    fn honest_scores(
        &self,
        answer: &Answer,
        committee: &[EvaluatorId],
        _rng: &mut Xoshiro256PlusPlus,
        out: &mut Vec<HonestReport>,
    ) {
        out.clear();
        let Some(r) = self.records.get(answer.record) else {
            return;
        };
        out.extend(committee.iter().filter_map(|e| {
            r.scores
                .get(e.index() / self.replicas)
                .map(|&(score, latency_ms)| HonestReport { score, latency_ms })
        }));
    }
}
