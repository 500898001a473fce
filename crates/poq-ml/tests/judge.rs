//! Tests of `poq_ml::judge`.

use poq_core::CoreError;
use poq_core::scorer::{ScoreInput, Scorer};
use poq_ml::MlError;
use poq_ml::judge::{Grading, Judge, parse_grade, parse_verdict};
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
        Some("the reply \"great answer\" contains no grade (a number from 0 to 10, or Yes/No for a verdict)")
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

/// A model with fixed log-probabilities for "Yes" and "No", which checks the verdict
/// prompt it is given.
struct YesNo(f64, f64);

impl Generator for YesNo {
    fn name(&self) -> &str {
        "yesno"
    }
    fn generate(&mut self, _m: &[ChatMessage], _p: &GenerationParams) -> poq_ml::Result<Generation> {
        panic!("a judge with probabilities must not parse free text")
    }
    fn continuation_logprobs(&mut self, messages: &[ChatMessage], c: &[&str]) -> poq_ml::Result<Option<Vec<f64>>> {
        assert_eq!(messages[0].role, "system");
        let user = &messages[1].content;
        assert!(user.starts_with("Question: Q\n"), "{user}");
        assert!(user.contains("Candidate answer: A\n"), "{user}");
        assert!(user.ends_with("Reply with Yes or No."), "{user}");
        assert_eq!(c, ["Yes", "No"]);
        Ok(Some(vec![self.0, self.1]))
    }
}

#[test]
fn verdicts_are_ten_times_the_renormalized_probability_of_yes() {
    let with_ref = ScoreInput {
        prompt: "Q",
        output: "A",
        reference: Some("R"),
    };
    // P(Yes) = 0.3, P(No) = 0.1 (the rest on other replies): 10 · 0.3/0.4 = 7.5.
    let mut j = Judge::verdict(YesNo(0.3f64.ln(), 0.1f64.ln()));
    assert_eq!(j.name(), "verdict-yesno");
    assert_eq!(j.grading(), Grading::Verdict);
    let s = j.score_batch(&[with_ref]).unwrap()[0];
    assert!((s.score - 7.5).abs() < 1e-12 && (s.raw - 0.75).abs() < 1e-12, "{s:?}");
    // Far-apart tiny log-probabilities neither underflow nor overflow.
    let s = Judge::verdict(YesNo(-3000.0, -2990.0))
        .score_batch(&[with_ref])
        .unwrap()[0];
    let want = 10.0 / (1.0 + 10f64.exp());
    assert!((s.score - want).abs() < 1e-12, "{s:?}");
    let s = Judge::verdict(YesNo(-1.0, f64::NEG_INFINITY))
        .score_batch(&[with_ref])
        .unwrap()[0];
    assert_eq!(s.score, 10.0);
    // Neither reply has probability: a failure, not a default.
    let err = Judge::verdict(YesNo(f64::NEG_INFINITY, f64::NEG_INFINITY))
        .score_batch(&[with_ref])
        .unwrap_err()
        .to_string();
    assert!(err.contains("verdict-yesno") && err.contains("no probability"), "{err}");
}

/// Records the prompts it is shown (shared, so the test can read them) and replies in
/// text.
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>, &'static str);

impl Generator for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn generate(&mut self, m: &[ChatMessage], _p: &GenerationParams) -> poq_ml::Result<Generation> {
        let shown = m
            .iter()
            .map(|x| format!("{}: {}", x.role, x.content))
            .collect::<Vec<_>>()
            .join("\n");
        self.0.lock().unwrap().push(shown);
        Ok(Generation {
            text: self.1.to_string(),
            latency_ms: 1.0,
            prompt_tokens: None,
            completion_tokens: None,
        })
    }
}

#[test]
fn the_verdict_prompt_uses_the_reference_when_there_is_one() {
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut j = Judge::verdict(Recorder(shown.clone(), "Yes."));
    let with_ref = ScoreInput {
        prompt: "Who wrote Hamlet?",
        output: "Shakespeare",
        reference: Some("William Shakespeare"),
    };
    let without = ScoreInput {
        reference: None,
        ..with_ref
    };
    let scores = j.score_batch(&[with_ref, without]).unwrap();
    assert_eq!((scores[0].score, scores[1].score), (10.0, 10.0));
    let shown = shown.lock().unwrap();
    assert_eq!(
        shown[0],
        "system: You are a strict grader of answers to questions.\n\
         user: Question: Who wrote Hamlet?\nReference answer: William Shakespeare\nCandidate answer: Shakespeare\n\n\
         Does the candidate answer mean the same as the reference answer (is it correct)? Reply with Yes or No."
    );
    assert_eq!(
        shown[1],
        "system: You are a strict grader of answers to questions.\n\
         user: Question: Who wrote Hamlet?\nCandidate answer: Shakespeare\n\n\
         Is the candidate answer factually correct? Reply with Yes or No."
    );
    // A text reply that is neither is a failure naming it.
    let mut j = Judge::verdict(Recorder(std::sync::Arc::default(), "Maybe"));
    let err = j.score_batch(&[with_ref]).unwrap_err().to_string();
    assert!(err.contains("Maybe"), "{err}");
}

#[test]
fn verdicts_are_parsed_from_text() {
    let cases: [(&str, Option<f64>); 7] = [
        ("Yes", Some(10.0)),
        ("yes, it is correct", Some(10.0)),
        ("**No**.", Some(0.0)),
        (" NO", Some(0.0)),
        ("Not really", None),
        ("Yesterday", None),
        ("", None),
    ];
    for (reply, want) in cases {
        assert_eq!(parse_verdict(reply), want, "{reply:?}");
    }
}
