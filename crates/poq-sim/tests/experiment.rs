//! Tests of `poq_sim::experiment` on a small grid.

use poq_sim::experiment::{Context, EXPERIMENTS, Silent, run};
use poq_sim::scenario::Scenario;
use poq_sim::world::SyntheticWorld;
use std::path::PathBuf;

fn small() -> Scenario {
    let mut s = Scenario {
        rounds: 300,
        ..Scenario::default()
    };
    s.grid.rhos = vec![0.0, 0.1, 0.3];
    s.grid.ks = vec![3, 7];
    s.grid.attacks = vec!["none".into(), "boosting".into(), "noise".into()];
    s
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("poq-sim-exp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn all_writes_the_report_and_results() {
    let s = small();
    let world = SyntheticWorld::new(&s, s.seed);
    let out = out_dir("all");
    let ctx = Context {
        scenario: &s,
        world: &world,
        label: "small test grid".into(),
        out: out.clone(),
        progress: &Silent,
    };
    run("all", &ctx).expect("runs");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results")).expect("json");
    let alignment = results["alignment"].as_array().expect("alignment array");
    // 3 attacks × 3 ρ × 2 K × 5 rules × 3 trusts.
    assert_eq!(alignment.len(), 270);
    for row in alignment {
        for key in ["attack", "rule", "trust"] {
            assert!(row[key].is_string(), "{key} in {row}");
        }
        for key in ["rho", "pearson", "spearman", "mae", "payout_inflation"] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
        assert!(row["k"].is_u64());
        assert!(row["detection_auc"].is_number() || row["detection_auc"].is_null());
        if row["trust"] == "none" || row["rho"] == 0.0 || row["attack"] == "none" {
            assert!(row["detection_auc"].is_null(), "nothing to detect: {row}");
        }
        assert_eq!(
            row["trimmed_per_side"].is_null(),
            row["rule"] != "trimmed-mean",
            "{row}"
        );
    }
    // The headline, read back from the file: ours detects boosters, the published rule
    // does not, and ours tracks the truth better than the published configuration.
    let cell = |rule: &str, trust: &str| {
        alignment
            .iter()
            .find(|r| {
                r["attack"] == "boosting" && r["rho"] == 0.3 && r["k"] == 7 && r["rule"] == rule && r["trust"] == trust
            })
            .expect("cell present")
    };
    let (ours, published) = (
        cell("weighted-median", "calibrated"),
        cell("weighted-mean", "published"),
    );
    assert!(ours["detection_auc"].as_f64().expect("auc") > 0.9);
    assert!(published["detection_auc"].as_f64().expect("auc") < 0.7);
    assert!(ours["pearson"].as_f64() > published["pearson"].as_f64());
    // Payout inflation is the sum of its parts.
    for row in alignment {
        let (t, i, e) = (
            row["payout_inflation"].as_f64().expect("t"),
            row["inference_inflation"].as_f64().expect("i"),
            row["evaluator_inflation"].as_f64().expect("e"),
        );
        assert!((t - (i + e)).abs() < 1e-12, "{row}");
    }
    assert_eq!(results["meta"]["seed"], 42);
    assert_eq!(results["meta"]["rounds"], 300);
    assert_eq!(results["meta"]["scenario"], "small test grid");
    let report = std::fs::read_to_string(out.join("report.md")).expect("report");
    // Every figure the report embeds exists and is a PNG.
    let mut figures = 0;
    for line in report.lines().filter(|l| l.starts_with("![")) {
        let file = line
            .split('(')
            .nth(1)
            .and_then(|s| s.strip_suffix(')'))
            .expect("figure link");
        let bytes = std::fs::read(out.join(file)).expect(file);
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{file}");
        figures += 1;
    }
    // 2 rewards × 2, 2 trust policies × 2 attacks, 3 committee-size, 3 correlation + 2 detection maps.
    assert_eq!(figures, 4 + 4 + 3 + 5, "{report}");
    assert!(report.contains("Seed 42"), "the report states its seed");
    for csv in [
        "alignment.csv",
        "rewards_inference.csv",
        "rewards_evaluator.csv",
        "trust.csv",
        "committee_size.csv",
    ] {
        let text = std::fs::read_to_string(out.join(csv)).expect(csv);
        assert!(text.lines().count() > 1, "{csv} has rows");
    }
    assert!(
        std::fs::read_to_string(out.join("comparison.md"))
            .expect("table")
            .contains("| boosting | 0.1 |")
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn single_experiments_and_unknown_names() {
    let s = small();
    let world = SyntheticWorld::new(&s, s.seed);
    for name in EXPERIMENTS {
        let out = out_dir(name);
        let ctx = Context {
            scenario: &s,
            world: &world,
            label: "t".into(),
            out: out.clone(),
            progress: &Silent,
        };
        run(name, &ctx).expect(name);
        assert!(
            out.join("report.md").exists() && out.join("results.json").exists(),
            "{name}"
        );
        let _ = std::fs::remove_dir_all(&out);
    }
    let ctx = Context {
        scenario: &s,
        world: &world,
        label: "t".into(),
        out: out_dir("bad"),
        progress: &Silent,
    };
    assert!(run("figure-9", &ctx).is_err());
}
