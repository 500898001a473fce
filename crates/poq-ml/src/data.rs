//! Workloads: SQuAD v1.1 QA sets, FanOutQA (closed-book factoid sub-questions),
//! summarization JSON Lines, and the `aclsum` package.
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

/// Words that make a FanOutQA question's answer depend on when it was asked: its gold
/// answers are as of the Wikipedia revisions of late 2023, so such questions are left
/// out.
const TIME_DEPENDENT: [&str; 9] = [
    "current",
    "currently",
    "how old",
    "as of",
    "today",
    "now",
    "latest",
    "this year",
    "most recent",
];

#[derive(Deserialize)]
struct FanOutNode {
    id: String,
    question: String,
    #[serde(default)]
    decomposition: Vec<FanOutNode>,
    answer: serde_json::Value,
    #[serde(default)]
    evidence: Option<FanOutEvidence>,
}

#[derive(Deserialize)]
struct FanOutEvidence {
    title: String,
}

/// Whether `question` contains one of [`TIME_DEPENDENT`] as whole words.
fn is_time_dependent(question: &str) -> bool {
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    TIME_DEPENDENT.iter().any(|phrase| {
        let p: Vec<&str> = phrase.split(' ').collect();
        words.windows(p.len()).any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
    })
}

/// A short gold answer as text: a string, or a number as the file writes it; `None` for
/// lists, maps, booleans and empty strings (not factoid answers).
fn factoid(answer: &serde_json::Value) -> Option<String> {
    match answer {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses the FanOutQA dev file (`fanout-final-dev.json`: a list of multi-hop questions,
/// each with a tree of sub-questions) into closed-book factoid QA items: the leaf
/// sub-questions whose gold answer is a string or a number, without those whose answer
/// depends on the date ([`TIME_DEPENDENT`]) and without repeats (of a sub-question id,
/// or of a question's text up to case and surrounding spaces). The items
/// have no context (FanOutQA ships none) and the title of the Wikipedia page the answer
/// comes from. They are interleaved across the top-level questions (each one's first
/// sub-question, then each one's second, ...), so a prefix of the list covers as many
/// topics as it can. `path` names the file in errors.
pub fn parse_fanoutqa(text: &str, path: &Path) -> Result<Vec<QaItem>> {
    let top: Vec<FanOutNode> =
        serde_json::from_str(text).map_err(|e| data_err(path, format!("not a FanOutQA file: {e}")))?;
    fn leaves<'a>(n: &'a FanOutNode, out: &mut Vec<&'a FanOutNode>) {
        if n.decomposition.is_empty() {
            out.push(n);
        }
        for c in &n.decomposition {
            leaves(c, out);
        }
    }
    let mut per_question: Vec<Vec<QaItem>> = Vec::with_capacity(top.len());
    let mut seen_ids = std::collections::BTreeSet::new();
    let mut seen_questions = std::collections::BTreeSet::new();
    for q in &top {
        let mut ls = Vec::new();
        for c in &q.decomposition {
            leaves(c, &mut ls);
        }
        let mut items = Vec::new();
        for l in ls {
            // The file shares some sub-questions between top-level questions (the same
            // node, id and all): the first occurrence is kept.
            if !seen_ids.insert(l.id.clone()) {
                continue;
            }
            let Some(answer) = factoid(&l.answer) else { continue };
            if is_time_dependent(&l.question) || !seen_questions.insert(l.question.trim().to_lowercase()) {
                continue;
            }
            items.push(QaItem {
                id: l.id.clone(),
                title: l.evidence.as_ref().map(|e| e.title.clone()).unwrap_or_default(),
                context: String::new(),
                question: l.question.trim().to_string(),
                answers: vec![answer],
            });
        }
        per_question.push(items);
    }
    let longest = per_question.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..longest {
        out.extend(per_question.iter().filter_map(|items| items.get(i).cloned()));
    }
    Ok(out)
}

/// Loads the FanOutQA dev file (see [`parse_fanoutqa`]).
pub fn load_fanoutqa(path: &Path) -> Result<Vec<QaItem>> {
    parse_fanoutqa(&read(path)?, path)
}

/// The file of the `fanoutqa` package that holds the dev set.
pub const FANOUTQA_DEV: &str = "fanout-final-dev.json";
