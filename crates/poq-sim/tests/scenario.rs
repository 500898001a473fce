//! Tests of `poq_sim::scenario`.

use poq_core::Task;
use poq_core::attack::Attack;
use poq_core::reward::EvaluatorScaling;
use poq_core::round::MissingReport;
use poq_sim::SimError;
use poq_sim::scenario::{DEMO_TOML, Scenario};
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
    // The new protocol defaults, spelled out: a strict majority, silence penalized,
    // flat evaluator shares, every attack (withholding included) in the grid.
    let d = Scenario::default();
    assert_eq!((d.protocol.quorum, d.protocol.missing), (0.5, MissingReport::Penalize));
    assert_eq!(d.rewards.evaluator_scaling, EvaluatorScaling::Flat);
    assert_eq!(d.evaluators.inverted_task, Task::Summarization);
    assert_eq!(d.grid.attacks, Attack::NAMES.map(String::from).to_vec());
    assert!(d.attacks().expect("attacks").contains(&Attack::Withhold {
        threshold: d.attack.withhold_threshold
    }));
    // ⌊0.5 K⌋ + 1 reports finalize a round.
    assert_eq!([1, 3, 4, 7].map(|k| d.protocol.quorum_of(k)), [1, 2, 3, 4]);
    assert_eq!(
        Scenario {
            protocol: poq_sim::scenario::ProtocolParams {
                quorum: 1.0,
                ..d.protocol
            },
            ..d.clone()
        }
        .protocol
        .quorum_of(7),
        7
    );
}

/// The compiled-in demo preset is `scenarios/demo.toml`, and differs from the defaults
/// only where the file says so.
#[test]
fn demo_preset_is_the_shipped_file() {
    let demo = Scenario::demo().expect("demo preset");
    assert_eq!(Scenario::load(&repo("scenarios/demo.toml")).expect("demo.toml"), demo);
    assert_eq!(
        std::fs::read_to_string(repo("scenarios/demo.toml")).expect("read"),
        DEMO_TOML
    );
    assert_eq!((demo.name.as_str(), demo.seed, demo.rounds), ("demo", 7, 400));
    assert_eq!(demo.evaluators.count, 12);
    assert_eq!(demo.models, Scenario::default().models);
    assert_eq!(demo.trust, Scenario::default().trust);
    assert_eq!(demo.grid.ks, vec![7]);
    assert_eq!(demo.grid.rhos, vec![0.25]);
}

#[test]
fn shipped_scenarios_load() {
    for name in ["quick", "noisy-evaluators", "large-pool", "majority-attack", "demo"] {
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
        ("task.toml", "[evaluators]\ninverted_task = \"chat\"\n", "chat"),
        ("quorum.toml", "[protocol]\nquorum = 1.5\n", "protocol.quorum"),
        ("missing.toml", "[protocol]\nmissing = \"forgive\"\n", "forgive"),
        ("scaling.toml", "[rewards]\nevaluator_scaling = \"stake\"\n", "stake"),
        ("withhold.toml", "[attack]\nwithhold_threshold = -1.0\n", "threshold"),
        ("trust.toml", "[grid]\ntrusts = [\"blind\"]\n", "blind"),
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
