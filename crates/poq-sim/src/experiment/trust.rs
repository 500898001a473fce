//! `trust`: every evaluator's trust weight over rounds under each attack, at the fixed
//! ρ and K, for the published rule and ours.

use super::context::{Context, FIXED_RHO, OURS, PUBLISHED, TRACE_POINTS, fixed_k, run_details};
use crate::Result;
use crate::cell::CellSpec;
use poq_core::attack::Attack;
use serde::Serialize;

/// One run: one attack under one defense, its trust weights sampled over rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustRun {
    /// The attack's name.
    pub attack: String,
    /// The trust policy's name.
    pub trust: String,
    /// The consensus rule's name.
    pub rule: String,
    /// Detection AUC of the final trust weights; null when undefined.
    pub detection_auc: Option<f64>,
    /// Which evaluators were malicious (in `trust.csv`, not `results.json`).
    #[serde(skip)]
    pub malicious: Vec<bool>,
    /// Every evaluator's weight, sampled every few rounds: (round, weights) (in
    /// `trust.csv`, not `results.json`).
    #[serde(skip)]
    pub trace: Vec<(usize, Vec<f64>)>,
}

impl TrustRun {
    /// The mean of the last sampled weights of the malicious evaluators (`malicious`)
    /// or of the honest ones; 0 for an empty class or trace.
    pub fn final_mean(&self, malicious: bool) -> f64 {
        let Some((_, last)) = self.trace.last() else {
            return 0.0;
        };
        let v: Vec<f64> = last
            .iter()
            .zip(&self.malicious)
            .filter(|(_, m)| **m == malicious)
            .map(|(w, _)| *w)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
}

/// The trust experiment's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustResult {
    /// The malicious fraction.
    pub rho: f64,
    /// The committee size.
    pub k: usize,
    /// Every attack (but none) under the published rule and ours, in that order.
    pub runs: Vec<TrustRun>,
}

/// Runs one repetition of every attack of the scenario under the published rule and
/// ours, at [`FIXED_RHO`] and the fixed K, sampling trust [`TRACE_POINTS`] times.
pub fn compute(ctx: &Context) -> Result<TrustResult> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let rho = FIXED_RHO;
    let attacks: Vec<Attack> = ctx
        .scenario
        .attacks()?
        .into_iter()
        .filter(|a| !matches!(a, Attack::None))
        .collect();
    let defenses = [PUBLISHED, OURS];
    let specs: Vec<(CellSpec, usize)> = attacks
        .iter()
        .flat_map(|&a| {
            defenses
                .iter()
                .map(move |&d| (CellSpec::new(ctx.scenario, a, rho, k, d), 0))
        })
        .collect();
    ctx.progress.stage("trust", specs.len() as u64);
    let every = (ctx.scenario.rounds / TRACE_POINTS).max(1);
    let details = run_details(ctx, &specs, every)?;
    let runs = specs
        .iter()
        .zip(details)
        .map(|((spec, _), d)| TrustRun {
            attack: spec.attack.name().to_string(),
            trust: spec.trust.name().to_string(),
            rule: spec.rule.name().to_string(),
            detection_auc: d.result.detection_auc,
            malicious: d.malicious,
            trace: d.trace,
        })
        .collect();
    Ok(TrustResult { rho, k, runs })
}
