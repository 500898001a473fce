//! Tests of `poq_ml::registry`: names parse once, round-trip and fail loudly; evaluators
//! check their model directory before loading anything. Nothing here downloads a model.

use poq_ml::MlError;
use poq_ml::registry::{
    BI_ENCODER_PACKAGE, EvaluatorName, JUDGE_MODEL, ModelName, check_model_dir, default_evaluators, default_models,
    load_scorer,
};
use std::path::{Path, PathBuf};

/// A cache directory that does not exist: anything that tried to fetch would have to
/// create it.
fn no_cache() -> PathBuf {
    std::env::temp_dir().join(format!("poq-ml-registry-{}-never-created", std::process::id()))
}

#[test]
fn every_model_name_round_trips() {
    for m in ModelName::ALL {
        assert_eq!(ModelName::from_name(m.name()).unwrap(), m);
        assert_eq!(m.name().parse::<ModelName>().unwrap(), m);
        assert_eq!(m.to_string(), m.name());
        // Every model is a package the fetch registry knows, under the same name.
        assert!(poq_ml::fetch::artefact(m.name()).is_ok(), "{m}");
        assert!(m.gguf_file().ends_with(".gguf"), "{m}");
    }
    let names: Vec<&str> = ModelName::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(names.join(", "), ModelName::NAMES);
    assert_eq!(
        names,
        [
            "smollm2-135m-instruct",
            "gemma3-270m",
            "qwen2.5-coder-0.5b-instruct",
            "qwen2.5-coder-1.5b-instruct"
        ]
    );
    assert!(ModelName::Qwen05.is_chat() && ModelName::Qwen15.is_chat());
    assert!(ModelName::SmolLm2.is_chat() && !ModelName::Gemma3.is_chat());
    assert!(JUDGE_MODEL.is_chat());
    assert!(poq_ml::fetch::artefact(BI_ENCODER_PACKAGE).is_ok());
}

#[test]
fn every_evaluator_name_round_trips() {
    for e in EvaluatorName::ALL {
        assert_eq!(EvaluatorName::from_name(e.name()).unwrap(), e);
        assert_eq!(e.name().parse::<EvaluatorName>().unwrap(), e);
        assert_eq!(e.to_string(), e.name());
    }
    let names: Vec<&str> = EvaluatorName::ALL.iter().map(|e| e.name()).collect();
    assert_eq!(names.join(", "), EvaluatorName::NAMES);
    assert_eq!(
        names,
        [
            "bi-encoder",
            "bi-encoder-mpnet",
            "cross-encoder",
            "lexical-f1",
            "lexical-rougeL",
            "judge",
            "judge-qwen"
        ]
    );
}

#[test]
fn unknown_names_are_errors_naming_them_and_the_accepted_ones() {
    let err = ModelName::from_name("gpt-5").unwrap_err();
    assert!(
        matches!(&err, MlError::UnknownName { kind: "model", name, expected } if name == "gpt-5" && *expected == ModelName::NAMES),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("\"gpt-5\"") && msg.contains(ModelName::NAMES), "{msg}");
    let err = "lexical-F1".parse::<EvaluatorName>().unwrap_err();
    assert!(
        matches!(&err, MlError::UnknownName { kind: "evaluator", name, .. } if name == "lexical-F1"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("\"lexical-F1\"") && msg.contains(EvaluatorName::NAMES),
        "{msg}"
    );
    // Names are exact: no trimming, no case folding.
    assert!(ModelName::from_name(" gemma3-270m").is_err());
    assert!(EvaluatorName::from_name("").is_err());
}

#[test]
fn defaults_are_every_model_and_every_evaluator_the_options_allow() {
    assert_eq!(default_models(), ModelName::ALL);
    assert_eq!(
        default_evaluators(false),
        [
            EvaluatorName::BiEncoder,
            EvaluatorName::BiEncoderMpnet,
            EvaluatorName::LexicalF1,
            EvaluatorName::LexicalRougeL,
            EvaluatorName::Judge,
            EvaluatorName::JudgeQwen
        ]
    );
    assert_eq!(default_evaluators(true), EvaluatorName::ALL);
}

#[test]
fn model_directories_are_checked_before_anything_loads() {
    let cache = no_cache();
    let dir = Path::new("/some/model");
    for e in [
        EvaluatorName::LexicalF1,
        EvaluatorName::LexicalRougeL,
        EvaluatorName::Judge,
        EvaluatorName::JudgeQwen,
        EvaluatorName::BiEncoderMpnet,
    ] {
        assert!(!e.takes_model_dir());
        let err = load_scorer(e, Some(dir), &cache)
            .err()
            .expect("a directory for a model-free evaluator");
        assert!(
            matches!(&err, MlError::ModelDirUnused { evaluator, dir: d } if *evaluator == e.name() && d == dir),
            "{err:?}"
        );
        assert!(err.to_string().contains("/some/model"), "{err}");
    }
    let err = load_scorer(EvaluatorName::CrossEncoder, None, &cache)
        .err()
        .expect("a cross-encoder without a directory");
    assert!(
        matches!(
            err,
            MlError::ModelDirRequired {
                evaluator: "cross-encoder",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(EvaluatorName::BiEncoder.takes_model_dir() && EvaluatorName::CrossEncoder.takes_model_dir());
    // The bi-encoder takes a directory or fetches its default; the cross-encoder needs one.
    assert!(check_model_dir(EvaluatorName::BiEncoder, None).is_ok());
    assert!(check_model_dir(EvaluatorName::BiEncoder, Some(dir)).is_ok());
    assert!(check_model_dir(EvaluatorName::CrossEncoder, Some(dir)).is_ok());
    assert!(check_model_dir(EvaluatorName::CrossEncoder, None).is_err());
    assert!(check_model_dir(EvaluatorName::Judge, None).is_ok());
    // The lexical scorers need no model: they load from nothing, named as the registry
    // names them.
    for e in [EvaluatorName::LexicalF1, EvaluatorName::LexicalRougeL] {
        assert_eq!(load_scorer(e, None, &cache).unwrap().name(), e.name());
    }
    // A directory that is not a model is the loader's error, not a fetch.
    let err = load_scorer(EvaluatorName::CrossEncoder, Some(&cache), &cache)
        .err()
        .expect("a missing directory");
    assert!(!matches!(err, MlError::ModelDirRequired { .. }), "{err:?}");
    assert!(!cache.exists());
}
