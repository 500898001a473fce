//! The one error type of `poq-sim`.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong in the simulator.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SimError {
    /// A core operation rejected its input (a bad parameter, an invalid report).
    #[error(transparent)]
    Core(#[from] poq_core::CoreError),
    /// A scenario file could not be parsed.
    #[error("scenario {path}: {reason}")]
    Scenario {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A scenario value is out of range.
    #[error("scenario value {name} = {value} is invalid: {reason}")]
    InvalidScenario {
        /// The dotted name of the value, as in the TOML file.
        name: String,
        /// The offending value, printed.
        value: String,
        /// What it must satisfy.
        reason: String,
    },
    /// A replay log line is malformed.
    #[error("logs {path}, line {line}: {reason}")]
    Log {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
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
    /// Drawing a figure failed.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The image being drawn.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An experiment name is not known.
    #[error("unknown experiment {name:?}; expected one of: {expected}")]
    UnknownExperiment {
        /// The name as given.
        name: String,
        /// The accepted names.
        expected: String,
    },
}

/// Result alias for the simulator.
pub type Result<T> = std::result::Result<T, SimError>;
