//! SQuAD v1.1 exact match and token F1, bit-compatible with the official evaluation
//! script (`evaluate-v1.1.py`).
//!
//! Normalisation follows the script step by step: `lower()`, removal of
//! `string.punctuation`, `re.sub(r'\b(a|an|the)\b', ' ', text)`, and
//! `' '.join(text.split())`, with the Python semantics of each step taken from
//! [`super::text`].

use super::text::{
    counter_intersection_len, is_python_punctuation, is_python_whitespace, is_python_word_char, python_lower,
    python_split,
};

/// The official SQuAD v1.1 `normalize_answer`: lower case, no ASCII punctuation, no
/// articles `a`/`an`/`the` as whole words, whitespace runs collapsed to one space.
pub fn normalize_answer(s: &str) -> String {
    let lowered = python_lower(s);
    let unpunctuated: String = lowered.chars().filter(|&c| !is_python_punctuation(c)).collect();
    remove_articles_and_fix_whitespace(&unpunctuated)
}

/// `' '.join(re.sub(r'\b(a|an|the)\b', ' ', text).split())` in one pass.
///
/// Regex semantics reproduced: a match may start only where `\b` holds, i.e. (as
/// every article starts with a word character) where the previous character of the
/// *original* text is not a word character; alternatives are tried in order `a`,
/// `an`, `the`, each followed by `\b` (next character not a word character); matches
/// do not overlap and the scan resumes after a match. A replaced article acts as
/// whitespace, so it only separates tokens.
fn remove_articles_and_fix_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut prev_is_word = false;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let article = if prev_is_word { None } else { article_at(&text[i..]) };
        if let Some(len) = article {
            pending_space = true;
            // Every article ends in a word character.
            prev_is_word = true;
            i += len;
            continue;
        }
        if is_python_whitespace(c) {
            pending_space = true;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
        prev_is_word = is_python_word_char(c);
        i += c.len_utf8();
    }
    out
}

/// Byte length of the article matched at the start of `rest` (with the trailing `\b`
/// satisfied), trying the alternatives in the regex's order.
#[inline]
fn article_at(rest: &str) -> Option<usize> {
    ["a", "an", "the"].into_iter().find_map(|article| {
        let after = rest.strip_prefix(article)?;
        match after.chars().next() {
            Some(next) if is_python_word_char(next) => None,
            _ => Some(article.len()),
        }
    })
}

/// SQuAD v1.1 `exact_match_score`: 1.0 if both normalise to the same string, else 0.0.
pub fn exact_match(prediction: &str, reference: &str) -> f64 {
    if normalize_answer(prediction) == normalize_answer(reference) {
        1.0
    } else {
        0.0
    }
}

/// SQuAD v1.1 `f1_score`: the harmonic mean of token precision and recall over the
/// multiset intersection of normalised tokens; 0.0 when no token is shared (including
/// when both sides are empty, as in v1.1).
pub fn token_f1(prediction: &str, reference: &str) -> f64 {
    let pred = normalize_answer(prediction);
    let gold = normalize_answer(reference);
    f1_of_sorted(&sorted_tokens(&pred), &sorted_tokens(&gold))
}

/// The tokens of a normalised answer (`normalize_answer(s).split()`), sorted so that
/// multiset intersections are a linear merge.
pub(crate) fn sorted_tokens(normalized: &str) -> Vec<&str> {
    let mut tokens: Vec<&str> = python_split(normalized).collect();
    tokens.sort_unstable();
    tokens
}

/// Token F1 of two sorted token lists, in the script's exact floating-point order.
pub(crate) fn f1_of_sorted(pred: &[&str], gold: &[&str]) -> f64 {
    let num_same = counter_intersection_len(pred, gold);
    if num_same == 0 {
        return 0.0;
    }
    // `1.0 * num_same / len(...)`: exact int-to-float conversions, then one division.
    let precision = num_same as f64 / pred.len() as f64;
    let recall = num_same as f64 / gold.len() as f64;
    (2.0 * precision * recall) / (precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_need_word_boundaries() {
        assert_eq!(normalize_answer("theatre anA another"), "theatre ana another");
        // Punctuation goes first: "(the)" loses its article, "a-b" becomes one word.
        assert_eq!(normalize_answer("(the) a-b"), "ab");
        assert_eq!(normalize_answer("the\u{663} \u{663}the"), "the\u{663} \u{663}the");
        // U+0301 is not a word character, so the article before it is removed...
        assert_eq!(normalize_answer("a\u{301} b"), "\u{301} b");
        // ...and after it the article starts at a boundary too.
        assert_eq!(normalize_answer("\u{301}a b"), "\u{301} b");
        // Circled letters (So) are not word characters in Python.
        assert_eq!(normalize_answer("\u{24b6} the \u{24d0}a"), "\u{24d0} \u{24d0}");
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(normalize_answer("  the\u{1c}cat\u{a0}\u{a0}sat  "), "cat sat");
        assert_eq!(normalize_answer(" the a an "), "");
    }
}
