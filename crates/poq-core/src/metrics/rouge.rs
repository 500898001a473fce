//! ROUGE-N, ROUGE-L and ROUGE-Lsum, bit-compatible with the `rouge-score` 0.1.2 Python
//! package without stemming (`RougeScorer(..., use_stemmer=False)`).
//!
//! Argument order follows `RougeScorer.score(target, prediction)`: the reference text
//! comes first. Tokens are interned to integers so that n-gram counting and the LCS
//! tables compare integers rather than strings.

use std::collections::BTreeMap;
use std::ops::Range;

use super::text::counter_intersection_len;

/// Precision, recall and F-measure of one ROUGE variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RougeScore {
    /// Matched units over units in the prediction.
    pub precision: f64,
    /// Matched units over units in the target.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub fmeasure: f64,
}

impl RougeScore {
    /// What rouge-score returns when either side has nothing to match.
    const ZERO: Self = Self {
        precision: 0.0,
        recall: 0.0,
        fmeasure: 0.0,
    };

    fn new(precision: f64, recall: f64) -> Self {
        Self {
            precision,
            recall,
            fmeasure: fmeasure(precision, recall),
        }
    }
}

/// `scoring.fmeasure`, in its operation order: `2 * p * r / (p + r)`.
fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// The rouge-score tokenizer without stemming.
///
/// Python: `lower()`, replace every run of characters outside `[a-z0-9]` by a space,
/// split on whitespace, keep the tokens matching `^[a-z0-9]+$`. That is: the maximal
/// runs of ASCII lowercase letters and digits in the lowered text, so non-ASCII letters
/// split words (`"café"` gives `["caf"]`), while `'\u{212a}'` (Kelvin sign) lowers to `'k'`
/// and counts.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    scan(text, |event| {
        if let Event::Token(t) = event {
            tokens.push(t.to_owned());
        }
    });
    tokens
}

/// ROUGE-N: clipped n-gram overlap. Precision divides by `max(#prediction n-grams, 1)`
/// and recall by `max(#target n-grams, 1)`, as rouge-score does.
///
/// `n = 0` has no n-grams (rouge-score rejects it), and scores all zeros.
pub fn rouge_n(target: &str, prediction: &str, n: usize) -> RougeScore {
    let mut interner = Interner::default();
    let target = Doc::new(target, &mut interner);
    let prediction = Doc::new(prediction, &mut interner);
    rouge_n_tokens(&target.tokens, &prediction.tokens, n)
}

/// ROUGE-L: longest common subsequence of the two token sequences; all zeros when
/// either has no token.
pub fn rouge_l(target: &str, prediction: &str) -> RougeScore {
    let mut interner = Interner::default();
    let target = Doc::new(target, &mut interner);
    let prediction = Doc::new(prediction, &mut interner);
    rouge_l_tokens(&target.tokens, &prediction.tokens)
}

/// ROUGE-Lsum: summary-level LCS over sentences, where sentences are the non-empty
/// strings between `'\n'` characters (a `"\r"` left by `"\r\n"` is a non-empty
/// sentence without tokens, as in rouge-score).
pub fn rouge_lsum(target: &str, prediction: &str) -> RougeScore {
    let mut interner = Interner::default();
    let target = Doc::new(target, &mut interner);
    let prediction = Doc::new(prediction, &mut interner);
    rouge_lsum_docs(&target, &prediction, &mut LsumScratch::default())
}

/// One step of [`scan`].
enum Event<'a> {
    /// A complete token.
    Token(&'a str),
    /// The end of a `'\n'`-separated piece of the text (also at the end of the text).
    LineEnd {
        /// Whether the piece was the empty string.
        empty: bool,
    },
}

/// Walks `text` once, reporting tokens and line ends.
///
/// Lowering character by character is exact here although Python lowers the whole
/// string: the only context-dependent mapping (final sigma) produces a non-ASCII
/// letter either way, which is a separator for this tokenizer.
fn scan(text: &str, mut emit: impl FnMut(Event<'_>)) {
    fn flush(buf: &mut String, emit: &mut impl FnMut(Event<'_>)) {
        if !buf.is_empty() {
            emit(Event::Token(buf));
            buf.clear();
        }
    }
    fn keep(c: char) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit()
    }

    let mut buf = String::new();
    let mut line_empty = true;
    for c in text.chars() {
        if c == '\n' {
            flush(&mut buf, &mut emit);
            emit(Event::LineEnd { empty: line_empty });
            line_empty = true;
            continue;
        }
        line_empty = false;
        if c.is_ascii() {
            let lower = c.to_ascii_lowercase();
            if keep(lower) {
                buf.push(lower);
            } else {
                flush(&mut buf, &mut emit);
            }
        } else {
            for lower in c.to_lowercase() {
                if keep(lower) {
                    buf.push(lower);
                } else {
                    flush(&mut buf, &mut emit);
                }
            }
        }
    }
    flush(&mut buf, &mut emit);
    emit(Event::LineEnd { empty: line_empty });
}

/// Maps token strings to dense ids; a `BTreeMap` so nothing depends on hash order.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ids: BTreeMap<String, usize>,
}

impl Interner {
    fn id(&mut self, token: &str) -> usize {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = self.ids.len();
        self.ids.insert(token.to_owned(), id);
        id
    }
}

/// A text tokenized once for every ROUGE variant.
#[derive(Debug)]
pub(crate) struct Doc {
    /// Token ids of the whole text.
    tokens: Vec<usize>,
    /// The non-empty `'\n'`-separated sentences, as ranges into `tokens`. Splitting
    /// the token list is equivalent to tokenizing each sentence, since `'\n'` is a
    /// token separator.
    lines: Vec<Range<usize>>,
}

impl Doc {
    /// Tokenizes `text`, interning its tokens in `interner`.
    pub(crate) fn new(text: &str, interner: &mut Interner) -> Self {
        let mut tokens = Vec::new();
        let mut lines = Vec::new();
        let mut line_start = 0;
        scan(text, |event| match event {
            Event::Token(t) => tokens.push(interner.id(t)),
            Event::LineEnd { empty } => {
                if !empty {
                    lines.push(line_start..tokens.len());
                }
                line_start = tokens.len();
            }
        });
        Self { tokens, lines }
    }
}

/// ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum of one target/prediction pair.
pub(crate) fn score_docs(target: &Doc, prediction: &Doc, scratch: &mut LsumScratch) -> [RougeScore; 4] {
    [
        rouge_n_tokens(&target.tokens, &prediction.tokens, 1),
        rouge_n_tokens(&target.tokens, &prediction.tokens, 2),
        rouge_l_tokens(&target.tokens, &prediction.tokens),
        rouge_lsum_docs(target, prediction, scratch),
    ]
}

fn sorted_ngrams(tokens: &[usize], n: usize) -> Vec<&[usize]> {
    if n == 0 {
        return Vec::new();
    }
    let mut grams: Vec<&[usize]> = tokens.windows(n).collect();
    grams.sort_unstable();
    grams
}

fn rouge_n_tokens(target: &[usize], prediction: &[usize], n: usize) -> RougeScore {
    let target = sorted_ngrams(target, n);
    let prediction = sorted_ngrams(prediction, n);
    // Sum over target n-grams of min(target count, prediction count).
    let overlap = counter_intersection_len(&target, &prediction) as f64;
    RougeScore::new(
        overlap / prediction.len().max(1) as f64,
        overlap / target.len().max(1) as f64,
    )
}

fn rouge_l_tokens(target: &[usize], prediction: &[usize]) -> RougeScore {
    if target.is_empty() || prediction.is_empty() {
        return RougeScore::ZERO;
    }
    let lcs = lcs_len(target, prediction) as f64;
    RougeScore::new(lcs / prediction.len() as f64, lcs / target.len() as f64)
}

/// Length of the longest common subsequence, with one rolling row of the table.
fn lcs_len(a: &[usize], b: &[usize]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for &x in a {
        // `diag` is the previous row's value at column j.
        let mut diag = 0;
        for (j, &y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    row[b.len()]
}

/// Buffers reused across the sentence pairs (and documents) of ROUGE-Lsum.
#[derive(Debug, Default)]
pub(crate) struct LsumScratch {
    /// Full LCS table, row-major, `(len(ref) + 1) x (len(cand) + 1)`.
    table: Vec<usize>,
    /// Which positions of the current reference sentence are in the union LCS.
    in_union: Vec<bool>,
    /// Remaining token counts of the target and the prediction.
    target_counts: Vec<usize>,
    prediction_counts: Vec<usize>,
}

/// `_summary_level_lcs`: for every target sentence, the union of its LCS index sets
/// against each prediction sentence; each union token scores a hit while both
/// documents still have an unused occurrence of it.
fn rouge_lsum_docs(target: &Doc, prediction: &Doc, scratch: &mut LsumScratch) -> RougeScore {
    if target.lines.is_empty() || prediction.lines.is_empty() {
        return RougeScore::ZERO;
    }
    // Every token lies in some non-empty sentence, so these are the token sums.
    let m = target.tokens.len();
    let n = prediction.tokens.len();
    if m == 0 || n == 0 {
        return RougeScore::ZERO;
    }

    let vocab = target
        .tokens
        .iter()
        .chain(&prediction.tokens)
        .max()
        .map_or(0, |&id| id + 1);
    count_into(&mut scratch.target_counts, &target.tokens, vocab);
    count_into(&mut scratch.prediction_counts, &prediction.tokens, vocab);

    let mut hits = 0usize;
    for line in &target.lines {
        let reference = &target.tokens[line.clone()];
        scratch.in_union.clear();
        scratch.in_union.resize(reference.len(), false);
        for cand in &prediction.lines {
            mark_lcs(
                reference,
                &prediction.tokens[cand.clone()],
                &mut scratch.table,
                &mut scratch.in_union,
            );
        }
        // The union, in ascending index order (`sorted(set().union(...))`).
        for (&token, _) in reference
            .iter()
            .zip(&scratch.in_union)
            .filter(|(_, in_union)| **in_union)
        {
            let (c, r) = (&mut scratch.prediction_counts[token], &mut scratch.target_counts[token]);
            if *c > 0 && *r > 0 {
                hits += 1;
                *c -= 1;
                *r -= 1;
            }
        }
    }
    RougeScore::new(hits as f64 / n as f64, hits as f64 / m as f64)
}

fn count_into(counts: &mut Vec<usize>, tokens: &[usize], vocab: usize) {
    counts.clear();
    counts.resize(vocab, 0);
    for &t in tokens {
        counts[t] += 1;
    }
}

/// `lcs_ind(reference, candidate)`: fills the LCS table, then walks back from the
/// bottom-right corner with `_backtrack_norec`'s tie-breaking (diagonal on equal
/// tokens, else left only if strictly better than up), marking the reference indices
/// of the chosen LCS in `in_union`.
fn mark_lcs(reference: &[usize], candidate: &[usize], table: &mut Vec<usize>, in_union: &mut [bool]) {
    let width = candidate.len() + 1;
    table.clear();
    table.resize((reference.len() + 1) * width, 0);
    for (i, &r) in reference.iter().enumerate() {
        let (prev, cur) = table[i * width..(i + 2) * width].split_at_mut(width);
        for (j, &c) in candidate.iter().enumerate() {
            cur[j + 1] = if r == c { prev[j] + 1 } else { prev[j + 1].max(cur[j]) };
        }
    }
    let (mut i, mut j) = (reference.len(), candidate.len());
    while i > 0 && j > 0 {
        if reference[i - 1] == candidate[j - 1] {
            in_union[i - 1] = true;
            i -= 1;
            j -= 1;
        } else if table[i * width + j - 1] > table[(i - 1) * width + j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_keeps_ascii_alnum_runs() {
        assert_eq!(tokenize("Café, the CAT's 42nd"), ["caf", "the", "cat", "s", "42nd"]);
        assert_eq!(tokenize("\u{212a}elvin İx"), ["kelvin", "i", "x"]);
        assert!(tokenize(" \n\r ").is_empty());
    }

    #[test]
    fn lsum_counts_whitespace_sentences_but_not_empty_ones() {
        let mut interner = Interner::default();
        let doc = Doc::new("a b\r\n\n\r\nc\n", &mut interner);
        assert_eq!(doc.lines, [0..2, 2..2, 2..3]);
    }

    #[test]
    fn lcs_len_matches_table() {
        assert_eq!(lcs_len(&[1, 2, 3, 4], &[2, 4, 3, 4]), 3);
        assert_eq!(lcs_len(&[1], &[2]), 0);
    }
}
