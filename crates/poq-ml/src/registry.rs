//! The registry: the one mapping from the names that `--models` and `--evaluators` take
//! to the backends behind them.
//!
//! A name is parsed once, at the edge, into [`ModelName`] or [`EvaluatorName`]; past
//! that point poq handles the enums, and [`load_generator`] and [`load_scorer`] build the
//! backends (fetching their packages into the cache first when missing). Records carry
//! the registry's names, so logs written from different files agree.

use crate::bi_encoder::BiEncoderScorer;
use crate::cross_encoder::CrossEncoderScorer;
use crate::fetch::fetch_model;
use crate::gemma::GemmaBase;
use crate::gguf::GgufChat;
use crate::judge::Judge;
use crate::llm::Generator;
use crate::{MlError, Result};
use poq_core::scorer::{Lexical, Overlap, Scorer};
use std::path::{Path, PathBuf};

/// The in-process inference models, each one GGUF file of a fetchable package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelName {
    /// `smollm2-135m-instruct`: SmolLM2-135M-Instruct, a chat model (Q4_1).
    SmolLm2,
    /// `gemma3-270m`: Gemma-3-270M, a base model prompted for completion (Q4_K_M).
    Gemma3,
    /// `qwen2.5-coder-0.5b-instruct`: Qwen2.5-Coder-0.5B-Instruct, a chat model (mostly
    /// Q5_0).
    Qwen05,
    /// `qwen2.5-coder-1.5b-instruct`: Qwen2.5-Coder-1.5B-Instruct, a chat model
    /// (Q4_K_M), the largest that can be fetched.
    Qwen15,
}

/// How a model's GGUF file is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// [`GgufChat`]: llama or qwen2 architecture with a chat template.
    Chat,
    /// [`GemmaBase`]: our Gemma 3 forward pass, continuing text.
    Gemma,
}

impl ModelName {
    /// Every model, in the order of [`ModelName::NAMES`].
    pub const ALL: [ModelName; 4] = [
        ModelName::SmolLm2,
        ModelName::Gemma3,
        ModelName::Qwen05,
        ModelName::Qwen15,
    ];
    /// The names accepted by [`ModelName::from_name`], comma separated.
    pub const NAMES: &'static str =
        "smollm2-135m-instruct, gemma3-270m, qwen2.5-coder-0.5b-instruct, qwen2.5-coder-1.5b-instruct";

    /// The model's name, as `--models`, records and the fetch registry spell it.
    pub fn name(self) -> &'static str {
        match self {
            ModelName::SmolLm2 => "smollm2-135m-instruct",
            ModelName::Gemma3 => "gemma3-270m",
            ModelName::Qwen05 => "qwen2.5-coder-0.5b-instruct",
            ModelName::Qwen15 => "qwen2.5-coder-1.5b-instruct",
        }
    }

    /// The GGUF file inside the model's fetched package.
    pub fn gguf_file(self) -> &'static str {
        match self {
            ModelName::SmolLm2 => "SmolLM2-135M-Instruct.Q4_1.gguf",
            ModelName::Gemma3 => "gemma-3-270m-q4_k_m.gguf",
            ModelName::Qwen05 => "qwen2.5-coder-0.5b-instruct.gguf",
            ModelName::Qwen15 => "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        }
    }

    /// Whether the model follows chat turns (true) or continues text (a base model).
    pub fn is_chat(self) -> bool {
        self.backend() == Backend::Chat
    }

    fn backend(self) -> Backend {
        match self {
            ModelName::SmolLm2 | ModelName::Qwen05 | ModelName::Qwen15 => Backend::Chat,
            ModelName::Gemma3 => Backend::Gemma,
        }
    }

    /// Parses a model name; an unknown one is an error naming it and the accepted ones.
    pub fn from_name(name: &str) -> Result<Self> {
        ModelName::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| MlError::UnknownName {
                kind: "model",
                name: name.to_string(),
                expected: ModelName::NAMES,
            })
    }

    /// Fetches the model's package into `cache` when missing and returns the path of its
    /// GGUF file.
    pub fn fetch(self, cache: &Path) -> Result<PathBuf> {
        Ok(fetch_model(self.name(), cache)?.join(self.gguf_file()))
    }
}

impl std::fmt::Display for ModelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelName {
    type Err = MlError;

    fn from_str(s: &str) -> Result<Self> {
        ModelName::from_name(s)
    }
}

/// The evaluators: every way poq can score an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EvaluatorName {
    /// `bi-encoder`: all-MiniLM-L6-v2 (or a given sentence-transformers directory),
    /// cosine of the output with the reference, or the prompt when there is none.
    BiEncoder,
    /// `bi-encoder-mpnet`: all-mpnet-base-v2 (our MPNet port), cosine of the output
    /// with the reference, or the prompt when there is none.
    BiEncoderMpnet,
    /// `cross-encoder`: a given BertForSequenceClassification directory with one label,
    /// sigmoid of the logit of the pair (reference or prompt, output).
    CrossEncoder,
    /// `lexical-f1`: SQuAD token F1 of the output against the prompt.
    LexicalF1,
    /// `lexical-rougeL`: ROUGE-L F of the output against the prompt.
    LexicalRougeL,
    /// `judge`: SmolLM2-135M-Instruct's expected grade from its probabilities over the
    /// replies "0" … "10".
    Judge,
    /// `judge-qwen`: Qwen2.5-Coder-1.5B-Instruct asked whether the answer is correct
    /// (against the reference where there is one), scored 10·P(Yes)/(P(Yes)+P(No)).
    JudgeQwen,
}

impl EvaluatorName {
    /// Every evaluator, in the order of [`EvaluatorName::NAMES`].
    pub const ALL: [EvaluatorName; 7] = [
        EvaluatorName::BiEncoder,
        EvaluatorName::BiEncoderMpnet,
        EvaluatorName::CrossEncoder,
        EvaluatorName::LexicalF1,
        EvaluatorName::LexicalRougeL,
        EvaluatorName::Judge,
        EvaluatorName::JudgeQwen,
    ];
    /// The names accepted by [`EvaluatorName::from_name`], comma separated.
    pub const NAMES: &'static str =
        "bi-encoder, bi-encoder-mpnet, cross-encoder, lexical-f1, lexical-rougeL, judge, judge-qwen";

    /// The evaluator's name, as `--evaluators` spells it.
    pub fn name(self) -> &'static str {
        match self {
            EvaluatorName::BiEncoder => "bi-encoder",
            EvaluatorName::BiEncoderMpnet => "bi-encoder-mpnet",
            EvaluatorName::CrossEncoder => "cross-encoder",
            EvaluatorName::LexicalF1 => "lexical-f1",
            EvaluatorName::LexicalRougeL => "lexical-rougeL",
            EvaluatorName::Judge => "judge",
            EvaluatorName::JudgeQwen => "judge-qwen",
        }
    }

    /// Parses an evaluator name; an unknown one is an error naming it and the accepted
    /// ones.
    pub fn from_name(name: &str) -> Result<Self> {
        EvaluatorName::ALL
            .into_iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| MlError::UnknownName {
                kind: "evaluator",
                name: name.to_string(),
                expected: EvaluatorName::NAMES,
            })
    }

    /// Whether the evaluator runs a model from a directory one may give: the bi-encoder
    /// (optional, all-MiniLM-L6-v2 otherwise) and the cross-encoder (required).
    pub fn takes_model_dir(self) -> bool {
        matches!(self, EvaluatorName::BiEncoder | EvaluatorName::CrossEncoder)
    }
}

impl std::fmt::Display for EvaluatorName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EvaluatorName {
    type Err = MlError;

    fn from_str(s: &str) -> Result<Self> {
        EvaluatorName::from_name(s)
    }
}

/// The model the `judge` evaluator runs.
pub const JUDGE_MODEL: ModelName = ModelName::SmolLm2;

/// The model the `judge-qwen` evaluator runs.
pub const VERDICT_JUDGE_MODEL: ModelName = ModelName::Qwen15;

/// The fetch-registry name of the bi-encoder used when no directory is given.
pub const BI_ENCODER_PACKAGE: &str = "all-minilm-l6-v2";

/// The fetch-registry name of the MPNet bi-encoder, and its model directory inside.
pub const MPNET_PACKAGE: (&str, &str) = ("all-mpnet-base-v2", "all-mpnet-base-v2");

/// The models a collection runs by default: every one.
pub fn default_models() -> Vec<ModelName> {
    ModelName::ALL.to_vec()
}

/// The evaluators a collection runs by default: every one, the cross-encoder only when
/// a directory for it is given (none can be fetched).
pub fn default_evaluators(cross_encoder_dir: bool) -> Vec<EvaluatorName> {
    EvaluatorName::ALL
        .into_iter()
        .filter(|&e| cross_encoder_dir || e != EvaluatorName::CrossEncoder)
        .collect()
}

/// Loads a chat model's GGUF file, named as the registry names it.
fn load_chat(model: ModelName, cache: &Path) -> Result<GgufChat> {
    let mut m = GgufChat::load(&model.fetch(cache)?)?;
    m.set_name(model.name());
    Ok(m)
}

/// Fetches (when missing) and loads `model`. The generator carries the registry's name,
/// so that records from different files agree.
pub fn load_generator(model: ModelName, cache: &Path) -> Result<Box<dyn Generator + Send>> {
    Ok(match model.backend() {
        Backend::Chat => Box::new(load_chat(model, cache)?),
        Backend::Gemma => {
            let mut m = GemmaBase::load(&model.fetch(cache)?)?;
            m.set_name(model.name());
            Box::new(m)
        }
    })
}

/// The error of a cross-encoder given no directory.
fn cross_encoder_needs_a_dir() -> MlError {
    MlError::ModelDirRequired {
        evaluator: EvaluatorName::CrossEncoder.name(),
        what: "a BertForSequenceClassification directory with one label",
    }
}

/// Checks that `evaluator` is given a model directory exactly when it may or must take
/// one (see [`load_scorer`]), without loading anything.
pub fn check_model_dir(evaluator: EvaluatorName, model_dir: Option<&Path>) -> Result<()> {
    match (evaluator, model_dir) {
        (EvaluatorName::CrossEncoder, None) => Err(cross_encoder_needs_a_dir()),
        (e, Some(dir)) if !e.takes_model_dir() => Err(MlError::ModelDirUnused {
            evaluator: e.name(),
            dir: dir.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// Builds `evaluator`, fetching its model into `cache` when it needs one and no
/// `model_dir` is given. The bi-encoder takes an optional directory (all-MiniLM-L6-v2
/// otherwise), the cross-encoder requires one (none can be fetched), and the MPNet
/// bi-encoder, the lexical scorers and the judges take none: a directory given to them is an error, not ignored.
pub fn load_scorer(evaluator: EvaluatorName, model_dir: Option<&Path>, cache: &Path) -> Result<Box<dyn Scorer + Send>> {
    check_model_dir(evaluator, model_dir)?;
    Ok(match (evaluator, model_dir) {
        (EvaluatorName::LexicalF1, _) => Box::new(Lexical::new(Overlap::TokenF1)),
        (EvaluatorName::LexicalRougeL, _) => Box::new(Lexical::new(Overlap::RougeL)),
        (EvaluatorName::BiEncoder, Some(dir)) => Box::new(BiEncoderScorer::load(dir)?),
        (EvaluatorName::BiEncoder, None) => Box::new(BiEncoderScorer::load(&fetch_model(BI_ENCODER_PACKAGE, cache)?)?),
        (EvaluatorName::BiEncoderMpnet, _) => Box::new(
            BiEncoderScorer::load(&fetch_model(MPNET_PACKAGE.0, cache)?.join(MPNET_PACKAGE.1))?
                .named(EvaluatorName::BiEncoderMpnet.name()),
        ),
        (EvaluatorName::CrossEncoder, Some(dir)) => Box::new(CrossEncoderScorer::load(dir)?),
        // No pretrained cross-encoder can be fetched: the user brings one
        // (check_model_dir has refused this already).
        (EvaluatorName::CrossEncoder, None) => return Err(cross_encoder_needs_a_dir()),
        (EvaluatorName::Judge, _) => Box::new(Judge::new(load_chat(JUDGE_MODEL, cache)?)),
        (EvaluatorName::JudgeQwen, _) => Box::new(Judge::verdict(load_chat(VERDICT_JUDGE_MODEL, cache)?)),
    })
}
