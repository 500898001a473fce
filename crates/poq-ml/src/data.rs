//! Workloads: SQuAD v1.1 QA sets, summarization JSON Lines, and the `aclsum` package.
//!
//! Loaders read the real formats and validate them, naming the record at fault: a QA
//! answer whose `answer_start` does not point at its text is an error, not a silent
//! skip.

use crate::{MlError, Result};
use serde::Deserialize;
use std::path::Path;

/// One QA item: a question about a context, with its acceptable answers.
#[derive(Debug, Clone, PartialEq)]
pub struct QaItem {
    /// The question id.
    pub id: String,
    /// The article title.
    pub title: String,
    /// The passage the answer is in.
    pub context: String,
    /// The question.
    pub question: String,
    /// Acceptable answers (the references for EM and F1).
    pub answers: Vec<String>,
}

/// One summarization item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummarizationItem {
    /// Identifier.
    pub id: String,
    /// The text to summarize.
    pub document: String,
    /// The reference summary (sentences separated by newlines for ROUGE-Lsum).
    pub reference: String,
}

#[derive(Deserialize)]
struct SquadFile {
    data: Vec<SquadArticle>,
}

#[derive(Deserialize)]
struct SquadArticle {
    title: String,
    paragraphs: Vec<SquadParagraph>,
}

#[derive(Deserialize)]
struct SquadParagraph {
    context: String,
    qas: Vec<SquadQa>,
}

#[derive(Deserialize)]
struct SquadQa {
    id: String,
    question: String,
    answers: Vec<SquadAnswer>,
}

#[derive(Deserialize)]
struct SquadAnswer {
    text: String,
    answer_start: usize,
}

fn data_err(path: &Path, reason: String) -> MlError {
    MlError::Data {
        path: path.to_path_buf(),
        reason,
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| MlError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses SQuAD v1.1 JSON text (the official schema); `path` names it in errors.
pub fn parse_squad(text: &str, path: &Path) -> Result<Vec<QaItem>> {
    let file: SquadFile =
        serde_json::from_str(text).map_err(|e| data_err(path, format!("not SQuAD v1.1 JSON: {e}")))?;
    let mut items = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for article in file.data {
        for p in article.paragraphs {
            // answer_start counts characters (Python string indices), not bytes.
            let chars: Vec<char> = p.context.chars().collect();
            for qa in p.qas {
                if !ids.insert(qa.id.clone()) {
                    return Err(data_err(path, format!("question id {:?} appears twice", qa.id)));
                }
                if qa.answers.is_empty() {
                    return Err(data_err(path, format!("question {:?} has no answers", qa.id)));
                }
                for a in &qa.answers {
                    let n = a.text.chars().count();
                    let span: String = chars.iter().skip(a.answer_start).take(n).collect();
                    if a.answer_start + n > chars.len() || span != a.text {
                        return Err(data_err(
                            path,
                            format!(
                                "question {:?}: answer {:?} is not at character {} of its context (found {:?})",
                                qa.id, a.text, a.answer_start, span
                            ),
                        ));
                    }
                }
                items.push(QaItem {
                    id: qa.id,
                    title: article.title.clone(),
                    context: p.context.clone(),
                    question: qa.question,
                    answers: qa.answers.into_iter().map(|a| a.text).collect(),
                });
            }
        }
    }
    Ok(items)
}

/// The project's own QA set (data/poq-qa/poq-qa-v1.json), built into the binary so
/// `poq collect` works from any directory.
pub const PROJECT_QA: &str = include_str!("../../../data/poq-qa/poq-qa-v1.json");

/// The project's own QA set, parsed and checked.
pub fn project_qa() -> Result<Vec<QaItem>> {
    parse_squad(PROJECT_QA, Path::new("data/poq-qa/poq-qa-v1.json"))
}

/// Loads a SQuAD v1.1 JSON file.
pub fn load_squad(path: &Path) -> Result<Vec<QaItem>> {
    parse_squad(&read(path)?, path)
}

/// Loads summarization JSON Lines `{"id", "document", "reference"}`; blank lines are
/// skipped, anything else malformed is an error naming its line.
pub fn load_summarization(path: &Path) -> Result<Vec<SummarizationItem>> {
    let text = read(path)?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: SummarizationItem =
            serde_json::from_str(line).map_err(|e| data_err(path, format!("line {}: {e}", i + 1)))?;
        if item.document.trim().is_empty() || item.reference.trim().is_empty() {
            return Err(data_err(
                path,
                format!("line {}: item {:?} has an empty document or reference", i + 1, item.id),
            ));
        }
        items.push(item);
    }
    Ok(items)
}

#[derive(Deserialize)]
struct AclsumRecord {
    id: String,
    summary: std::collections::BTreeMap<String, String>,
    sentences: std::collections::BTreeMap<String, Vec<String>>,
}

/// The aspects of an ACLSum summary, in the order the reference lists them.
pub const ACLSUM_ASPECTS: [&str; 3] = ["challenge", "approach", "outcome"];

/// Undoes the dataset's tokenization spacing ("word ." → "word.") so models see
/// ordinary text.
fn detokenize(s: &str) -> String {
    let mut out = s.to_string();
    for (from, to) in [
        (" .", "."),
        (" ,", ","),
        (" ;", ";"),
        (" :", ":"),
        ("( ", "("),
        (" )", ")"),
        (" '", "'"),
    ] {
        out = out.replace(from, to);
    }
    out
}

/// Adapts one split of the `aclsum` package (`dir` is its `dataset` folder, as
/// [`crate::fetch`] unpacks it; `split` is train, val or test) to summarization items:
/// the document is the paper's abstract, the reference its three aspect summaries
/// (challenge, approach, outcome), one per line, as ROUGE-Lsum expects.
pub fn load_aclsum(dir: &Path, split: &str) -> Result<Vec<SummarizationItem>> {
    if !["train", "val", "test"].contains(&split) {
        return Err(data_err(dir, format!("split {split:?} is not one of train, val, test")));
    }
    let path = dir.join(format!("{split}.jsonl"));
    let text = read(&path)?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let r: AclsumRecord =
            serde_json::from_str(line).map_err(|e| data_err(&path, format!("line {}: {e}", i + 1)))?;
        let abstract_ = r
            .sentences
            .get("abstract")
            .ok_or_else(|| data_err(&path, format!("line {}: paper {} has no abstract", i + 1, r.id)))?;
        let reference = ACLSUM_ASPECTS
            .iter()
            .map(|a| {
                r.summary
                    .get(*a)
                    .map(|s| detokenize(s))
                    .ok_or_else(|| data_err(&path, format!("line {}: paper {} has no {a} summary", i + 1, r.id)))
            })
            .collect::<Result<Vec<_>>>()?
            .join("\n");
        items.push(SummarizationItem {
            id: r.id,
            document: detokenize(&abstract_.join(" ")),
            reference,
        });
    }
    Ok(items)
}
