//! What a round is about: the chat messages, the answer and the task, and the hashes of
//! them an inference node signs in its receipt.
//!
//! The ledger carries only hashes; the bytes stay with the gateway, which serves them
//! to the committee (`GET /v1/poq/content/{request}`). An evaluator checks what it is
//! served against the receipt on the ledger before scoring, so a gateway cannot have
//! one answer scored and show the client another.

use poq_core::Task;
use poq_ledger::Hash;
use poq_ml::llm::ChatMessage;
use serde::{Deserialize, Serialize};

/// One chat message as the API and the hashes see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// As poq-ml's generators take it.
    pub fn to_chat(&self) -> ChatMessage {
        ChatMessage {
            role: self.role.clone(),
            content: self.content.clone(),
        }
    }
}

/// The bytes of one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    /// The request's id (the receipt's `request`).
    pub request: Hash,
    /// The conversation the node answered.
    pub messages: Vec<Message>,
    /// The answer.
    pub answer: String,
    /// The task.
    pub task: Task,
}

/// The hash of a conversation: SHA-256 over `"poq/prompt/v1" ‖ 0x00 ‖` per message its
/// role's and content's lengths (u64, little-endian) and bytes.
pub fn prompt_hash(messages: &[Message]) -> Hash {
    let mut parts: Vec<Vec<u8>> = Vec::with_capacity(messages.len() * 4);
    for m in messages {
        parts.push((m.role.len() as u64).to_le_bytes().to_vec());
        parts.push(m.role.as_bytes().to_vec());
        parts.push((m.content.len() as u64).to_le_bytes().to_vec());
        parts.push(m.content.as_bytes().to_vec());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Hash::of("poq/prompt/v1", &refs)
}

/// The hash of an answer: SHA-256 over `"poq/answer/v1" ‖ 0x00 ‖` its bytes.
pub fn answer_hash(answer: &str) -> Hash {
    Hash::of("poq/answer/v1", &[answer.as_bytes()])
}

/// What evaluators score as the prompt: the last user message (the question, or the
/// document to summarize).
pub fn scored_prompt(messages: &[Message]) -> &str {
    messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or("", |m| m.content.as_str())
}

impl Content {
    /// Whether these bytes are the ones `receipt` signed.
    pub fn matches(&self, receipt: &poq_ledger::Receipt) -> bool {
        receipt.request == self.request
            && receipt.prompt == prompt_hash(&self.messages)
            && receipt.answer == answer_hash(&self.answer)
            && receipt.task == self.task
    }
}
