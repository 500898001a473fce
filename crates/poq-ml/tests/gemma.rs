//! Tests of `poq_ml::gemma` and `poq_ml::spm` on the real Gemma-3-270M GGUF (fetched
//! through pip, or from `POQ_GEMMA_GGUF`) against llama.cpp's output
//! (fixtures/ml/gemma/golden.json, made by make_fixtures.py with llama-cpp-python).
//! Token ids must match exactly; logits only within the drift two correct runs of a
//! quantized model show (see `DRIFT`).

use poq_ml::gemma::GemmaBase;
use poq_ml::llm::{ChatMessage, GenerationParams, Generator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

fn model_path() -> PathBuf {
    if let Some(p) = std::env::var_os("POQ_GEMMA_GGUF") {
        return PathBuf::from(p);
    }
    let dir = poq_ml::fetch::fetch_model("gemma3-270m", &poq_ml::fetch::default_cache_dir()).unwrap();
    dir.join("gemma-3-270m-q4_k_m.gguf")
}

/// One loaded model for the module's tests (loading dequantizes the embedding).
fn model() -> std::sync::MutexGuard<'static, GemmaBase> {
    static M: OnceLock<Mutex<GemmaBase>> = OnceLock::new();
    M.get_or_init(|| Mutex::new(GemmaBase::load(&model_path()).unwrap()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn golden() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ml/gemma/golden.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn tokenization_matches_llama_cpp() {
    let g = golden();
    let m = model();
    let cases = g["tokenize"]
        .as_array()
        .unwrap()
        .iter()
        .chain(g["generate"].as_array().unwrap());
    for case in cases {
        let text = case.get("text").or(case.get("prompt")).unwrap().as_str().unwrap();
        assert_eq!(m.encode(text).unwrap(), ids(&case["ids"]), "tokenizing {text:?}");
        // Decoding gives the text back (the BOS is a control token and disappears).
        assert_eq!(m.decode(&ids(&case["ids"])), text);
    }
}

/// How far two correct runs of this quantized model may drift apart, in logits. The
/// fixture measures llama.cpp against itself (`self_drift`: the same prompt evaluated at
/// once and one token at a time, which runs other kernels): up to 0.6 on these prompts.
/// Our forward pass rounds differently again (its own kernels, exact GELU instead of
/// ggml's f16 table), so it is held to the same order.
const DRIFT: f64 = 1.0;

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

#[test]
fn greedy_decoding_follows_llama_cpp() {
    let g = golden();
    let mut m = model();
    let n = g["greedy_tokens"].as_u64().unwrap() as u32;
    let params = GenerationParams {
        max_tokens: n,
        temperature: 0.0,
        seed: None,
    };
    let mut exact_steps = 0;
    for case in g["generate"].as_array().unwrap() {
        let prompt = ids(&case["ids"]);
        let want = ids(&case["greedy"]);
        let margins: Vec<f64> = case["margins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let drift = case["self_drift"].as_f64().unwrap();
        assert!(
            drift < DRIFT,
            "llama.cpp drifts {drift} against itself: DRIFT is too tight"
        );
        // The first step's logits: the same values within the drift.
        let mut logits = m.forward(&prompt, 0).unwrap();
        for t in case["top_first"].as_array().unwrap() {
            let (id, want) = (t["id"].as_u64().unwrap() as usize, t["logit"].as_f64().unwrap());
            let got = f64::from(logits[id]);
            assert!(
                (got - want).abs() < DRIFT,
                "{}-token prompt, token {id}: logit {got} vs llama.cpp {want}",
                prompt.len()
            );
        }
        // Teacher-forced along llama.cpp's greedy path: every clear choice (margin at least
        // DRIFT) is ours too; at a near tie llama.cpp's token is within DRIFT of our best.
        for (step, (&tok, &margin)) in want.iter().zip(&margins).enumerate() {
            let best = argmax(&logits);
            let gap = f64::from(logits[best] - logits[tok as usize]);
            if margin >= DRIFT {
                assert_eq!(
                    best,
                    tok as usize,
                    "{}-token prompt, step {step}: clear choice missed",
                    prompt.len()
                );
                exact_steps += 1;
            } else {
                assert!(
                    gap < DRIFT,
                    "{}-token prompt, step {step}: llama.cpp's {tok} is {gap} below our best",
                    prompt.len()
                );
            }
            logits = m.forward(&[tok], prompt.len() + step).unwrap();
        }
        // Free-running: token for token up to llama.cpp's first near tie.
        let clear = margins.iter().take_while(|&&x| x >= DRIFT).count();
        let out = m.continue_ids(&prompt, &params, false).unwrap();
        assert_eq!(
            out[..clear.min(out.len())],
            want[..clear.min(out.len())],
            "greedy continuation of a {}-token prompt: {:?} vs llama.cpp {:?}",
            prompt.len(),
            m.decode(&out),
            case["greedy_text"]
        );
    }
    // The fixture holds enough clear choices for this to mean something.
    assert!(exact_steps >= 40, "only {exact_steps} clear steps");
}

#[test]
fn base_model_answers_with_its_first_line() {
    let mut m = model();
    m.set_name("gemma3-270m");
    let params = GenerationParams {
        max_tokens: 24,
        temperature: 0.0,
        seed: None,
    };
    let q = [ChatMessage::user("Question: What is the capital of France?\nAnswer:")];
    let a = m.generate(&q, &params).unwrap();
    assert_eq!(m.name(), "gemma3-270m");
    assert!(a.text.contains("Paris"), "answer {:?}", a.text);
    assert!(!a.text.contains('\n'));
    assert!(a.completion_tokens.unwrap() <= 24);
    // Seeded sampling is reproducible.
    let sampled = GenerationParams {
        max_tokens: 8,
        temperature: 0.8,
        seed: Some(7),
    };
    assert_eq!(
        m.generate(&q, &sampled).unwrap().text,
        m.generate(&q, &sampled).unwrap().text
    );
}

#[test]
fn bad_inputs_are_errors() {
    let mut m = model();
    assert!(m.forward(&[], 0).is_err());
    let err = m.forward(&[2, 999_999_999], 0).unwrap_err().to_string();
    assert!(err.contains("999999999"), "{err}");
    let err = GemmaBase::load(Path::new("/nonexistent/gemma.gguf"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("/nonexistent/gemma.gguf"), "{err}");
}
