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
    // 3 attacks × 3 ρ × 2 K × 5 rules × every trust policy.
    assert_eq!(alignment.len(), 3 * 3 * 2 * 5 * poq_core::trust::TrustKind::ALL.len());
    for row in alignment {
        for key in ["attack", "rule", "trust"] {
            assert!(row[key].is_string(), "{key} in {row}");
        }
        // The scenario's protocol rules, stated on every row.
        assert_eq!(
            (&row["missing"], &row["evaluator_scaling"]),
            (&"penalize".into(), &"flat".into()),
            "{row}"
        );
        // None of these attacks stays silent: every round finalizes.
        assert_eq!(
            (&row["expired"], &row["missing_rate"]),
            (&0.0.into(), &0.0.into()),
            "{row}"
        );
        for key in ["malicious_reward_ratio", "malicious_trust_ratio"] {
            // Defined exactly when both classes exist.
            assert_eq!(
                row[key].is_number(),
                row["malicious"].as_u64() > Some(0),
                "{key} in {row}"
            );
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
    // 2 rewards × 2, 2 trust policies × 2 attacks, 3 committee-size, 3 correlation + 2
    // detection maps, 2 gold.
    assert_eq!(figures, 4 + 4 + 3 + 5 + 2, "{report}");
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
    // `all` includes the withholding experiment: its section, CSV and results.
    assert!(report.contains("## Withholding and reward scaling"), "{report}");
    let withholding = results["withholding"]["cells"].as_array().expect("withholding cells");
    // 2 attacks × 2 missing-report rules × 2 scalings × 2 defenses.
    assert_eq!(withholding.len(), 16);
    assert_eq!(results["withholding"]["k"], 7);
    let csv = std::fs::read_to_string(out.join("withholding.csv")).expect("withholding.csv");
    assert_eq!(csv.lines().count(), 1 + 16, "{csv}");
    // And the gold experiment: g × 4 attacks × 2 ρ × 6 defenses, the synthetic world's
    // gold rounds about g of the rounds, none at g = 0, no single-model bar.
    assert!(report.contains("## Gold spot-checks"), "{report}");
    let gold = results["gold"]["cells"].as_array().expect("gold cells");
    assert_eq!(gold.len(), s.grid.gold_fractions.len() * 4 * 2 * 6);
    for c in gold {
        let g = c["gold_fraction"].as_f64().expect("g");
        let played = c["gold_rounds"].as_f64().expect("gold rounds");
        assert!((played - g * 300.0).abs() <= 4.0 * (g * 300.0).sqrt() + 1e-9, "{c}");
        assert!(c["best_model"].is_null() && c["best_model_pearson"].is_null(), "{c}");
    }
    let csv = std::fs::read_to_string(out.join("gold.csv")).expect("gold.csv");
    assert_eq!(csv.lines().count(), 1 + gold.len(), "{csv}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn single_experiments_and_unknown_names() {
    let s = small();
    let world = SyntheticWorld::new(&s, s.seed);
    assert_eq!(EXPERIMENTS.len(), 7);
    assert!(EXPERIMENTS.contains(&"gold"));
    assert!(EXPERIMENTS.contains(&"withholding"));
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
        if name == "withholding" {
            check_withholding(&out);
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    let ctx = Context {
        scenario: &s,
        world: &world,
        label: "t".into(),
        out: out_dir("bad"),
        progress: &Silent,
    };
    let err = run("figure-9", &ctx).expect_err("unknown").to_string();
    assert!(err.contains("figure-9") && err.contains("withholding"), "{err}");
}

/// The withholding experiment on its own: one row per attack × missing-report rule ×
/// scaling × defense, and the measured effect of the missing-report rule.
fn check_withholding(out: &std::path::Path) {
    let csv = std::fs::read_to_string(out.join("withholding.csv")).expect("withholding.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "scenario,seed,attack,missing,evaluator_scaling,rule,trust,missing_rate,malicious_trust_ratio,\
             malicious_reward_ratio,detection_auc,pearson"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 16, "{csv}");
    assert!(
        rows.iter().all(|r| r.len() == 12 && r[0] == "t" && r[1] == "42"),
        "{csv}"
    );
    let field = |attack: &str, missing: &str, scaling: &str, trust: &str, col: usize| -> f64 {
        rows.iter()
            .find(|r| r[2] == attack && r[3] == missing && r[4] == scaling && r[6] == trust)
            .unwrap_or_else(|| panic!("{attack} {missing} {scaling} {trust} in {csv}"))[col]
            .parse()
            .expect("number")
    };
    // Withholders stay silent on some seats; boosters never do.
    assert!(field("withhold", "penalize", "flat", "calibrated", 7) > 0.0);
    assert_eq!(field("boosting", "ignore", "trust", "calibrated", 7), 0.0);
    // Under ours, penalized silence leaves a withholder less trusted than ignored silence.
    for scaling in ["flat", "trust"] {
        let (p, i) = (
            field("withhold", "penalize", scaling, "calibrated", 8),
            field("withhold", "ignore", scaling, "calibrated", 8),
        );
        assert!(p < i, "{scaling}: penalize {p}, ignore {i}");
    }
    let report = std::fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("## Withholding and reward scaling"), "{report}");
    assert!(report.contains("| withhold | ignore |"), "{report}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results")).expect("json");
    assert_eq!(results["withholding"]["cells"].as_array().map(Vec::len), Some(16));
}
