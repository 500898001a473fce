//! `rewards`: the mean and spread of the per-round reward of every inference node and
//! evaluator in an honest world, at the fixed K, for the published rule and ours.

use super::context::{Context, OURS, PUBLISHED, fixed_k, run_details};
use crate::Result;
use crate::cell::{CellDetail, CellSpec, MeanVar};
use poq_core::attack::Attack;
use serde::ser::{Serialize, Serializer};

/// One node's (or evaluator's) reward per round, over every repetition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NodeReward {
    /// The node's (or evaluator's) name.
    pub name: String,
    /// Mean reward per round, averaged over repetitions.
    pub mean: f64,
    /// Standard deviation of the reward per round: the root of the variance averaged
    /// over repetitions.
    pub sd: f64,
    /// Rounds it was paid in, summed over repetitions.
    pub rounds: u64,
}

/// The rewards under one defense.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DefenseRewards {
    /// The defense's name (`rule+trust`).
    pub defense: String,
    /// Its trust policy's name, which names its figures.
    pub trust: String,
    /// Every inference node, in the world's order.
    pub nodes: Vec<NodeReward>,
    /// Every evaluator, in the world's order.
    pub evaluators: Vec<NodeReward>,
}

impl DefenseRewards {
    /// The best-paid inference node (the last of equals), if any.
    pub fn best_node(&self) -> Option<&NodeReward> {
        self.nodes.iter().max_by(|a, b| a.mean.total_cmp(&b.mean))
    }

    /// The highest and lowest mean inference reward (±∞ without nodes).
    pub fn node_range(&self) -> (f64, f64) {
        let hi = self.nodes.iter().map(|b| b.mean).fold(f64::NEG_INFINITY, f64::max);
        let lo = self.nodes.iter().map(|b| b.mean).fold(f64::INFINITY, f64::min);
        (hi, lo)
    }

    /// The `n` best-paid evaluators, best first (equals in the world's order).
    pub fn top_evaluators(&self, n: usize) -> Vec<&NodeReward> {
        let mut v: Vec<&NodeReward> = self.evaluators.iter().collect();
        v.sort_by(|a, b| b.mean.total_cmp(&a.mean));
        v.truncate(n);
        v
    }
}

/// The rewards experiment's result.
///
/// In `results.json` it keeps its historical shape, `{k, inference: [{defense, node,
/// mean, sd}]}`: the evaluators and the round counts are in the CSV files.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardsResult {
    /// The committee size.
    pub k: usize,
    /// Per defense, the published configuration first.
    pub per_defense: Vec<DefenseRewards>,
}

impl Serialize for RewardsResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            defense: &'a str,
            node: &'a str,
            mean: f64,
            sd: f64,
        }
        #[derive(serde::Serialize)]
        struct Shape<'a> {
            k: usize,
            inference: Vec<Row<'a>>,
        }
        Shape {
            k: self.k,
            inference: self
                .per_defense
                .iter()
                .flat_map(|d| {
                    d.nodes.iter().map(|n| Row {
                        defense: &d.defense,
                        node: &n.name,
                        mean: n.mean,
                        sd: n.sd,
                    })
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

/// Averages one reward statistic over repetitions.
fn average(name: String, reps: &[CellDetail], stat: impl Fn(&CellDetail) -> &MeanVar) -> NodeReward {
    let seeds = reps.len();
    NodeReward {
        name,
        mean: reps.iter().map(|d| stat(d).mean).sum::<f64>() / seeds as f64,
        sd: (reps.iter().map(|d| stat(d).var()).sum::<f64>() / seeds as f64).sqrt(),
        rounds: reps.iter().map(|d| stat(d).n).sum(),
    }
}

/// Runs the honest world at the fixed K under the published rule and ours, every
/// repetition, and averages each node's and evaluator's reward.
pub fn compute(ctx: &Context) -> Result<RewardsResult> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let defenses = [PUBLISHED, OURS];
    let specs: Vec<(CellSpec, usize)> = defenses
        .iter()
        .flat_map(|&d| {
            (0..ctx.scenario.seeds).map(move |rep| (CellSpec::new(ctx.scenario, Attack::None, 0.0, k, d), rep))
        })
        .collect();
    ctx.progress.stage("rewards", specs.len() as u64);
    let details = run_details(ctx, &specs, 0)?;
    let seeds = ctx.scenario.seeds;
    let per_defense = defenses
        .iter()
        .enumerate()
        .map(|(d_i, defense)| {
            let reps = &details[d_i * seeds..(d_i + 1) * seeds];
            DefenseRewards {
                defense: defense.name(),
                trust: defense.trust.name().to_string(),
                nodes: (0..ctx.world.nodes())
                    .map(|node| average(ctx.world.node_name(node), reps, |d| &d.node_rewards[node]))
                    .collect(),
                evaluators: (0..ctx.world.evaluators())
                    .map(|e| average(ctx.world.evaluator_name(e), reps, |d| &d.evaluator_rewards[e]))
                    .collect(),
            }
        })
        .collect();
    Ok(RewardsResult { k, per_defense })
}
