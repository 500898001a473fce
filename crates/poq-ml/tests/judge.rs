//! Tests of `poq_ml::judge`.

use poq_core::CoreError;
use poq_core::scorer::{ScoreInput, Scorer};
use poq_ml::MlError;
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
    let err = j.score_batch(&[item]).unwrap_err();
    // The failure's source is the typed reason, carrying the reply.
    let CoreError::ScorerFailed { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(source.downcast_ref::<MlError>(), Some(MlError::NoGrade { reply }) if reply == "great answer"),
        "{err:?}"
    );
    let cause = std::error::Error::source(&err).map(|c| c.to_string());
    assert_eq!(
        cause.as_deref(),
        Some("the reply \"great answer\" contains no grade between 0 and 10")
    );
    let err = err.to_string();
    assert!(err.contains("great answer") && err.contains("judge-scripted"), "{err}");
}

/// A model that exposes fixed log-probabilities for the grades.
struct Probabilistic(Vec<f64>);

impl Generator for Probabilistic {
    fn name(&self) -> &str {
        "probabilistic"
    }
    fn generate(&mut self, _m: &[ChatMessage], _p: &GenerationParams) -> poq_ml::Result<Generation> {
        panic!("a judge with probabilities must not parse free text")
    }
    fn continuation_logprobs(&mut self, messages: &[ChatMessage], c: &[&str]) -> poq_ml::Result<Option<Vec<f64>>> {
        assert!(messages[0].content.contains("Question: Q"));
        assert_eq!(c, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
        Ok(Some(self.0.clone()))
    }
}

#[test]
fn grades_come_from_probabilities_when_the_model_has_them() {
    let item = ScoreInput {
        prompt: "Q",
        output: "A",
        reference: None,
    };
    // P(7) = 0.25, P(8) = P(10) = 0.125, the rest of the mass on other replies: over the
    // grades that is 1/2, 1/4, 1/4, so the expected grade is 3.5 + 2 + 2.5 = 8, and the
    // likeliest 7.
    let mut lp = vec![f64::NEG_INFINITY; 11];
    lp[7] = 0.25f64.ln();
    lp[8] = 0.125f64.ln();
    lp[10] = 0.125f64.ln();
    let s = Judge::new(Probabilistic(lp)).score_batch(&[item]).unwrap()[0];
    assert!((s.score - 8.0).abs() < 1e-12, "{s:?}");
    assert_eq!(s.raw, 7.0);
    // Tiny probabilities do not underflow: log-probabilities of -2000 and -2001.
    let mut lp = vec![f64::NEG_INFINITY; 11];
    lp[2] = -2000.0;
    lp[4] = -2001.0;
    let s = Judge::new(Probabilistic(lp)).score_batch(&[item]).unwrap()[0];
    let p2 = 1.0 / (1.0 + (-1.0f64).exp());
    assert!((s.score - (2.0 * p2 + 4.0 * (1.0 - p2))).abs() < 1e-9, "{s:?}");
    // No probability on any grade is a failure, not a default.
    let err = Judge::new(Probabilistic(vec![f64::NEG_INFINITY; 11]))
        .score_batch(&[item])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("judge-probabilistic") && err.contains("no probability"),
        "{err}"
    );
}
