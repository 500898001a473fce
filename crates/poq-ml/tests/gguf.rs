//! Tests of `poq_ml::gguf` on the real SmolLM2-135M-Instruct GGUF (fetched through pip,
//! or from `POQ_SMOLLM_GGUF`).

use poq_ml::gguf::GgufChat;
use poq_ml::llm::{ChatMessage, GenerationParams, Generator};
use std::path::PathBuf;

fn model_path() -> PathBuf {
    if let Some(p) = std::env::var_os("POQ_SMOLLM_GGUF") {
        return PathBuf::from(p);
    }
    let dir = poq_ml::fetch::fetch_model("smollm2-135m-instruct", &poq_ml::fetch::default_cache_dir()).unwrap();
    dir.join("SmolLM2-135M-Instruct.Q4_1.gguf")
}

#[test]
fn smollm2_chats() {
    let mut m = GgufChat::load(&model_path()).unwrap();
    // The GGUF's ChatML template, rendered as transformers renders it (system turn
    // added when the first message is not a system message).
    let prompt = m.render(&[ChatMessage::user("Hi")]).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    // Control tokens are single ids (1 = <|im_start|>, 2 = <|im_end|> in this vocabulary).
    let ids = m.encode("<|im_start|>user\nHi<|im_end|>").unwrap();
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&2));
    let text = "Byte-level BPE keeps spaces, digits 12345 and accents: café.";
    assert_eq!(m.decode(&m.encode(text).unwrap()).unwrap(), text);
    // Digits are split one by one, as SmolLM2's tokenizer does.
    assert_eq!(m.encode("2024").unwrap().len(), 4);

    let params = GenerationParams {
        max_tokens: 12,
        temperature: 0.0,
        seed: Some(1),
    };
    let q = [ChatMessage::user("What is the capital of France? Answer in one word.")];
    let a = m.generate(&q, &params).unwrap();
    assert!(a.text.contains("Paris"), "answer {:?}", a.text);
    assert!(a.completion_tokens.unwrap() <= 12 && a.prompt_tokens.unwrap() > 10);
    // Greedy decoding is deterministic, and each call starts a fresh conversation.
    let b = m.generate(&q, &params).unwrap();
    assert_eq!(a.text, b.text);

    // Continuation log-probabilities agree with greedy decoding: the first token the
    // model writes is the likeliest of the candidates when it is one of them.
    let q = [ChatMessage::user("How much is 2 + 2? Reply with the number only.")];
    let one = GenerationParams {
        max_tokens: 1,
        temperature: 0.0,
        seed: None,
    };
    let first = m.generate(&q, &one).unwrap().text;
    let digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let lp = m
        .continuation_logprobs(&q, &digits)
        .unwrap()
        .expect("in-process models have probabilities");
    assert!(lp.iter().all(|l| l.is_finite() && *l <= 0.0), "{lp:?}");
    assert!(lp.iter().map(|l| l.exp()).sum::<f64>() <= 1.0 + 1e-9);
    let best = (0..10).fold(0, |b, i| if lp[i] > lp[b] { i } else { b });
    assert!(digits.contains(&first.as_str()), "first token {first:?}");
    assert_eq!(digits[best], first, "{lp:?}");
    // A two-token continuation is its first token's log-probability plus the second's
    // after it, so it is below the first token's own.
    let both = m.continuation_logprobs(&q, &["4", "42"]).unwrap().unwrap();
    assert!(both[1] < both[0], "{both:?}");
    // The first "42" extends the cached prompt by one token; the second cannot (the cache
    // already holds it) and reruns the whole prompt. The attention products then have
    // other shapes and round differently, which over 30 layers can move a log-probability
    // by about 1e-2 on some prompts (on this one the two agree bit for bit here).
    let twice = m.continuation_logprobs(&q, &["42", "42"]).unwrap().unwrap();
    assert!((twice[0] - twice[1]).abs() < 0.05, "{twice:?}");
}
