//! The sweep: every cell of a grid, in parallel across cells.
//!
//! Cells are independent (each derives its own random streams from the seed and its
//! labels), rayon runs them on every core, and results come back in grid order, so
//! the output is byte-identical for any thread count.

use crate::Result;
use crate::cell::{CellResult, CellSpec};
use crate::defense::Defense;
use crate::play::run_cell;
use crate::scenario::Scenario;
use crate::world::World;
use rayon::prelude::*;

/// Every (attack, ρ, K, rule, trust) of the scenario's grid that the world can seat, in
/// grid order (attack outermost, trust innermost), with the scenario's missing-report
/// rule and reward scaling.
pub fn grid_cells(scenario: &Scenario, world: &dyn World) -> Result<Vec<CellSpec>> {
    let g = &scenario.grid;
    let (attacks, rules, trusts) = (scenario.attacks()?, scenario.rules()?, scenario.trusts()?);
    let mut cells = Vec::new();
    for &attack in &attacks {
        for &rho in &g.rhos {
            for &k in g.ks.iter().filter(|&&k| k <= world.evaluators()) {
                for &rule in &rules {
                    for &trust in &trusts {
                        cells.push(CellSpec::new(scenario, attack, rho, k, Defense { rule, trust }));
                    }
                }
            }
        }
    }
    Ok(cells)
}

/// Runs `cells` in parallel; `progress` is called once per finished cell.
pub fn run_cells(
    scenario: &Scenario,
    world: &dyn World,
    cells: &[CellSpec],
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CellResult>> {
    cells
        .par_iter()
        .map(|spec| {
            let r = run_cell(scenario, world, spec);
            progress();
            r
        })
        .collect()
}
