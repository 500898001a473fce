//! Tests of `poq_core::scorer`.

use poq_core::CoreError;
use poq_core::scorer::{Lexical, Overlap, Score, ScoreInput, Scorer, check_score, cosine_to_score, logit_to_score};

#[test]
fn spec_mappings() {
    assert_eq!(cosine_to_score(0.5), 5.0);
    assert_eq!(cosine_to_score(-0.2), 0.0);
    assert_eq!(cosine_to_score(1.3), 10.0);
    assert_eq!(logit_to_score(0.0), 5.0);
    // sigmoid(ln 3) = 3/4.
    assert!((logit_to_score(3f64.ln()) - 7.5).abs() < 1e-12);
}

#[test]
fn lexical_overlap_by_hand() {
    let items = [
        ScoreInput {
            prompt: "Where is the Eiffel tower?",
            output: "Where is the Eiffel tower?",
            reference: None,
        },
        ScoreInput {
            prompt: "alpha beta",
            output: "gamma delta",
            reference: None,
        },
        // Normalized prompt tokens [where is eiffel tower], output [eiffel tower is in paris]:
        // 3 common, P = 3/5, R = 3/4, F1 = 2/3.
        ScoreInput {
            prompt: "Where is the Eiffel tower?",
            output: "The Eiffel tower is in Paris.",
            reference: None,
        },
    ];
    let mut f1 = Lexical::new(Overlap::TokenF1);
    assert_eq!(f1.name(), "lexical-f1");
    let s = f1.score_batch(&items).unwrap();
    assert_eq!(s[0], Score { score: 10.0, raw: 1.0 });
    assert_eq!(s[1], Score { score: 0.0, raw: 0.0 });
    assert!((s[2].raw - 2.0 / 3.0).abs() < 1e-12 && (s[2].score - 20.0 / 3.0).abs() < 1e-12);
    let mut rl = Lexical::new(Overlap::RougeL);
    assert_eq!(rl.name(), "lexical-rougeL");
    let s = rl.score_batch(&items).unwrap();
    assert_eq!(s[0].score, 10.0);
    assert_eq!(s[1].score, 0.0);
    assert!(s.iter().all(|x| (0.0..=10.0).contains(&x.score)));
}

#[test]
fn out_of_range_scores_are_failures() {
    assert!(check_score("x", Score { score: 3.0, raw: 0.3 }).is_ok());
    for bad in [10.5, -1.0, f64::NAN] {
        assert!(matches!(
            check_score("judge", Score { score: bad, raw: bad }),
            Err(CoreError::ScorerFailed { scorer, .. }) if scorer == "judge"
        ));
    }
}

/// A scorer failure keeps its cause as a typed source: the offending value is there to
/// match on, and equality compares the scorer and the cause's message.
#[test]
fn scorer_failures_keep_their_source() {
    let err = check_score("judge", Score { score: 10.5, raw: 1.05 }).unwrap_err();
    let CoreError::ScorerFailed { scorer, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(scorer, "judge");
    assert_eq!(
        source.downcast_ref::<CoreError>(),
        Some(&CoreError::ScoreOutOfRange { index: 0, value: 10.5 })
    );
    let cause = std::error::Error::source(&err).map(|c| c.to_string());
    assert_eq!(cause, Some(source.to_string()));
    assert!(err.to_string().starts_with("scorer judge failed: ") && err.to_string().contains("10.5"));
    let nan = check_score(
        "judge",
        Score {
            score: f64::NAN,
            raw: 0.0,
        },
    )
    .unwrap_err();
    assert!(
        matches!(&nan, CoreError::ScorerFailed { source, .. }
            if matches!(source.downcast_ref::<CoreError>(), Some(CoreError::ScoreNotFinite { .. }))),
        "{nan:?}"
    );
    // Clone and equality survive the shared source.
    assert_eq!(err.clone(), err);
    assert_ne!(err, check_score("judge", Score { score: 11.0, raw: 1.1 }).unwrap_err());
    assert_ne!(err, check_score("other", Score { score: 10.5, raw: 1.05 }).unwrap_err());
    assert_ne!(err, CoreError::EmptyScores);
    assert_eq!(
        CoreError::RoundClosed {
            round: poq_core::RoundId(3)
        },
        CoreError::RoundClosed {
            round: poq_core::RoundId(3)
        }
    );
    assert_ne!(
        CoreError::RoundClosed {
            round: poq_core::RoundId(3)
        },
        CoreError::RoundClosed {
            round: poq_core::RoundId(4)
        }
    );
}
