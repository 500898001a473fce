//! The kinds of prompt a round scores.
//!
//! A task travels as this enum everywhere inside poq; its lower-case name ("qa",
//! "summarization") is how files, logs and the command line spell it, parsed once at
//! the edge. Trust policies keep per-task state indexed by [`Task::index`].

use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};

/// The two workloads of the publications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Question answering (ground truth: SQuAD token F1 × 10).
    Qa,
    /// Summarization (ground truth: ROUGE-L F × 10).
    Summarization,
}

impl Task {
    /// Every task, in index order.
    pub const ALL: [Task; 2] = [Task::Qa, Task::Summarization];
    /// The names accepted by [`Task::from_name`].
    pub const NAMES: &'static str = "qa, summarization";

    /// The task's name as files and the command line spell it.
    pub fn name(self) -> &'static str {
        match self {
            Task::Qa => "qa",
            Task::Summarization => "summarization",
        }
    }

    /// A dense index (0 for QA, 1 for summarization), for per-task state in `Vec`s.
    pub fn index(self) -> usize {
        match self {
            Task::Qa => 0,
            Task::Summarization => 1,
        }
    }

    /// Parses a task name.
    pub fn from_name(name: &str) -> Result<Self> {
        Task::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| CoreError::UnknownName {
                kind: "task",
                name: name.to_string(),
                expected: Task::NAMES,
            })
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
