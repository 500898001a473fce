//! Tests of `poq_core::metrics`.
//!
//! The golden cases come from `fixtures/metrics/make_fixtures.py` (the SQuAD v1.1
//! evaluation functions and rouge-score 0.1.2) and are compared bit for bit. Scores
//! are stored as Python `repr` strings and parsed with `str::parse::<f64>`, which is
//! correctly rounded; serde_json's default float parser can be one ulp off.

use poq_core::CoreError;
use poq_core::metrics::rouge::{self, RougeScore};
use poq_core::metrics::score;
use poq_core::metrics::squad;
use proptest::prelude::*;
use serde::Deserialize;

const GOLDEN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/metrics/golden.json"
));

/// A float stored as its exact decimal repr string.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
struct Exact(f64);

impl TryFrom<String> for Exact {
    type Error = std::num::ParseFloatError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse().map(Exact)
    }
}

#[derive(Debug, Deserialize)]
struct Triple {
    precision: Exact,
    recall: Exact,
    fmeasure: Exact,
}

#[derive(Debug, Deserialize)]
struct PerReference {
    reference: String,
    em: Exact,
    f1: Exact,
    rouge1: Triple,
    rouge2: Triple,
    #[serde(rename = "rougeL")]
    rouge_l: Triple,
    #[serde(rename = "rougeLsum")]
    rouge_lsum: Triple,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    prediction: String,
    references: Vec<String>,
    em: Exact,
    f1: Exact,
    rouge1: Exact,
    rouge2: Exact,
    #[serde(rename = "rougeL")]
    rouge_l: Exact,
    #[serde(rename = "rougeLsum")]
    rouge_lsum: Exact,
    normalized_prediction: String,
    normalized_references: Vec<String>,
    rouge_tokens_prediction: Vec<String>,
    rouge_tokens_references: Vec<Vec<String>>,
    per_reference: Vec<PerReference>,
}

fn golden() -> Vec<Case> {
    serde_json::from_str(GOLDEN).expect("fixtures/metrics/golden.json parses")
}

/// Records a mismatch unless both values have identical bits.
fn check(failures: &mut Vec<String>, case: &str, what: &str, rust: f64, python: Exact) {
    let python = python.0;
    if rust.to_bits() != python.to_bits() {
        failures.push(format!("{case}: {what}: rust {rust:?} != python {python:?}"));
    }
}

fn check_triple(failures: &mut Vec<String>, case: &str, what: &str, rust: RougeScore, python: &Triple) {
    check(
        failures,
        case,
        &format!("{what}.precision"),
        rust.precision,
        python.precision,
    );
    check(failures, case, &format!("{what}.recall"), rust.recall, python.recall);
    check(
        failures,
        case,
        &format!("{what}.fmeasure"),
        rust.fmeasure,
        python.fmeasure,
    );
}

fn report(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_file_has_enough_cases() {
    let cases = golden();
    assert!(cases.len() >= 60, "only {} golden cases", cases.len());
    for case in &cases {
        assert_eq!(case.references.len(), case.per_reference.len(), "{}", case.name);
    }
}

#[test]
fn golden_aggregate_scores_are_bit_exact() {
    let mut failures = Vec::new();
    for case in golden() {
        let got = score(&case.prediction, &case.references).expect("golden cases have references");
        let name = &case.name;
        check(&mut failures, name, "em", got.em, case.em);
        check(&mut failures, name, "f1", got.f1, case.f1);
        check(&mut failures, name, "rouge1", got.rouge1, case.rouge1);
        check(&mut failures, name, "rouge2", got.rouge2, case.rouge2);
        check(&mut failures, name, "rougeL", got.rouge_l, case.rouge_l);
        check(&mut failures, name, "rougeLsum", got.rouge_lsum, case.rouge_lsum);
    }
    report(&failures);
}

#[test]
fn golden_per_reference_scores_are_bit_exact() {
    let mut failures = Vec::new();
    for case in golden() {
        for (k, r) in case.per_reference.iter().enumerate() {
            let name = format!("{} ref #{k}", case.name);
            let (pred, target) = (case.prediction.as_str(), r.reference.as_str());
            check(&mut failures, &name, "em", squad::exact_match(pred, target), r.em);
            check(&mut failures, &name, "f1", squad::token_f1(pred, target), r.f1);
            check_triple(
                &mut failures,
                &name,
                "rouge1",
                rouge::rouge_n(target, pred, 1),
                &r.rouge1,
            );
            check_triple(
                &mut failures,
                &name,
                "rouge2",
                rouge::rouge_n(target, pred, 2),
                &r.rouge2,
            );
            check_triple(&mut failures, &name, "rougeL", rouge::rouge_l(target, pred), &r.rouge_l);
            check_triple(
                &mut failures,
                &name,
                "rougeLsum",
                rouge::rouge_lsum(target, pred),
                &r.rouge_lsum,
            );
        }
    }
    report(&failures);
}

#[test]
fn golden_normalization_and_tokens_match() {
    let mut failures = Vec::new();
    for case in golden() {
        let texts = std::iter::once(&case.prediction).chain(&case.references);
        let normalized = std::iter::once(&case.normalized_prediction).chain(&case.normalized_references);
        let tokens = std::iter::once(&case.rouge_tokens_prediction).chain(&case.rouge_tokens_references);
        for ((text, want_norm), want_tokens) in texts.zip(normalized).zip(tokens) {
            let got_norm = squad::normalize_answer(text);
            if &got_norm != want_norm {
                failures.push(format!(
                    "{}: normalize_answer({text:?}): rust {got_norm:?} != python {want_norm:?}",
                    case.name
                ));
            }
            let got_tokens = rouge::tokenize(text);
            if &got_tokens != want_tokens {
                failures.push(format!(
                    "{}: tokenize({text:?}): rust {got_tokens:?} != python {want_tokens:?}",
                    case.name
                ));
            }
        }
    }
    report(&failures);
}

#[test]
fn no_references_is_an_error() {
    let none: [&str; 0] = [];
    assert_eq!(score("anything", &none), Err(CoreError::NoReferences));
}

#[test]
fn hand_computed_squad() {
    // "the cat sat" -> "cat sat"; "a cat sat down" -> "cat sat down".
    // 2 shared tokens: precision 2/2 = 1, recall 2/3, F1 = 2*1*(2/3) / (1 + 2/3) = 0.8.
    assert_eq!(squad::normalize_answer("the cat sat"), "cat sat");
    assert_eq!(squad::normalize_answer("a cat sat down"), "cat sat down");
    assert_eq!(squad::token_f1("the cat sat", "a cat sat down"), 0.8);
    assert_eq!(squad::exact_match("the cat sat", "a cat sat down"), 0.0);
    // Case, punctuation, articles and whitespace all normalise away.
    assert_eq!(squad::exact_match("The  Cat!", "cat"), 1.0);
    // Both empty: equal strings (EM 1) but no shared token (F1 0, as in v1.1).
    assert_eq!(squad::exact_match("", "the"), 1.0);
    assert_eq!(squad::token_f1("", "the"), 0.0);
    // Counter intersection clips repeats: "cat cat cat" (articles gone) vs "cat":
    // 1 shared, precision 1/3, recall 1, F1 = 2*(1/3)*1 / (4/3) = 0.5.
    assert_eq!(squad::token_f1("the the cat cat cat", "cat"), 0.5);
}

#[test]
fn hand_computed_rouge() {
    // Target "the cat sat on the mat" (6 tokens), prediction "the cat sat" (3).
    // ROUGE-1: 3 clipped unigram matches: P = 3/3, R = 3/6, F = 2*1*0.5 / 1.5 = 2/3.
    let r1 = rouge::rouge_n("the cat sat on the mat", "the cat sat", 1);
    assert_eq!((r1.precision, r1.recall, r1.fmeasure), (1.0, 0.5, 0.6666666666666666));
    // ROUGE-2: 2 of the prediction's 2 bigrams among the target's 5: P = 1, R = 0.4,
    // F = 0.8 / 1.4.
    let r2 = rouge::rouge_n("the cat sat on the mat", "the cat sat", 2);
    assert_eq!((r2.precision, r2.recall, r2.fmeasure), (1.0, 0.4, 0.5714285714285715));
    // ROUGE-L: LCS("a b c d", "a c b d") = 3, so P = R = F = 3/4.
    let rl = rouge::rouge_l("a b c d", "a c b d");
    assert_eq!((rl.precision, rl.recall, rl.fmeasure), (0.75, 0.75, 0.75));
    // ROUGE-Lsum, the ROUGE paper's example: the reference sentence "w1 w2 w3 w4 w5"
    // has LCS "w1 w2" with the first candidate sentence and "w1 w3 w5" with the
    // second; their union has 4 tokens. R = 4/5, P = 4/10, F = 0.64 / 1.2.
    let ls = rouge::rouge_lsum("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5");
    assert_eq!((ls.precision, ls.recall, ls.fmeasure), (0.4, 0.8, 0.5333333333333333));
    // Empty on either side: all zeros, for every variant.
    let zero = RougeScore {
        precision: 0.0,
        recall: 0.0,
        fmeasure: 0.0,
    };
    assert_eq!(rouge::rouge_l("", "cat"), zero);
    assert_eq!(rouge::rouge_lsum("cat", "\n\n"), zero);
    assert_eq!(rouge::rouge_n("cat", "", 1), zero);
}

#[test]
fn multi_reference_takes_the_max_per_metric() {
    // EM comes from the third reference, rouge2 from the second: maxima are per metric.
    let s = score("cat sat", &["", "the cat sat down", "cat sat"]).expect("has references");
    assert_eq!(s.em, 1.0);
    assert_eq!(s.f1, 1.0);
    assert_eq!(s.rouge2, 1.0);
}

/// Pieces that exercise the Python-compatibility paths.
const PIECES: &[&str] = &[
    "the", "a", "an", "The", "cat", "sat", "mat", "theatre", "42", "don't", "café", "İ", "ΣΑΣ", "\u{212a}", "ﬁ",
    "\u{663}", "\u{24b6}", "e\u{301}", "_", " ", " ", " ", "\n", "\r\n", "\u{a0}", "\u{1c}", "\u{2028}", "\u{200b}",
    ".", ",", "’", "—", "(", ")",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..30).prop_map(|v| v.concat()),
        any::<String>(),
    ]
}

fn in_unit_interval(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

proptest! {
    // A fixed seed: CI explores the same cases on every run, and a failure names them.
    #![proptest_config(ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6d65_7472),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn scores_lie_in_unit_interval(pred in text(), refs in prop::collection::vec(text(), 1..4)) {
        let s = score(&pred, &refs).expect("at least one reference");
        for (name, v) in [("em", s.em), ("f1", s.f1), ("rouge1", s.rouge1), ("rouge2", s.rouge2),
                          ("rougeL", s.rouge_l), ("rougeLsum", s.rouge_lsum)] {
            prop_assert!(in_unit_interval(v), "{name} = {v}");
        }
        prop_assert!(s.em == 0.0 || s.em == 1.0);
    }

    #[test]
    fn score_is_the_max_of_pairwise_scores(pred in text(), refs in prop::collection::vec(text(), 1..4)) {
        let s = score(&pred, &refs).expect("at least one reference");
        let max = |f: &dyn Fn(&str) -> f64| refs.iter().map(|r| f(r)).fold(0.0, f64::max);
        prop_assert_eq!(s.em.to_bits(), max(&|r| squad::exact_match(&pred, r)).to_bits());
        prop_assert_eq!(s.f1.to_bits(), max(&|r| squad::token_f1(&pred, r)).to_bits());
        prop_assert_eq!(s.rouge1.to_bits(), max(&|r| rouge::rouge_n(r, &pred, 1).fmeasure).to_bits());
        prop_assert_eq!(s.rouge2.to_bits(), max(&|r| rouge::rouge_n(r, &pred, 2).fmeasure).to_bits());
        prop_assert_eq!(s.rouge_l.to_bits(), max(&|r| rouge::rouge_l(r, &pred).fmeasure).to_bits());
        prop_assert_eq!(s.rouge_lsum.to_bits(), max(&|r| rouge::rouge_lsum(r, &pred).fmeasure).to_bits());
    }

    #[test]
    fn f1_is_symmetric(a in text(), b in text()) {
        prop_assert_eq!(squad::token_f1(&a, &b).to_bits(), squad::token_f1(&b, &a).to_bits());
    }

    #[test]
    fn text_against_itself_scores_one(t in text()) {
        let s = score(&t, &[&t]).expect("one reference");
        prop_assert_eq!(s.em, 1.0);
        if !squad::normalize_answer(&t).is_empty() {
            prop_assert_eq!(s.f1, 1.0);
        }
        let tokens = rouge::tokenize(&t).len();
        if tokens >= 1 {
            prop_assert_eq!(s.rouge1, 1.0);
            prop_assert_eq!(s.rouge_l, 1.0);
            prop_assert_eq!(s.rouge_lsum, 1.0);
        }
        if tokens >= 2 {
            prop_assert_eq!(s.rouge2, 1.0);
        }
    }
}
