//! LLM-as-judge: a chat model asked for a 0–10 grade (spec §6).
//!
//! Where the model exposes its next-token probabilities (in-process GGUF models), the
//! judge reads the grade from them: the probability of each reply "0" … "10", renormalized
//! over those eleven, gives the expected grade (the score) and the most likely one (raw).
//! Every call then yields a grade. Measured on 120 QA answers, SmolLM2-135M-Instruct
//! asked for free text wrote no number at all in 67 of its replies, echoing the prompt
//! instead.
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
}

impl<G: Generator> Judge<G> {
    /// A judge backed by `model`, decoding greedily with at most 8 new tokens.
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
        }
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
                let messages = [ChatMessage::user(prompt(i))];
                if let Some(lp) = self.model.continuation_logprobs(&messages, &GRADES)? {
                    return grade_from_logprobs(&self.name, &lp);
                }
                let reply = self.model.generate(&messages, &self.params)?;
                let grade = parse_grade(&reply.text).ok_or_else(|| CoreError::ScorerFailed {
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
