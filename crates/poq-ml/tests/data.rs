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

/// A FanOutQA file made here: two top-level questions whose sub-questions exercise every
/// rule (answer types, the date words, repeats, nesting, interleaving).
const FANOUT: &str = r#"[
 {"id": "t1", "question": "Top one?", "answer": {"x": "y"}, "categories": [], "decomposition": [
   {"id": "a1", "question": "Who were the first picks?", "answer": ["P", "Q"], "depends_on": [], "decomposition": [],
    "evidence": {"pageid": 1, "revid": 2, "title": "Draft", "url": "u"}},
   {"id": "a2", "question": "What is the batting hand of P?", "answer": "Right", "depends_on": ["a1"], "decomposition": [],
    "evidence": {"pageid": 1, "revid": 2, "title": "P", "url": "u"}},
   {"id": "a3", "question": "How tall is P in inches?", "answer": 61.6, "depends_on": [], "decomposition": [],
    "evidence": {"pageid": 1, "revid": 2, "title": "P", "url": "u"}},
   {"id": "a4", "question": "Who is the current coach of P's team?", "answer": "C", "depends_on": [], "decomposition": []},
   {"id": "a5", "question": "Is P retired?", "answer": true, "depends_on": [], "decomposition": []}
 ]},
 {"id": "t2", "question": "Top two?", "answer": "z", "categories": [], "decomposition": [
   {"id": "b1", "question": "Intermediate?", "answer": "ignored", "depends_on": [], "decomposition": [
     {"id": "b2", "question": "How many episodes does S have?", "answer": 9, "depends_on": [], "decomposition": []},
     {"id": "b3", "question": "what is the batting hand of p? ", "answer": "Left", "depends_on": [], "decomposition": []}
   ]},
   {"id": "b4", "question": "Where was the text first written down?", "answer": "  ", "depends_on": [], "decomposition": []},
   {"id": "b5", "question": "Where was Nowhere Man recorded?", "answer": "Abbey Road", "depends_on": [], "decomposition": []}
 ]}
]"#;

#[test]
fn fanoutqa_keeps_closed_book_factoids_interleaved() {
    let items = poq_ml::data::parse_fanoutqa(FANOUT, p()).unwrap();
    let got: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|i| (i.id.as_str(), i.question.as_str(), i.answers[0].as_str()))
        .collect();
    // Kept: a2 and a3 (string, number as written), b2 (an int, nested under an
    // intermediate node that is not itself a leaf) and b5 ("Nowhere" is not "now").
    // Dropped: lists (a1), the date-dependent a4 ("current"), booleans (a5), the
    // repeat b3 (same question up to case and spaces) and the blank answer of b4.
    // Interleaved: first of each top question, then second of each, and so on.
    assert_eq!(
        got,
        [
            ("a2", "What is the batting hand of P?", "Right"),
            ("b2", "How many episodes does S have?", "9"),
            ("a3", "How tall is P in inches?", "61.6"),
            ("b5", "Where was Nowhere Man recorded?", "Abbey Road"),
        ]
    );
    assert!(items.iter().all(|i| i.context.is_empty() && i.answers.len() == 1));
    assert_eq!(items[0].title, "P");
    assert_eq!(items[1].title, "");
    // A sub-question shared by two top-level questions (the same id) counts once.
    let shared = FANOUT.replace("\"id\": \"b5\"", "\"id\": \"a2\"");
    let ids: Vec<String> = poq_ml::data::parse_fanoutqa(&shared, p())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["a2", "b2", "a3"]);
    // Another format is an error.
    assert!(poq_ml::data::parse_fanoutqa("{\"data\": []}", p()).is_err());
}

/// The real dev file, fetched through pip: the counts and first items a Python
/// reading of the same rules gives (json.load, leaves of str/int/float answers without
/// the date words, first occurrence of each question, interleaved): 1,536 items.
#[test]
fn the_real_fanoutqa_dev_file() {
    let dir = poq_ml::fetch::fetch_model("fanoutqa", &poq_ml::fetch::default_cache_dir()).unwrap();
    let items = poq_ml::data::load_fanoutqa(&dir.join(poq_ml::data::FANOUTQA_DEV)).unwrap();
    assert_eq!(items.len(), 1536);
    let first: Vec<(&str, &str)> = items[..3]
        .iter()
        .map(|i| (i.id.as_str(), i.answers[0].as_str()))
        .collect();
    assert_eq!(
        first,
        [
            ("739617a754ded71f", "Right"),
            ("495f497083959290", "$1.027 billion"),
            ("dd7b8780971e896f", "61.6")
        ]
    );
    assert_eq!(items[199].id, "af4d244fa3aa181c");
    assert_eq!(items[199].answers, ["9"]);
    let prompts = poq_ml::collect::qa_prompts(&items[..1]);
    assert_eq!(
        prompts[0].instruction,
        "Answer the question. Reply with a short answer only.\n\nQuestion: What is the batting hand of Pat Burrell?"
    );
    assert!(prompts[0].completion.ends_with("Pat Burrell?\nAnswer:"));
}
