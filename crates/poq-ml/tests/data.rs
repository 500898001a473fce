//! Tests of `poq_ml::data`.

use poq_ml::MlError;
use poq_ml::data::{load_squad, load_summarization, parse_squad};
use std::path::{Path, PathBuf};

fn p() -> &'static Path {
    Path::new("test.json")
}

#[test]
fn squad_offsets_count_characters() {
    // "é" is two bytes but one character: the answer starts at character 12.
    let text = r#"{"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": "Café crème, Paris is lovely.",
        "qas": [{"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 12}, {"text": "Paris is lovely", "answer_start": 12}]}]}]}]}"#;
    let items = parse_squad(text, p()).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].answers, vec!["Paris", "Paris is lovely"]);
    assert_eq!(items[0].title, "T");
}

#[test]
fn bad_squad_files_name_the_question() {
    let bad_offset = r#"{"data": [{"title": "T", "paragraphs": [{"context": "abc def",
        "qas": [{"id": "q7", "question": "?", "answers": [{"text": "def", "answer_start": 3}]}]}]}]}"#;
    let err = parse_squad(bad_offset, p()).unwrap_err();
    assert!(matches!(err, MlError::Data { .. }));
    assert!(err.to_string().contains("q7"), "{err}");
    let dup = r#"{"data": [{"title": "T", "paragraphs": [{"context": "abc",
        "qas": [{"id": "q1", "question": "?", "answers": [{"text": "a", "answer_start": 0}]},
                {"id": "q1", "question": "?", "answers": [{"text": "b", "answer_start": 1}]}]}]}]}"#;
    assert!(parse_squad(dup, p()).unwrap_err().to_string().contains("twice"));
    let past_end = r#"{"data": [{"title": "T", "paragraphs": [{"context": "abc",
        "qas": [{"id": "q2", "question": "?", "answers": [{"text": "c", "answer_start": 9}]}]}]}]}"#;
    assert!(parse_squad(past_end, p()).is_err());
    assert!(parse_squad("{\"data\": 3}", p()).is_err());
}

#[test]
fn summarization_lines() {
    let d = std::env::temp_dir().join(format!("poq-ml-data-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let good = d.join("good.jsonl");
    std::fs::write(
        &good,
        "{\"id\": \"a\", \"document\": \"long text\", \"reference\": \"short\"}\n\n",
    )
    .unwrap();
    assert_eq!(load_summarization(&good).unwrap().len(), 1);
    let bad = d.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"a\", \"document\": \"x\", \"reference\": \"y\"}\n{\"id\": \"b\"}\n",
    )
    .unwrap();
    assert!(load_summarization(&bad).unwrap_err().to_string().contains("line 2"));
    let empty = d.join("empty.jsonl");
    std::fs::write(&empty, "{\"id\": \"a\", \"document\": \" \", \"reference\": \"y\"}\n").unwrap();
    assert!(load_summarization(&empty).unwrap_err().to_string().contains("empty"));
    let _ = std::fs::remove_dir_all(&d);
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// The project's own QA set loads, every offset checks out, and it is big enough.
#[test]
fn project_qa_set_is_valid() {
    let items = load_squad(&repo("data/poq-qa/poq-qa-v1.json")).unwrap();
    assert!(items.len() >= 100, "{} questions", items.len());
    assert!(
        items.iter().any(|i| i.answers.len() > 1),
        "some questions accept several answers"
    );
}
