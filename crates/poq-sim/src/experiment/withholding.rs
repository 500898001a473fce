//! `withholding`: strategic abstention and reward scaling. Does staying silent, or a
//! distrusted attacker, pay? Withholding and boosting at the fixed ρ and K, under each
//! missing-report rule and each evaluator reward scaling, for the published rule and
//! ours.

use super::context::{Context, FIXED_RHO, OURS, PUBLISHED, fixed_k};
use crate::Result;
use crate::cell::{CellResult, CellSpec};
use crate::defense::Defense;
use crate::sweep::run_cells;
use poq_core::reward::EvaluatorScaling;
use poq_core::round::MissingReport;
use serde::Serialize;

/// The withholding experiment's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WithholdingResult {
    /// The malicious fraction.
    pub rho: f64,
    /// The committee size.
    pub k: usize,
    /// One cell per attack × missing-report rule × reward scaling × defense, in that
    /// nesting order.
    pub cells: Vec<CellResult>,
}

impl WithholdingResult {
    /// The cell of this attack, missing-report rule, scaling and defense, if it ran.
    pub fn pick(
        &self,
        attack: &str,
        missing: MissingReport,
        scaling: EvaluatorScaling,
        d: Defense,
    ) -> Option<&CellResult> {
        self.cells.iter().find(|r| {
            r.attack == attack
                && r.missing == missing.name()
                && r.evaluator_scaling == scaling.name()
                && d.is(&r.rule, &r.trust)
        })
    }
}

/// Runs withholding and boosting at [`FIXED_RHO`] and the fixed K under every
/// missing-report rule and reward scaling, for the published rule and ours.
pub fn compute(ctx: &Context) -> Result<WithholdingResult> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let rho = FIXED_RHO;
    let attacks = [
        ctx.scenario.attack.attack("withhold")?,
        ctx.scenario.attack.attack("boosting")?,
    ];
    let mut specs = Vec::new();
    for &attack in &attacks {
        for missing in MissingReport::ALL {
            for scaling in EvaluatorScaling::ALL {
                for d in [PUBLISHED, OURS] {
                    specs.push(CellSpec {
                        missing,
                        scaling,
                        ..CellSpec::new(ctx.scenario, attack, rho, k, d)
                    });
                }
            }
        }
    }
    ctx.progress.stage("withholding", specs.len() as u64);
    let cells = run_cells(ctx.scenario, ctx.world, &specs, &|| ctx.progress.tick())?;
    Ok(WithholdingResult { rho, k, cells })
}
