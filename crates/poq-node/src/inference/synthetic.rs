//! The `synthetic` inference backend: deterministic answers from the project's QA set,
//! with no model time, for tests, benchmarks and `poq devnet --synthetic`.
//!
//! A node of quality q answers a question it knows with its reference answer with
//! probability q and with another question's answer otherwise; the draw is a hash of
//! the node's name, the question and the request seed, so the same request always gets
//! the same answer. Unknown prompts get "I do not know.".

use poq_ledger::Hash;
use poq_ml::Result;
use poq_ml::llm::{ChatMessage, Generation, GenerationParams, Generator};
use std::collections::HashMap;
use std::time::Instant;

/// A synthetic model.
#[derive(Debug, Clone)]
pub struct Synthetic {
    name: String,
    quality: f64,
    answers: Vec<String>,
    by_prompt: HashMap<String, usize>,
}

impl Synthetic {
    /// A synthetic model called `name` answering correctly with probability `quality`
    /// (in [0, 1]), over `items` (prompt text as the user sends it, reference answer).
    pub fn new(name: &str, quality: f64, items: Vec<(String, String)>) -> Self {
        let mut by_prompt = HashMap::new();
        let mut answers = Vec::with_capacity(items.len());
        for (i, (prompt, answer)) in items.into_iter().enumerate() {
            by_prompt.insert(prompt, i);
            answers.push(answer);
        }
        Self {
            name: name.to_string(),
            quality,
            answers,
            by_prompt,
        }
    }

    /// The answer to `prompt` for sampling `seed`.
    pub fn answer(&self, prompt: &str, seed: u64) -> String {
        let Some(&i) = self.by_prompt.get(prompt) else {
            return "I do not know.".to_string();
        };
        let h = Hash::of(
            "poq/synthetic/answer",
            &[self.name.as_bytes(), prompt.as_bytes(), &seed.to_le_bytes()],
        );
        let u = u64::from_le_bytes(h.0[..8].try_into().unwrap_or([0; 8])) as f64 / u64::MAX as f64;
        if u < self.quality || self.answers.len() < 2 {
            self.answers[i].clone()
        } else {
            // Another item's answer: fluent, and wrong.
            let j = (i + 1 + (h.0[8] as usize) % (self.answers.len() - 1)) % self.answers.len();
            self.answers[j].clone()
        }
    }
}

impl Generator for Synthetic {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(&mut self, messages: &[ChatMessage], params: &GenerationParams) -> Result<Generation> {
        let start = Instant::now();
        let prompt = messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map_or("", |m| m.content.as_str());
        let text = self.answer(prompt, params.seed.unwrap_or(0));
        let words = text.split_whitespace().count() as u64;
        Ok(Generation {
            completion_tokens: Some(words.min(u64::from(params.max_tokens))),
            prompt_tokens: Some(prompt.split_whitespace().count() as u64),
            text,
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
        })
    }
}
