//! SentencePiece-style BPE tokenization from GGUF metadata (`tokenizer.ggml.model` =
//! "llama": tokens with scores, no merges), as llama.cpp's SPM tokenizer does it.
//!
//! Parity target is llama.cpp, the runtime these GGUF files are made for (the Gemma
//! fixture checks token ids against llama-cpp-python). The algorithm:
//! 1. user-defined tokens (type 4: Gemma's runs of newlines and spaces) are cut out of
//!    the raw text first, longest first, and emitted as themselves;
//! 2. in the remaining fragments spaces become "▁" (and a "▁" is prepended when the
//!    model asks for `add_space_prefix`);
//! 3. starting from single characters, the adjacent pair whose concatenation is the
//!    highest-scoring vocabulary token is merged, ties to the leftmost, until no pair
//!    merges;
//! 4. a remaining symbol that is not a token is spelled as byte tokens `<0xXX>`.
//!
//! Decoding reverses it: "▁" becomes a space, byte tokens become bytes, control tokens
//! are dropped.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// Token types as llama.cpp's GGUF writer numbers them.
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;
const TYPE_BYTE: i32 = 6;

/// A SentencePiece-BPE vocabulary.
#[derive(Debug, Clone)]
pub struct SpmTokenizer {
    tokens: Vec<String>,
    scores: Vec<f32>,
    types: Vec<i32>,
    ids: HashMap<String, u32>,
    byte_ids: [Option<u32>; 256],
    /// User-defined tokens, longest first.
    user_defined: Vec<(String, u32)>,
    add_space_prefix: bool,
}

/// Why a vocabulary cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabError(pub String);

impl std::fmt::Display for VocabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One candidate merge of two adjacent symbols.
#[derive(Debug, PartialEq)]
struct Bigram {
    left: usize,
    right: usize,
    score: f32,
    /// Byte length of the merged text, to recognise stale entries.
    len: usize,
}

impl Eq for Bigram {}

impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        // Highest score first; among equal scores the leftmost (llama.cpp's order).
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A symbol of the merge: a byte range of the text in a linked list.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

impl SpmTokenizer {
    /// Builds the tokenizer from the GGUF vocabulary: tokens, their scores and types
    /// (all three of equal length).
    pub fn new(
        tokens: Vec<String>,
        scores: Vec<f32>,
        types: Vec<i32>,
        add_space_prefix: bool,
    ) -> Result<Self, VocabError> {
        if tokens.len() != scores.len() || tokens.len() != types.len() {
            return Err(VocabError(format!(
                "{} tokens but {} scores and {} types",
                tokens.len(),
                scores.len(),
                types.len()
            )));
        }
        if u32::try_from(tokens.len()).is_err() {
            return Err(VocabError(format!("{} tokens do not fit u32 ids", tokens.len())));
        }
        let mut ids = HashMap::with_capacity(tokens.len());
        let mut byte_ids = [None; 256];
        let mut user_defined = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            let id = i as u32;
            // The first occurrence wins, like llama.cpp's token_to_id map.
            ids.entry(t.clone()).or_insert(id);
            match types[i] {
                TYPE_BYTE => {
                    let byte = t
                        .strip_prefix("<0x")
                        .and_then(|h| h.strip_suffix('>'))
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| VocabError(format!("byte token {i} is {t:?}, not <0xXX>")))?;
                    byte_ids[byte as usize] = Some(id);
                }
                TYPE_USER_DEFINED if !t.is_empty() => user_defined.push((t.clone(), id)),
                _ => {}
            }
        }
        // Longest first, so "\n\n" is cut before "\n"; ids break ties deterministically.
        user_defined.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        Ok(Self {
            tokens,
            scores,
            types,
            ids,
            byte_ids,
            user_defined,
            add_space_prefix,
        })
    }

    /// Number of tokens.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The id of a token's exact text.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// Token ids of `text` (no BOS; the caller adds it).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, VocabError> {
        // Step 1: cut user-defined tokens out of the raw text, longest first.
        enum Frag<'a> {
            Raw(&'a str),
            Token(u32),
        }
        let mut frags = vec![Frag::Raw(text)];
        for (tok, id) in &self.user_defined {
            let mut next = Vec::with_capacity(frags.len());
            for f in frags {
                match f {
                    Frag::Raw(s) if s.contains(tok.as_str()) => {
                        let mut rest = s;
                        while let Some(pos) = rest.find(tok.as_str()) {
                            if pos > 0 {
                                next.push(Frag::Raw(&rest[..pos]));
                            }
                            next.push(Frag::Token(*id));
                            rest = &rest[pos + tok.len()..];
                        }
                        if !rest.is_empty() {
                            next.push(Frag::Raw(rest));
                        }
                    }
                    other => next.push(other),
                }
            }
            frags = next;
        }
        let mut out = Vec::new();
        let mut prev_special = true;
        for f in frags {
            match f {
                Frag::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
                Frag::Raw(s) => {
                    let mut escaped = String::with_capacity(s.len() + 3);
                    if self.add_space_prefix && prev_special {
                        escaped.push('▁');
                    }
                    escaped.extend(s.chars().map(|c| if c == ' ' { '▁' } else { c }));
                    self.encode_fragment(&escaped, &mut out)?;
                    prev_special = false;
                }
            }
        }
        Ok(out)
    }

    fn bigram(&self, text: &str, syms: &[Symbol], left: usize, right: usize) -> Option<Bigram> {
        let (l, r) = (syms[left], syms[right]);
        let merged = &text[l.start..r.start + r.len];
        let id = *self.ids.get(merged)?;
        Some(Bigram {
            left,
            right,
            score: self.scores[id as usize],
            len: merged.len(),
        })
    }

    /// Steps 3 and 4 on one escaped fragment.
    fn encode_fragment(&self, text: &str, out: &mut Vec<u32>) -> Result<(), VocabError> {
        let mut syms: Vec<Symbol> = text
            .char_indices()
            .map(|(start, c)| Symbol {
                start,
                len: c.len_utf8(),
                prev: None,
                next: None,
            })
            .collect();
        let n = syms.len();
        for (i, s) in syms.iter_mut().enumerate() {
            s.prev = i.checked_sub(1);
            s.next = (i + 1 < n).then_some(i + 1);
        }
        let mut queue = BinaryHeap::new();
        for i in 1..n {
            if let Some(b) = self.bigram(text, &syms, i - 1, i) {
                queue.push(b);
            }
        }
        while let Some(b) = queue.pop() {
            let (l, r) = (syms[b.left], syms[b.right]);
            // Stale: one side was merged away or has grown since this pair was queued.
            if l.len == 0 || r.len == 0 || l.len + r.len != b.len {
                continue;
            }
            syms[b.left].len += r.len;
            syms[b.left].next = r.next;
            if let Some(nx) = r.next {
                syms[nx].prev = Some(b.left);
            }
            syms[b.right].len = 0;
            if let Some(p) = syms[b.left].prev
                && let Some(nb) = self.bigram(text, &syms, p, b.left)
            {
                queue.push(nb);
            }
            if let Some(nx) = syms[b.left].next
                && let Some(nb) = self.bigram(text, &syms, b.left, nx)
            {
                queue.push(nb);
            }
        }
        let mut cur = (n > 0).then_some(0);
        while let Some(i) = cur {
            let s = syms[i];
            let piece = &text[s.start..s.start + s.len];
            match self.ids.get(piece) {
                Some(&id) => out.push(id),
                None => {
                    for byte in piece.bytes() {
                        let id = self.byte_ids[byte as usize].ok_or_else(|| {
                            VocabError(format!(
                                "{piece:?} is not a token and the vocabulary has no byte token for {byte:#04x}"
                            ))
                        })?;
                        out.push(id);
                    }
                }
            }
            cur = s.next;
        }
        Ok(())
    }

    /// Text of token ids; control tokens are dropped, byte tokens reassembled (invalid
    /// UTF-8 becomes U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            let Some(tok) = self.tokens.get(id as usize) else {
                continue;
            };
            match self.types[id as usize] {
                TYPE_CONTROL => {}
                TYPE_BYTE => {
                    if let Some(b) = self.byte_ids.iter().position(|b| *b == Some(id)) {
                        bytes.push(b as u8);
                    }
                }
                TYPE_USER_DEFINED => bytes.extend_from_slice(tok.as_bytes()),
                _ => bytes.extend_from_slice(tok.replace('▁', " ").as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
