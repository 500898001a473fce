//! LLM-as-judge: a chat model asked for a 0–10 grade (spec §6).
//!
//! Where the model exposes its next-token probabilities (in-process GGUF models), the
//! judge reads the grade from them: the probability of each reply "0" … "10", renormalized
//! over those eleven, gives the expected grade (the score) and the most likely one (raw).
//! Every call then yields a grade. Measured on 120 QA answers, SmolLM2-135M-Instruct
//! asked for free text wrote no number at all in 67 of its replies, echoing the prompt
//! instead.
//!
//! A verdict judge ([`Judge::verdict`]) asks instead whether the answer is correct,
//! against the reference where the round has one, and scores 10·P(Yes)/(P(Yes)+P(No))
//! from the same next-token probabilities: one prefill and no decoding. That is the
//! prompt measured in `notes/models-2.md` §1c, where Qwen2.5-Coder-1.5B ranked 24 hand
//! made answers perfectly (AUC 1.00 with a reference, 0.91 without) and SmolLM2-135M at
//! chance (0.56). A backend without probabilities replies in text: "Yes" or "No"
//! first, anything else is an explicit failure.
//!
//! Otherwise (an HTTP backend) the reply is parsed robustly ("7", "Score: 7/10",
//! "**8.5**", "I'd give it a 6."): the first number in [0, 10] in the reply, skipping a
//! "/10" denominator. A reply without one is an explicit failure naming the reply, never
//! a silent default.

use crate::MlError;
use crate::llm::{ChatMessage, GenerationParams, Generator};
use poq_core::CoreError;
use poq_core::scorer::{Score, ScoreInput, Scorer};
use std::sync::Arc;

/// Extracts a 0–10 grade from a judge's reply.
pub fn parse_grade(reply: &str) -> Option<f64> {
    let chars: Vec<char> = reply.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && i + 1 < chars.len() && chars[i + 1].is_ascii_digit()))
            {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            // A number right after '/' is a denominator ("7/10"), not a grade.
            let after_slash = start > 0 && chars[..start].iter().rev().find(|c| !c.is_whitespace()) == Some(&'/');
            if !after_slash
                && let Ok(v) = number.parse::<f64>()
                && (0.0..=10.0).contains(&v)
            {
                return Some(v);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The replies a grade can be, in order.
const GRADES: [&str; 11] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

/// The expected grade (score) and the most likely grade (raw) from the log-probabilities
/// of the replies "0" … "10"; an error when they carry no probability at all.
pub fn grade_from_logprobs(judge: &str, logprobs: &[f64]) -> poq_core::Result<Score> {
    let max = logprobs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if logprobs.len() != GRADES.len() || !max.is_finite() {
        return Err(CoreError::ScorerFailed {
            scorer: judge.to_string(),
            source: Arc::new(MlError::NoGradeProbability {
                logprobs: logprobs.to_vec(),
            }),
        });
    }
    // Shifted by the maximum so that tiny probabilities do not underflow to 0/0.
    let weights: Vec<f64> = logprobs.iter().map(|&l| (l - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let expected = weights.iter().enumerate().map(|(g, w)| g as f64 * w).sum::<f64>() / total;
    let likeliest = logprobs.iter().position(|&l| l == max).unwrap_or(0) as f64;
    Ok(Score {
        score: expected.clamp(0.0, 10.0),
        raw: likeliest,
    })
}

/// The system prompt of the verdict judge.
const VERDICT_SYSTEM: &str = "You are a strict grader of answers to questions.";

/// The verdict judge's question: with a reference, whether the candidate means the same;
/// without one, whether it is factually correct.
fn verdict_prompt(input: &ScoreInput<'_>) -> String {
    match input.reference {
        Some(r) => format!(
            "Question: {}\nReference answer: {r}\nCandidate answer: {}\n\n\
             Does the candidate answer mean the same as the reference answer (is it correct)? Reply with Yes or No.",
            input.prompt, input.output
        ),
        None => format!(
            "Question: {}\nCandidate answer: {}\n\nIs the candidate answer factually correct? Reply with Yes or No.",
            input.prompt, input.output
        ),
    }
}

/// The replies a verdict can be: yes first.
const VERDICTS: [&str; 2] = ["Yes", "No"];

/// The score of a verdict from the log-probabilities of "Yes" and "No":
/// 10·P(Yes)/(P(Yes)+P(No)), raw the renormalized P(Yes); an error when neither
/// carries any probability.
pub fn verdict_from_logprobs(judge: &str, logprobs: &[f64]) -> poq_core::Result<Score> {
    let fail = || CoreError::ScorerFailed {
        scorer: judge.to_string(),
        source: Arc::new(MlError::NoGradeProbability {
            logprobs: logprobs.to_vec(),
        }),
    };
    let [yes, no] = logprobs else {
        return Err(fail());
    };
    let max = yes.max(*no);
    if !max.is_finite() {
        return Err(fail());
    }
    // P(Yes)/(P(Yes)+P(No)) = 1/(1+exp(no−yes)), computed from the larger side.
    let p_yes = 1.0 / (1.0 + (no - yes).exp());
    Ok(Score {
        score: 10.0 * p_yes,
        raw: p_yes,
    })
}

/// A verdict read from a text reply: 10 for a reply that starts with "yes", 0 for
/// "no" (case and leading punctuation ignored).
pub fn parse_verdict(reply: &str) -> Option<f64> {
    let word: String = reply
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    match word.as_str() {
        "yes" => Some(10.0),
        "no" => Some(0.0),
        _ => None,
    }
}

/// How a judge grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grading {
    /// A grade from 0 to 10 ([`Judge::new`]).
    Scale,
    /// Correct or not, as the probability of "Yes" ([`Judge::verdict`]).
    Verdict,
}

impl Grading {
    /// The chat a judge grading this way is shown for `input`.
    fn messages(self, input: &ScoreInput<'_>) -> Vec<ChatMessage> {
        match self {
            Grading::Scale => vec![ChatMessage::user(prompt(input))],
            Grading::Verdict => vec![
                ChatMessage::system(VERDICT_SYSTEM),
                ChatMessage::user(verdict_prompt(input)),
            ],
        }
    }

    /// The replies whose probabilities make the grade.
    fn replies(self) -> &'static [&'static str] {
        match self {
            Grading::Scale => &GRADES,
            Grading::Verdict => &VERDICTS,
        }
    }

    /// The score from the log-probabilities of [`Grading::replies`].
    fn score_logprobs(self, judge: &str, logprobs: &[f64]) -> poq_core::Result<Score> {
        match self {
            Grading::Scale => grade_from_logprobs(judge, logprobs),
            Grading::Verdict => verdict_from_logprobs(judge, logprobs),
        }
    }

    /// The grade in a text reply, if there is one.
    fn parse_reply(self, reply: &str) -> Option<f64> {
        match self {
            Grading::Scale => parse_grade(reply),
            Grading::Verdict => parse_verdict(reply),
        }
    }
}

/// The instruction given to the judge.
fn prompt(input: &ScoreInput<'_>) -> String {
    let mut p = format!(
        "Rate the answer to the question below for correctness and quality on a scale from 0 (useless) to 10 (perfect). \
         Reply with the number only.\n\nQuestion: {}\n\nAnswer: {}\n",
        input.prompt, input.output
    );
    if let Some(r) = input.reference {
        p.push_str(&format!("\nA correct reference answer: {r}\n"));
    }
    p.push_str("\nGrade (0-10):");
    p
}

/// An evaluator that asks a chat model for a grade.
pub struct Judge<G: Generator> {
    model: G,
    name: String,
    params: GenerationParams,
    grading: Grading,
}

impl<G: Generator> Judge<G> {
    /// A judge backed by `model` that grades from 0 to 10, decoding greedily with at
    /// most 8 new tokens where it cannot read probabilities.
    pub fn new(model: G) -> Self {
        let name = format!("judge-{}", model.name());
        Self {
            model,
            name,
            params: GenerationParams {
                max_tokens: 8,
                temperature: 0.0,
                seed: Some(0),
            },
            grading: Grading::Scale,
        }
    }

    /// A judge backed by `model` that asks for a yes/no verdict on correctness.
    pub fn verdict(model: G) -> Self {
        let mut judge = Self::new(model);
        judge.name = format!("verdict-{}", judge.model.name());
        judge.grading = Grading::Verdict;
        judge
    }

    /// How this judge grades.
    pub fn grading(&self) -> Grading {
        self.grading
    }
}

impl<G: Generator> Scorer for Judge<G> {
    fn name(&self) -> &str {
        &self.name
    }

    fn score_batch(&mut self, inputs: &[ScoreInput<'_>]) -> poq_core::Result<Vec<Score>> {
        inputs
            .iter()
            .map(|i| {
                let grading = self.grading;
                let messages = grading.messages(i);
                let replies = grading.replies();
                if let Some(lp) = self.model.continuation_logprobs(&messages, replies)? {
                    return grading.score_logprobs(&self.name, &lp);
                }
                let reply = self.model.generate(&messages, &self.params)?;
                let grade = grading
                    .parse_reply(&reply.text)
                    .ok_or_else(|| CoreError::ScorerFailed {
                        scorer: self.name.clone(),
                        source: Arc::new(MlError::NoGrade {
                            reply: reply.text.clone(),
                        }),
                    })?;
                Ok(Score {
                    score: grade,
                    raw: grade,
                })
            })
            .collect()
    }
}
