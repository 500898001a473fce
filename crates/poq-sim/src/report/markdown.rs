//! `report.md`, one section per experiment, and `comparison.md`. The prose states only
//! numbers read from the scenario or the results; published reference values are the
//! named constants of [`crate::experiment`].

use super::csv::write_atomic;
use super::defense_name;
use super::figures::{self, COMMITTEE_SIZE_FILES, GOLD_FILES};
use crate::Result;
use crate::cell::CellResult;
use crate::defense::Defense;
use crate::experiment::alignment::AlignmentResult;
use crate::experiment::committee_size::{CommitteeSizeResult, cv, no_fit};
use crate::experiment::context::{
    AUC_SHORTFALL, COMPARISON_RHOS, Context, MEDIAN, OURS, PUBLISHED, PUBLISHED_BEST_REWARD, PUBLISHED_MEAN_R,
    PUBLISHED_MEDIAN_R, PUBLISHED_WORST_REWARD, QUOTED_RHO, same_rho,
};
use crate::experiment::detection::DetectionResult;
use crate::experiment::gold::{GOLD_ATTACKS, GOLD_DEFENSES, GOLD_RHOS, GoldResult};
use crate::experiment::rewards::RewardsResult;
use crate::experiment::trust::TrustResult;
use crate::experiment::withholding::WithholdingResult;
use poq_core::reward::EvaluatorScaling;
use poq_core::round::MissingReport;
use std::fmt::Write as _;

/// One section of `report.md`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    /// The heading.
    pub title: String,
    /// The text under it.
    pub text: String,
    /// (file, caption): each figure with its own paragraph.
    pub figures: Vec<(String, String)>,
    /// The data files it refers to.
    pub files: Vec<String>,
}

/// A number to three decimals, or `n/a`.
fn f3(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

/// A number to two decimals, or `n/a`.
fn f2(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))
}

/// The rewards section: per defense, the captions of both bar charts; the published
/// configuration's rewards in the text, against the published ones.
pub fn rewards_section(r: &RewardsResult) -> Section {
    let k = r.k;
    let mut sec = Section {
        title: "Rewards per node (honest world)".into(),
        ..Default::default()
    };
    for (d_i, d) in r.per_defense.iter().enumerate() {
        let name = &d.defense;
        let (f1, f2) = figures::rewards_files(d);
        let best = d.best_node().map_or("", |b| b.name.as_str());
        sec.figures.push((
            f1,
            format!(
                "Mean reward per round of each inference node under {name} (error bars: one standard deviation across \
                 rounds). The best-paid node is {best}: quality net of latency cost orders the nodes."
            ),
        ));
        let ranked = d
            .top_evaluators(3)
            .iter()
            .map(|b| b.name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        sec.figures.push((
            f2,
            format!(
                "Mean reward per round of each evaluator under {name}. Evaluators closest to the consensus and fastest \
                 earn most (top three: {ranked}); no evaluator is malicious here, so the spread reflects honest noise \
                 and latency only."
            ),
        ));
        if d_i == 0 {
            let (hi, lo) = d.node_range();
            let _ = writeln!(
                sec.text,
                "Under the published configuration ({name}) with K = {k} and no attacker, the inference nodes earn, per round, {}. \
                 The best-paid node earns {:.3} per round and the worst-paid {:.3}, a ratio of {:.1} (published, on its \
                 own normalization: {PUBLISHED_BEST_REWARD} for the largest model against {PUBLISHED_WORST_REWARD} for \
                 the weakest in a 1B–3B pool, a ratio of {:.1}). The order follows quality net of latency cost, as the \
                 cost-aware design intends.",
                d.nodes
                    .iter()
                    .map(|b| format!("{} {:.3} ± {:.3}", b.name, b.mean, b.sd))
                    .collect::<Vec<_>>()
                    .join(", "),
                hi,
                lo,
                hi / lo.max(1e-12),
                PUBLISHED_BEST_REWARD / PUBLISHED_WORST_REWARD,
            );
        }
    }
    let _ = writeln!(
        sec.text,
        "\nEvaluator rewards depend on how close each evaluator's scores are to the consensus and on its latency; \
         honest evaluators with less noise earn more. Files: `rewards_inference.csv`, `rewards_evaluator.csv`."
    );
    sec.files = vec!["rewards_inference.csv".into(), "rewards_evaluator.csv".into()];
    sec
}

/// The trust section: each figure's final mean weights, and the detection AUC of both
/// policies by attack.
pub fn trust_section(ctx: &Context, r: &TrustResult) -> Section {
    let (rho, k) = (r.rho, r.k);
    let mut sec = Section {
        title: "Trust weights over rounds".into(),
        ..Default::default()
    };
    for run in &r.runs {
        sec.figures.push((
            figures::trust_file(run),
            format!(
                "{} under {}: after {} rounds the honest evaluators average weight {:.2} and the malicious ones {:.2} \
                 (detection AUC {}).",
                defense_name(&run.rule, &run.trust),
                run.attack,
                ctx.scenario.rounds,
                run.final_mean(false),
                run.final_mean(true),
                f2(run.detection_auc),
            ),
        ));
    }
    sec.files = vec!["trust.csv".into()];
    let auc = |policy: &str| -> String {
        r.runs
            .iter()
            .filter(|s| s.trust == policy)
            .map(|s| format!("{} {}", s.attack, f2(s.detection_auc)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        sec.text,
        "Each figure follows every evaluator's weight with ρ = {rho} malicious and K = {k}: the honest evaluators' mean, \
         minimum and maximum, and each malicious evaluator (every evaluator is in `trust.csv`). The published rule \
         multiplies a weight by 1 + λ(0.5 − d) each round, so any evaluator that stays within 5 points of the consensus \
         gains weight: honest evaluators and attackers alike climb to w_max = {} (detection AUC by attack: {}). Ours \
         measures each evaluator against the unweighted median of the other members' reports (leaving out reports \
         identical to its own), per task and relative to the pool, so its weights stay spread out around the typical \
         evaluator instead of saturating (detection AUC by attack: {}). Each figure's caption gives the final mean \
         weights of both groups.",
        ctx.scenario.trust.published.w_max,
        auc("published"),
        auc("calibrated")
    );
    sec
}

/// Which way a number went from `a` to `b`.
fn trend(a: f64, b: f64) -> &'static str {
    if b > a {
        "rises"
    } else if b < a {
        "falls"
    } else {
        "stays"
    }
}

/// The committee-size section: how mean, variance and relative spread move with K,
/// against the published result; an error for a result without cells.
pub fn committee_size_section(ctx: &Context, r: &CommitteeSizeResult) -> Result<Section> {
    let Some((first, last)) = r.ends() else {
        return Err(no_fit(ctx));
    };
    let ecv = |c: &CellResult| cv(c.evaluator_reward_var, c.evaluator_reward_mean);
    let (inf_lo, inf_hi) = r.inference_mean_range();
    let [mean_file, var_file, cv_file] = COMMITTEE_SIZE_FILES;
    let mut sec = Section {
        title: "Rewards against committee size".into(),
        figures: vec![
            (
                mean_file.into(),
                format!(
                    "Mean reward per round against K: the evaluator's {} from {:.4} to {:.4}; the inference node's \
                     ranges over {:.3}–{:.3}.",
                    trend(first.evaluator_reward_mean, last.evaluator_reward_mean),
                    first.evaluator_reward_mean,
                    last.evaluator_reward_mean,
                    inf_lo,
                    inf_hi
                ),
            ),
            (
                var_file.into(),
                format!(
                    "Variance of the reward per round against K: the evaluator's {} from {:.2e} to {:.2e}.",
                    trend(first.evaluator_reward_var, last.evaluator_reward_var),
                    first.evaluator_reward_var,
                    last.evaluator_reward_var
                ),
            ),
            (
                cv_file.into(),
                format!(
                    "Standard deviation over mean of the reward per round: the evaluator's {} from {:.3} to {:.3}.",
                    trend(ecv(first), ecv(last)),
                    ecv(first),
                    ecv(last)
                ),
            ),
        ],
        files: vec!["committee_size.csv".into()],
        ..Default::default()
    };
    let evaluator_var_rises = last.evaluator_reward_var > first.evaluator_reward_var;
    let _ = writeln!(
        sec.text,
        "Honest world, published configuration, K from {} to {}. Published: a larger committee lowers each evaluator's \
         reward and raises its variance, while inference rewards stay roughly stable. Here the evaluator's mean reward \
         per round {} ({:.4} → {:.4}): the fixed evaluator budget is split among K. Its variance {} ({:.2e} → {:.2e}): {}. \
         The inference node's mean reward per round stays within {:.3}–{:.3}, since nothing in it depends on K. \
         File: `committee_size.csv`.",
        first.k,
        last.k,
        trend(first.evaluator_reward_mean, last.evaluator_reward_mean),
        first.evaluator_reward_mean,
        last.evaluator_reward_mean,
        trend(first.evaluator_reward_var, last.evaluator_reward_var),
        first.evaluator_reward_var,
        last.evaluator_reward_var,
        if evaluator_var_rises {
            "as published"
        } else {
            "unlike the published result: every evaluator reward is scaled by B_eval/K, so its per-round variance \
             shrinks roughly as 1/K², and only its spread relative to the mean (third figure) can grow"
        },
        inf_lo,
        inf_hi,
    );
    Ok(sec)
}

/// The detection section: per attack, the captions of its AUC map (but for `none`) and
/// its correlation map.
pub fn detection_section(r: &DetectionResult) -> Section {
    let k = r.k;
    let mut sec = Section {
        title: format!("Detection and alignment heatmaps (K = {k})"),
        ..Default::default()
    };
    let high = r.highest_rho;
    for a in &r.attacks {
        let attack = &a.attack;
        if a.auc.is_some() {
            sec.figures.push((
                figures::detection_auc_file(attack),
                format!(
                    "Detection under {attack}. Ours (calibrated trust) reaches an AUC of at least {} for ρ ≤ {QUOTED_RHO} and \
                     {} at ρ = {high}; the published rule gives {} at ρ = {QUOTED_RHO} (0.5 is chance).",
                    f2(a.ours_worst_auc_low),
                    f2(a.ours_auc_highest),
                    f2(a.published_auc_quoted),
                ),
            ));
        }
        let q = &a.quoted_pearson;
        sec.figures.push((
            figures::correlation_file(attack),
            format!(
                "Consensus–truth correlation under {attack}. At ρ = {QUOTED_RHO}: mean {}, median {}, published {}, ours {}.",
                f3(q.mean),
                f3(q.median),
                f3(q.published),
                f3(q.ours),
            ),
        ));
    }
    let _ = writeln!(
        sec.text,
        "One pair of heatmaps per attack: rows are the malicious ratio ρ, columns the defenses (consensus rule, plus trust \
         policy where there is one). The first of each pair is the detection AUC of the final trust weights (1 = every \
         malicious evaluator ends below every honest one, 0.5 = chance; empty where there are no malicious evaluators); \
         the second is the Pearson correlation of the consensus with the ground truth. The numbers are in `alignment.csv`."
    );
    sec
}

/// The README comparison: K = 7, ρ ∈ {0.1, 0.3}, every attack; AUC and correlation.
pub fn comparison_table(grid: &[CellResult], k: usize) -> String {
    let mut s = String::from(
        "| attack | ρ | AUC published | AUC ours | r published | r median | r ours |\n|---|---|---|---|---|---|---|\n",
    );
    let mut attacks: Vec<&str> = Vec::new();
    for c in grid {
        if !attacks.contains(&c.attack.as_str()) {
            attacks.push(&c.attack);
        }
    }
    let get = |a: &str, rho: f64, d: Defense| {
        grid.iter()
            .find(|c| c.attack == a && same_rho(c.rho, rho) && c.k == k && d.is(&c.rule, &c.trust))
    };
    for a in attacks.iter().filter(|a| **a != "none") {
        for rho in COMPARISON_RHOS {
            let (p, o, m) = (get(a, rho, PUBLISHED), get(a, rho, OURS), get(a, rho, MEDIAN));
            if p.is_none() && o.is_none() && m.is_none() {
                continue;
            }
            let _ = writeln!(
                s,
                "| {a} | {rho} | {} | {} | {} | {} | {} |",
                f3(p.and_then(|c| c.detection_auc)),
                f3(o.and_then(|c| c.detection_auc)),
                f3(p.and_then(|c| c.pearson)),
                f3(m.and_then(|c| c.pearson)),
                f3(o.and_then(|c| c.pearson)),
            );
        }
    }
    s
}

/// Writes `comparison.md`: the run, then [`comparison_table`] at the alignment's K.
pub fn write_comparison(ctx: &Context, grid: &[CellResult], r: &AlignmentResult) -> Result<()> {
    let header = format!(
        "K = {}, scenario {}, seed {}, {} rounds per cell, {} repetition(s).\n\n",
        r.k, ctx.label, ctx.scenario.seed, ctx.scenario.rounds, ctx.scenario.seeds
    );
    write_atomic(
        &ctx.out.join("comparison.md"),
        (header + &comparison_table(grid, r.k)).as_bytes(),
    )
}

/// The alignment section: what `alignment.csv` holds, the published headline against
/// the measured one, the comparison table, and where ours falls short, and why.
pub fn alignment_section(ctx: &Context, grid: &[CellResult], r: &AlignmentResult) -> Section {
    let k = r.k;
    let table = comparison_table(grid, k);
    let per_attack: Vec<String> = r
        .per_attack
        .iter()
        .map(|a| format!("{} {}/{}", a.attack, f3(a.median), f3(a.mean)))
        .collect();
    let mut sec = Section {
        title: "Alignment table".into(),
        files: vec!["alignment.csv".into(), "comparison.md".into()],
        ..Default::default()
    };
    let _ = writeln!(
        sec.text,
        "`alignment.csv` has one row per rule × trust × attack × ρ × K ({} cells): Pearson and Spearman correlation of the \
         consensus with the ground truth, mean absolute error, payout inflation (rewards paid minus the rewards an \
         all-honest committee would have paid with the same rule and weights, per round; also split into its inference \
         and evaluator parts), the detection AUC of the trust weights (empty without trust or without an attack), and \
         how many scores a trimmed mean dropped per side (0 means it equalled the mean at that K).\n\n\
         The published result: under attack, median consensus correlated {PUBLISHED_MEDIAN_R} with the proxy against \
         {PUBLISHED_MEAN_R} for the mean. Averaged over every attack and ρ > 0 at K = {k}, the median correlates {} \
         and the mean {} here: the published ordering is {}. Per attack at ρ = {QUOTED_RHO} (median/mean): {}. \
         Correlation ignores a constant shift, so boosting, sabotage and a coordinated shift barely lower the mean's \
         correlation while they move its level; the mean absolute error shows that side (median {}, mean {}). The \
         comparison of the published rule, the plain median and ours at K = {k}:\n\n{table}",
        r.cells,
        f3(r.median_pearson),
        f3(r.mean_pearson),
        match r.reproduced() {
            Some(true) => "reproduced",
            Some(false) => "not reproduced",
            None => "not measurable (no attacked cells)",
        },
        per_attack.join(", "),
        f3(r.median_mae),
        f3(r.mean_mae),
    );
    // Where ours falls short: said plainly, with the numbers.
    let weak: Vec<String> = r
        .shortfalls
        .iter()
        .map(|s| {
            format!(
                "{} at ρ = {} (AUC {}, r {} against the median's {})",
                s.attack,
                s.rho,
                f2(s.detection_auc),
                f3(s.pearson),
                f3(s.median_pearson),
            )
        })
        .collect();
    if weak.is_empty() {
        let _ = writeln!(
            sec.text,
            "\nAt K = {k} ours detects every attack with AUC ≥ {AUC_SHORTFALL} at every ρ > 0 and never correlates below the median."
        );
    } else {
        let _ = writeln!(
            sec.text,
            "\nWhere ours falls short at K = {k} (AUC below {AUC_SHORTFALL}, or any correlation below the plain median's): {}.\n\n\
             Why, by kind. When half the pool attacks (ρ = 0.5), the attackers are as typical as the honest: in many \
             committees they are the majority, so the leave-one-out references, and the pool's reference error, are \
             theirs as often as not, and no rule that judges evaluators by agreement can tell the halves apart; a \
             median-based consensus then belongs to whichever half agrees (coordinated attacks: collusion, sybil, \
             constant, copycat agree exactly). Only outside evidence (gold spot-checks with known answers, or stake) \
             can help there. The on-off attacker is honest until trusted and honest again whenever it is distrusted, \
             so its final weight depends on where it stands in its cycle when the run ends; what it costs the \
             consensus is what the correlation columns measure. Intermittent attackers are honest {:.0}% of the time, \
             so their error is close to an honest evaluator's at small ρ. Withholding attackers report honestly when they \
             report at all, so their trust is a matter of the missing-report rule (see the withholding section).",
            weak.join("; "),
            100.0 * (1.0 - ctx.scenario.attack.intermittent_p)
        );
    }
    sec
}

/// The withholding section: per defense and missing-report rule, whether withholding
/// pays; flat against trust-scaled shares for a booster; the table of every cell.
pub fn withholding_section(ctx: &Context, r: &WithholdingResult) -> Section {
    let (rho, k) = (r.rho, r.k);
    let mut table = String::from(
        "| attack | missing reports | evaluator reward | defense | silent seats | trust ratio | reward ratio | AUC | r |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for c in &r.cells {
        let name = defense_name(&c.rule, &c.trust);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {name} | {:.1}% | {} | {} | {} | {} |",
            c.attack,
            c.missing,
            c.evaluator_scaling,
            100.0 * c.missing_rate,
            f3(c.malicious_trust_ratio),
            f3(c.malicious_reward_ratio),
            f3(c.detection_auc),
            f3(c.pearson),
        );
    }
    let versus = |x: Option<f64>| match x {
        Some(v) if (v - 1.0).abs() < 1e-9 => format!("{v:.3} (as much as an honest evaluator)"),
        Some(v) if v > 1.0 => format!("{v:.3} (more than an honest evaluator: it pays)"),
        Some(v) => format!("{v:.3} (less than an honest evaluator: it does not pay)"),
        None => "n/a".to_string(),
    };
    let mut sec = Section {
        title: "Withholding and reward scaling".into(),
        files: vec!["withholding.csv".into()],
        ..Default::default()
    };
    let mut lines = Vec::new();
    for d in [PUBLISHED, OURS] {
        for missing in MissingReport::ALL {
            if let Some(c) = r.pick("withhold", missing, EvaluatorScaling::Trust, d) {
                lines.push(format!(
                    "under {} with the `{}` rule, a withholder's final trust is {} and its trust-scaled reward {}",
                    d.name(),
                    missing.name(),
                    versus(c.malicious_trust_ratio),
                    versus(c.malicious_reward_ratio)
                ));
            }
        }
    }
    let boost = |scaling| {
        r.pick("boosting", MissingReport::Penalize, scaling, OURS)
            .and_then(|c| c.malicious_reward_ratio)
    };
    let _ = writeln!(
        sec.text,
        "ρ = {rho}, K = {k}, quorum: more than {} of the committee. The withholding evaluator reports its honest score \
         but stays silent whenever that score is more than {} points from the median of the others' (it reveals last and \
         sees them), that is whenever reporting would cost it trust. Ratios compare a malicious evaluator with an honest \
         one (means of each class; 1 = no difference): final overall trust, and total reward over the run.\n\n\
         Per rule: {}.\n\n\
         Reward scaling against a booster (ours, `penalize`): with flat shares (the spec's B_eval / K) a booster earns {} \
         of an honest evaluator's total; with trust-scaled shares {}.\n\n{table}",
        ctx.scenario.protocol.quorum,
        ctx.scenario.attack.withhold_threshold,
        lines.join("; "),
        f3(boost(EvaluatorScaling::Flat)),
        f3(boost(EvaluatorScaling::Trust)),
    );
    sec
}

/// How coarse a detection AUC is at the grid's smallest positive ρ with one repetition.
fn auc_resolution(ctx: &Context) -> String {
    let n = ctx.world.evaluators();
    let rho = ctx
        .scenario
        .grid
        .rhos
        .iter()
        .copied()
        .filter(|&r| r > 0.0)
        .fold(f64::INFINITY, f64::min);
    let m = if rho.is_finite() {
        ((rho * n as f64).round() as usize).min(n)
    } else {
        0
    };
    if m == 0 || m == n {
        return String::new();
    }
    format!(
        " With one repetition, a detection AUC at ρ = {rho} ({m} attackers among {n}) moves in steps of 1/{}; \
         `--seeds S` averages S repetitions.",
        m * (n - m)
    )
}

/// Writes `report.md`: the run, then each section with its figures and captions.
pub fn write_report(ctx: &Context, sections: &[Section]) -> Result<()> {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# poq experiment report\n\nScenario: {}. Seed {}. {} rounds per cell, {} repetition(s). {} evaluators, {} inference \
         nodes.\n\nReproduce with `poq experiment all --out <dir>`: the same scenario, seed and rounds give the same \
         numbers for any thread count (across platforms the last digits may differ: normal draws use the math \
         library's `ln`, `sin` and `cos`).{}\n",
        ctx.label,
        ctx.scenario.seed,
        ctx.scenario.rounds,
        ctx.scenario.seeds,
        ctx.world.evaluators(),
        ctx.world.nodes(),
        auc_resolution(ctx),
    );
    for s in sections {
        let _ = writeln!(md, "## {}\n\n{}\n", s.title, s.text.trim_end());
        for (f, caption) in &s.figures {
            let _ = writeln!(md, "![{f}]({f})\n\n{caption}\n");
        }
    }
    write_atomic(&ctx.out.join("report.md"), md.as_bytes())
}

/// The gold section: policies × (attack, ρ) at the quoted g, with the best single
/// model as the bar, and the figures against g.
pub fn gold_section(ctx: &Context, r: &GoldResult) -> Section {
    let g = r.quoted;
    let mut header = String::from("| defense |");
    let mut rule = String::from("|---|");
    for a in GOLD_ATTACKS {
        for rho in GOLD_RHOS {
            let _ = write!(header, " {a} ρ={rho} |");
            rule.push_str("---|");
        }
    }
    let mut table = format!("{header}\n{rule}\n");
    let cell = |d: &Defense, a: &str, rho: f64| {
        r.of(d, g)
            .find(|c| c.attack == a && (c.rho - rho).abs() < 1e-9)
            .cloned()
    };
    for d in GOLD_DEFENSES {
        let _ = write!(table, "| {} |", d.name());
        for a in GOLD_ATTACKS {
            for rho in GOLD_RHOS {
                let text = cell(&d, a, rho).map_or_else(
                    || "n/a".to_string(),
                    |c| match c.detection_auc {
                        Some(auc) => format!("{} [{auc:.2}]", f3(c.pearson)),
                        None => f3(c.pearson),
                    },
                );
                let _ = write!(table, " {text} |");
            }
        }
        table.push('\n');
    }
    let best = r
        .of(&GOLD_DEFENSES[0], g)
        .find_map(|c| c.best_model.clone().zip(c.best_model_pearson));
    let _ = write!(table, "| best single model alone |");
    for a in GOLD_ATTACKS {
        for rho in GOLD_RHOS {
            let text = cell(&GOLD_DEFENSES[0], a, rho)
                .and_then(|c| c.best_model_pearson)
                .map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"));
            let _ = write!(table, " {text} |");
        }
    }
    table.push('\n');
    let bar = match &best {
        Some((m, _)) => format!(
            "The last row is the bar: the best single evaluator model alone ({m}), scored on the same ordinary rounds."
        ),
        None => "This world has no logged evaluator models, so there is no single-model bar.".to_string(),
    };
    let gold_rounds = r.of(&GOLD_DEFENSES[0], g).map(|c| c.gold_rounds).next().unwrap_or(0.0);
    let mut sec = Section {
        title: "Gold spot-checks".into(),
        files: vec!["gold.csv".into()],
        ..Default::default()
    };
    let _ = writeln!(
        sec.text,
        "K = {}, g = {g} ({gold_rounds:.0} gold rounds of {} per run): Pearson r of the consensus with the truth on the \
         ordinary rounds, [detection AUC]. Gold rounds are prompts with a known reference, scored like any other round; \
         their truth is revealed to the protocol after they finalize and they are left out of these numbers. {bar}\n\n{table}",
        r.k, ctx.scenario.rounds
    );
    let [pearson_file, auc_file] = GOLD_FILES;
    sec.figures.push((
        pearson_file.into(),
        format!(
            "Consensus–truth correlation against g, means over {} at ρ ∈ {{0.1, 0.25}}.",
            GOLD_ATTACKS.join(", ")
        ),
    ));
    sec.figures
        .push((auc_file.into(), "Detection AUC against g, the same cells.".into()));
    sec
}
