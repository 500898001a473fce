//! Tests of `poq_ml::judge`.

use poq_core::scorer::{ScoreInput, Scorer};
use poq_ml::judge::{Judge, parse_grade};
use poq_ml::llm::{ChatMessage, Generation, GenerationParams, Generator};

#[test]
fn grades_are_parsed_robustly() {
    let cases: [(&str, Option<f64>); 10] = [
        ("7", Some(7.0)),
        ("Score: 7/10", Some(7.0)),
        ("**8.5**", Some(8.5)),
        ("I'd give it a 6.", Some(6.0)),
        ("10/10, perfect", Some(10.0)),
        ("/10 then 4", Some(4.0)),
        ("It scores 42, no, 3", Some(3.0)),
        ("Grade: 0", Some(0.0)),
        ("excellent!", None),
        ("", None),
    ];
    for (reply, want) in cases {
        assert_eq!(parse_grade(reply), want, "{reply:?}");
    }
}

/// A scripted model: replies in turn, so the judge's parsing and failure are tested
/// without a real model (the real one is exercised by the collect test).
struct Scripted(Vec<&'static str>, usize);

impl Generator for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn generate(&mut self, messages: &[ChatMessage], _p: &GenerationParams) -> poq_ml::Result<Generation> {
        assert!(messages[0].content.contains("Question: Q"));
        let text = self.0[self.1 % self.0.len()].to_string();
        self.1 += 1;
        Ok(Generation {
            text,
            latency_ms: 1.0,
            prompt_tokens: None,
            completion_tokens: None,
        })
    }
}

#[test]
fn unparseable_replies_are_failures() {
    let item = ScoreInput {
        prompt: "Q",
        output: "A",
        reference: Some("A"),
    };
    let mut j = Judge::new(Scripted(vec!["8/10"], 0));
    assert_eq!(j.name(), "judge-scripted");
    assert_eq!(j.score_batch(&[item]).unwrap()[0].score, 8.0);
    let mut j = Judge::new(Scripted(vec!["great answer"], 0));
    let err = j.score_batch(&[item]).unwrap_err().to_string();
    assert!(err.contains("great answer") && err.contains("judge-scripted"), "{err}");
}
