//! Tests of `poq_ml::cross_encoder`: parity with sentence-transformers' `CrossEncoder` on
//! golden logits and scores (fixtures/ml/cross_encoder, written by the real library on the
//! random tiny BERT committed beside them), truncation, batching, the activation and max
//! length the library picks for variants of the directory, the scorer, and load errors.
//!
//! Everything comes from the committed fixture: no network, no model download.

use poq_core::scorer::{ScoreInput, Scorer, logit_to_score};
use poq_ml::MlError;
use poq_ml::cross_encoder::{Activation, CrossEncoder, CrossEncoderScorer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Tolerance on every logit and score, against sentence-transformers.
const TOL: f64 = 1e-5;

#[derive(Deserialize)]
struct Golden {
    model: GoldenModel,
    pairs: Vec<GoldenPair>,
    load_cases: Vec<LoadCase>,
}

#[derive(Deserialize)]
struct GoldenModel {
    dir: String,
    num_labels: usize,
    max_length: usize,
    max_position_embeddings: usize,
    default_activation: String,
}

#[derive(Deserialize)]
struct GoldenPair {
    label: String,
    a: String,
    b: String,
    n_tokens: usize,
    logit: f64,
    score: f64,
    n_tokens_max64: usize,
    logit_max64: f64,
}

/// A variant of the model directory and what sentence-transformers made of it.
#[derive(Deserialize)]
struct LoadCase {
    label: String,
    /// Merged into config.json (top-level keys replaced).
    config_patch: serde_json::Map<String, serde_json::Value>,
    /// Files written beside the model, by name.
    files: BTreeMap<String, serde_json::Value>,
    activation: String,
    max_length: usize,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ml/cross_encoder")
}

fn golden() -> &'static Golden {
    static GOLDEN: OnceLock<Golden> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        let text = std::fs::read_to_string(fixtures_dir().join("golden.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn model_dir() -> PathBuf {
    fixtures_dir().join(&golden().model.dir)
}

fn encoder() -> &'static CrossEncoder {
    static ENCODER: OnceLock<CrossEncoder> = OnceLock::new();
    ENCODER.get_or_init(|| CrossEncoder::load(&model_dir()).unwrap())
}

impl Golden {
    fn pair(&self, label: &str) -> &GoldenPair {
        self.pairs
            .iter()
            .find(|p| p.label == label)
            .unwrap_or_else(|| panic!("no golden pair {label:?}"))
    }
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Sigmoid => "Sigmoid",
        Activation::Identity => "Identity",
    }
}

/// Compares values with the golden ones; returns the largest deviation and panics listing
/// every pair that is off, by label and texts.
fn assert_close(what: &str, pairs: &[&GoldenPair], got: &[f64], want: impl Fn(&GoldenPair) -> f64) -> f64 {
    assert_eq!(got.len(), pairs.len(), "{what}: one value per pair");
    let mut worst = 0.0f64;
    let mut failures = Vec::new();
    for (p, &v) in pairs.iter().zip(got) {
        let dev = (v - want(p)).abs();
        worst = worst.max(dev);
        if dev.is_nan() || dev > TOL {
            failures.push(format!(
                "{:?} ({:?}, {:?}; {} tokens): {v} vs sentence-transformers {} (|Δ| {dev:.2e})",
                p.label,
                p.a,
                p.b,
                p.n_tokens,
                want(p)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: off by more than {TOL:e}:\n{}",
        failures.join("\n")
    );
    worst
}

fn text_pairs<'a>(pairs: &[&'a GoldenPair]) -> Vec<(&'a str, &'a str)> {
    pairs.iter().map(|p| (p.a.as_str(), p.b.as_str())).collect()
}

#[test]
fn golden_fixture_is_what_the_test_expects() {
    let g = golden();
    assert_eq!(g.model.num_labels, 1);
    assert_eq!(g.model.default_activation, "Sigmoid");
    assert_eq!(g.model.max_length, 48);
    assert_eq!(g.model.max_position_embeddings, 64);
    assert!(g.pairs.len() >= 20);
    // The truncation cases really are truncated in the reference, at both lengths...
    for label in ["long-first", "long-second", "long-both", "long-both-other-tails"] {
        assert_eq!(g.pair(label).n_tokens, 48, "{label}");
        assert_eq!(g.pair(label).n_tokens_max64, 64, "{label}");
    }
    // ...and the tokenizer.json's own truncation at 16 was not used.
    assert!(g.pairs.iter().any(|p| (17..48).contains(&p.n_tokens)));
    assert!(g.pairs.iter().any(|p| p.a.is_empty() && p.b.is_empty()));
    // Both sides of the sigmoid are covered.
    assert!(g.pairs.iter().any(|p| p.logit > 1.0) && g.pairs.iter().any(|p| p.logit < -1.0));
    // The model is tiny.
    let size: u64 = std::fs::read_dir(model_dir())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(size < 1 << 20, "fixture model is {size} bytes");
}

#[test]
fn logits_and_scores_match_sentence_transformers() {
    let g = golden();
    let enc = encoder();
    assert_eq!(enc.activation(), Activation::Sigmoid);
    assert_eq!(enc.max_length(), g.model.max_length);
    let all: Vec<&GoldenPair> = g.pairs.iter().collect();
    let pairs = text_pairs(&all);
    // All at once: one batch mixing the longest (truncated) and the shortest pairs.
    let logits = enc.score_pairs(&pairs).unwrap();
    let worst_logit = assert_close("logits", &all, &logits, |p| p.logit);
    let scores = enc.predict(&pairs).unwrap();
    let worst_score = assert_close("scores (default activation)", &all, &scores, |p| p.score);
    eprintln!(
        "max |Δ| vs sentence-transformers: logit {worst_logit:.2e}, score {worst_score:.2e} ({} pairs)",
        all.len()
    );
}

#[test]
fn batching_does_not_change_logits() {
    let g = golden();
    let enc = encoder();
    let labels = [
        "long-both",
        "empty-both",
        "capital-match",
        "emoji",
        "long-second",
        "single-chars",
    ];
    let chosen: Vec<&GoldenPair> = labels.iter().map(|l| g.pair(l)).collect();
    // Each alone (no padding at all).
    let alone: Vec<f64> = chosen
        .iter()
        .map(|p| enc.score_pairs(&[(p.a.as_str(), p.b.as_str())]).unwrap()[0])
        .collect();
    assert_close("each pair alone", &chosen, &alone, |p| p.logit);
    // Reversed, in one batch, padded to the longest.
    let reversed: Vec<&GoldenPair> = chosen.iter().rev().copied().collect();
    let together = enc.score_pairs(&text_pairs(&reversed)).unwrap();
    assert_close("reversed, one batch", &reversed, &together, |p| p.logit);
    for (a, b) in alone.iter().zip(together.iter().rev()) {
        // Padding changes the shapes of the matrix products and so their f32 rounding.
        assert!((a - b).abs() < 1e-6 * a.abs().max(1.0), "alone {a} vs in a batch {b}");
    }
    // Deterministic: the same call gives the same bits.
    assert_eq!(enc.score_pairs(&text_pairs(&reversed)).unwrap(), together);
    assert!(enc.score_pairs(&[]).unwrap().is_empty());
    assert!(enc.predict(&[]).unwrap().is_empty());
    // More than one batch of 32: every golden pair three times over.
    let many: Vec<&GoldenPair> = g.pairs.iter().chain(&g.pairs).chain(&g.pairs).collect();
    let logits = enc.score_pairs(&text_pairs(&many)).unwrap();
    assert_close("three copies, several batches", &many, &logits, |p| p.logit);
}

#[test]
fn truncation_is_longest_first_at_the_model_max_length() {
    let g = golden();
    let enc = encoder();
    // Pairs that differ only after the 48th word piece score alike...
    for (a, b) in [
        ("long-first", "long-first-other-tail"),
        ("long-both", "long-both-other-tails"),
    ] {
        let got = enc.score_pairs(&text_pairs(&[g.pair(a), g.pair(b)])).unwrap();
        assert!((got[0] - got[1]).abs() < 1e-6, "{a} {} vs {b} {}", got[0], got[1]);
    }
    // ...and like sentence-transformers' truncation (the other text kept whole when it is
    // short: longest first), not the tokenizer.json's own at 16.
    let long: Vec<&GoldenPair> = g.pairs.iter().filter(|p| p.n_tokens == 48).collect();
    assert!(long.len() >= 5);
    let got = enc.score_pairs(&text_pairs(&long)).unwrap();
    assert_close("truncated pairs", &long, &got, |p| p.logit);
}

/// A copy of the fixture model with config.json patched and extra files written (or
/// tokenizer_config.json left out), in a fresh temporary directory.
fn variant_dir(
    name: &str,
    patch: &serde_json::Map<String, serde_json::Value>,
    files: &BTreeMap<String, serde_json::Value>,
    with_tokenizer_config: bool,
) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("poq-cross-encoder-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = model_dir();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    if with_tokenizer_config {
        std::fs::copy(src.join("tokenizer_config.json"), dir.join("tokenizer_config.json")).unwrap();
    }
    let mut config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    config.extend(patch.clone());
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&config).unwrap()).unwrap();
    for (f, content) in files {
        std::fs::write(dir.join(f), serde_json::to_string_pretty(content).unwrap()).unwrap();
    }
    dir
}

fn patch(json: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    json.as_object().unwrap().clone()
}

#[test]
fn without_tokenizer_config_truncation_is_at_max_position_embeddings() {
    let g = golden();
    let dir = variant_dir("max64", &serde_json::Map::new(), &BTreeMap::new(), false);
    let enc = CrossEncoder::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(enc.max_length(), 64);
    let all: Vec<&GoldenPair> = g.pairs.iter().collect();
    let got = enc.score_pairs(&text_pairs(&all)).unwrap();
    let worst = assert_close("logits truncated at 64", &all, &got, |p| p.logit_max64);
    eprintln!("max |Δ| of a logit truncated at 64 vs sentence-transformers: {worst:.2e}");
    // The long pairs do change between 48 and 64 word pieces.
    assert!(g.pairs.iter().any(|p| (p.logit - p.logit_max64).abs() > 0.1));
}

#[test]
fn activation_and_max_length_are_chosen_as_sentence_transformers_does() {
    let g = golden();
    assert!(g.load_cases.len() >= 10);
    for case in &g.load_cases {
        let dir = variant_dir(&case.label, &case.config_patch, &case.files, true);
        let enc = CrossEncoder::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", case.label));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(activation_name(enc.activation()), case.activation, "{}", case.label);
        assert_eq!(enc.max_length(), case.max_length, "{}", case.label);
        // predict applies the chosen activation to the logit.
        let p = g.pair("capital-match");
        let got = enc.predict(&[(p.a.as_str(), p.b.as_str())]).unwrap()[0];
        let want = match enc.activation() {
            Activation::Sigmoid => p.score,
            Activation::Identity => p.logit,
        };
        assert!((got - want).abs() < TOL, "{}: predict {got} vs {want}", case.label);
    }
    // Identity from config.json's current key, and from the older one.
    for label in ["new-identity", "old-identity", "st-saved-identity"] {
        assert!(
            g.load_cases
                .iter()
                .any(|c| c.label == label && c.activation == "Identity"),
            "{label}"
        );
    }
}

fn model_error(r: poq_ml::Result<CrossEncoder>) -> String {
    match r {
        Err(MlError::Model { reason, .. }) => reason,
        Err(e) => panic!("expected MlError::Model, got {e}"),
        Ok(_) => panic!("expected an error, got a model"),
    }
}

#[test]
fn load_refuses_what_it_cannot_run_exactly() {
    let none = BTreeMap::new();
    let cases: [(&str, serde_json::Value, &[&str]); 6] = [
        (
            "tanh",
            serde_json::json!({"sentence_transformers": {"activation_fn": "torch.nn.modules.activation.Tanh"}}),
            &[
                "torch.nn.modules.activation.Tanh",
                "sentence_transformers.activation_fn",
            ],
        ),
        (
            "old-custom",
            serde_json::json!({"sbert_ce_default_activation_function": "my_package.MyActivation"}),
            &["my_package.MyActivation", "sbert_ce_default_activation_function"],
        ),
        (
            "two-labels",
            serde_json::json!({"id2label": {"0": "LABEL_0", "1": "LABEL_1"}, "label2id": {"LABEL_0": 0, "LABEL_1": 1}}),
            &["2 labels"],
        ),
        (
            "three-labels-by-count",
            serde_json::json!({"id2label": null, "num_labels": 3}),
            &["3 labels"],
        ),
        (
            "no-labels-means-two",
            serde_json::json!({"id2label": null, "label2id": null}),
            &["2 labels"],
        ),
        (
            "roberta",
            serde_json::json!({"model_type": "roberta"}),
            &["\"roberta\"", "not supported"],
        ),
    ];
    for (name, p, needles) in cases {
        let dir = variant_dir(name, &patch(p), &none, true);
        let reason = model_error(CrossEncoder::load(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        for needle in needles {
            assert!(reason.contains(needle), "{name}: {reason:?} lacks {needle:?}");
        }
    }

    // sentence-transformers files this crate does not run as they ask.
    let st_case = |label: &str| {
        golden()
            .load_cases
            .iter()
            .find(|c| c.label == label)
            .unwrap()
            .files
            .clone()
    };
    let mut two_modules = st_case("st-saved-identity");
    two_modules.insert(
        "modules.json".into(),
        serde_json::json!([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.base.modules.dense.Dense"}
        ]),
    );
    let mut not_a_cross_encoder = st_case("st-saved-identity");
    not_a_cross_encoder.insert(
        "config_sentence_transformers.json".into(),
        serde_json::json!({"model_type": "SentenceTransformer"}),
    );
    let mut st_tanh = st_case("st-saved-identity");
    st_tanh.insert(
        "config_sentence_transformers.json".into(),
        serde_json::json!({"model_type": "CrossEncoder", "activation_fn": "torch.nn.modules.activation.Tanh"}),
    );
    let mut extra_option = st_case("st-saved-identity");
    extra_option.insert(
        "sentence_bert_config.json".into(),
        serde_json::json!({"transformer_task": "sequence-classification", "do_lower_case": true}),
    );
    let mut too_long = st_case("st-saved-max-seq-length");
    too_long.insert(
        "sentence_bert_config.json".into(),
        serde_json::json!({"transformer_task": "sequence-classification", "max_seq_length": 65}),
    );
    for (name, files, needles) in [
        ("two-modules", two_modules, &["Dense", "not supported"][..]),
        (
            "not-a-cross-encoder",
            not_a_cross_encoder,
            &["SentenceTransformer", "CrossEncoder"][..],
        ),
        ("st-tanh", st_tanh, &["Tanh", "config_sentence_transformers.json"][..]),
        ("extra-option", extra_option, &["do_lower_case", "not supported"][..]),
        ("too-long", too_long, &["65", "max_position_embeddings"][..]),
    ] {
        let dir = variant_dir(name, &serde_json::Map::new(), &files, true);
        let reason = model_error(CrossEncoder::load(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        for needle in needles {
            assert!(reason.contains(needle), "{name}: {reason:?} lacks {needle:?}");
        }
    }
}

#[test]
fn missing_files_are_named() {
    let missing = std::env::temp_dir().join("poq-cross-encoder-no-such-model");
    match CrossEncoder::load(&missing) {
        Err(MlError::Io { path, .. }) => assert_eq!(path, missing.join("config.json")),
        Err(e) => panic!("expected MlError::Io, got {e}"),
        Ok(_) => panic!("loaded a model from a missing directory"),
    }
    for file in ["model.safetensors", "tokenizer.json"] {
        let dir = variant_dir(&format!("no-{file}"), &serde_json::Map::new(), &BTreeMap::new(), true);
        std::fs::remove_file(dir.join(file)).unwrap();
        let r = CrossEncoder::load(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        match r {
            Err(MlError::Io { path, .. }) => assert_eq!(path, dir.join(file)),
            Err(e) => panic!("expected MlError::Io for {file}, got {e}"),
            Ok(_) => panic!("loaded a model without {file}"),
        }
    }
}

#[test]
fn scorer_reads_reference_else_prompt_with_the_output() {
    let g = golden();
    let mut scorer = CrossEncoderScorer::load(&model_dir()).unwrap();
    assert_eq!(scorer.name(), "cross-encoder");
    let p = |l: &str| g.pair(l);
    let inputs = [
        // Reference given: the prompt is ignored; the pair is (reference, output).
        ScoreInput {
            prompt: "The stock market fell sharply today.",
            output: &p("capital-match").b,
            reference: Some(&p("capital-match").a),
        },
        // No reference: (prompt, output).
        ScoreInput {
            prompt: &p("capital-reversed").a,
            output: &p("capital-reversed").b,
            reference: None,
        },
        ScoreInput {
            prompt: &p("accents").a,
            output: &p("accents").b,
            reference: None,
        },
        ScoreInput {
            prompt: &p("long-second").a,
            output: &p("long-second").b,
            reference: None,
        },
    ];
    let scores = scorer.score_batch(&inputs).unwrap();
    assert_eq!(scores.len(), inputs.len());
    for (s, label) in scores
        .iter()
        .zip(["capital-match", "capital-reversed", "accents", "long-second"])
    {
        let want = g.pair(label);
        assert!(
            (s.raw - want.logit).abs() < TOL,
            "{label}: raw {} vs {}",
            s.raw,
            want.logit
        );
        // score = sigmoid(logit) ×10, which is sentence-transformers' default score ×10.
        assert!(
            (s.score - 10.0 * want.score).abs() < 10.0 * TOL,
            "{label}: {} vs {}",
            s.score,
            10.0 * want.score
        );
        assert_eq!(s.score, logit_to_score(s.raw));
        assert!((0.0..=10.0).contains(&s.score));
    }
    assert!(scorer.score_batch(&[]).unwrap().is_empty());
}

#[test]
fn scorer_maps_identity_models_through_the_sigmoid() {
    // With an Identity activation the score is still sigmoid(logit) ×10 (spec §6).
    let g = golden();
    let dir = variant_dir(
        "scorer-identity",
        &patch(serde_json::json!({"sentence_transformers": {"activation_fn": "torch.nn.modules.linear.Identity"}})),
        &BTreeMap::new(),
        true,
    );
    let mut scorer = CrossEncoderScorer::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(scorer.encoder().activation(), Activation::Identity);
    let inputs: Vec<ScoreInput<'_>> = g
        .pairs
        .iter()
        .map(|p| ScoreInput {
            prompt: &p.a,
            output: &p.b,
            reference: None,
        })
        .collect();
    let scores = scorer.score_batch(&inputs).unwrap();
    for (s, p) in scores.iter().zip(&g.pairs) {
        assert!((s.raw - p.logit).abs() < TOL, "{}", p.label);
        assert!((s.score - 10.0 * p.score).abs() < 10.0 * TOL, "{}", p.label);
        assert!((0.0..=10.0).contains(&s.score), "{}: {}", p.label, s.score);
    }
}
