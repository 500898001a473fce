//! Tests of `poq_sim::scenario`.

use poq_sim::SimError;
use poq_sim::scenario::Scenario;
use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("poq-sim-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p
}

/// The shipped default file documents the built-in defaults: they must agree.
#[test]
fn default_file_equals_built_in_defaults() {
    let file = Scenario::load(&repo("scenarios/default.toml")).expect("default.toml loads");
    assert_eq!(file, Scenario::default());
}

#[test]
fn shipped_scenarios_load() {
    for name in ["quick", "noisy-evaluators", "large-pool", "majority-attack"] {
        let s = Scenario::load(&repo(&format!("scenarios/{name}.toml"))).expect(name);
        assert_eq!(s.name, name);
    }
}

#[test]
fn partial_files_take_defaults() {
    let p = scratch("partial.toml", "rounds = 10\n[evaluators]\ncount = 16\n");
    let s = Scenario::load(&p).expect("loads");
    assert_eq!(s.rounds, 10);
    assert_eq!(s.evaluators.count, 16);
    assert_eq!(s.models, Scenario::default().models);
}

#[test]
fn bad_scenarios_name_the_value() {
    let cases = [
        ("typo.toml", "roundz = 10\n", "roundz"),
        ("rho.toml", "[grid]\nrhos = [0.1, 1.5]\n", "grid.rhos"),
        ("k.toml", "[grid]\nks = [3, 50]\n", "grid.ks"),
        ("attack.toml", "[grid]\nattacks = [\"ddos\"]\n", "ddos"),
        ("noise.toml", "[evaluators]\nnoise = [2.0, 1.0]\n", "evaluators.noise"),
        ("lambda.toml", "[trust.published]\nlambda = -1.0\n", "lambda"),
        ("task.toml", "[evaluators]\ninverted_task = \"chat\"\n", "inverted_task"),
    ];
    for (name, text, needle) in cases {
        let err = Scenario::load(&scratch(name, text)).expect_err(name).to_string();
        assert!(err.contains(needle), "{name}: {err:?} does not name {needle:?}");
    }
    assert!(matches!(
        Scenario::load(Path::new("/nonexistent/x.toml")),
        Err(SimError::Io { .. })
    ));
}
