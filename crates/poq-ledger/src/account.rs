//! An account: a key's balance, bond, roles, and its ids in the protocol.

use crate::tx::Roles;
use poq_core::{EvaluatorId, NodeId};
use serde::{Deserialize, Serialize};

/// One key's account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Spendable micro-units. Negative only after slashing took more than it held (a
    /// debt later rewards repay; it can spend nothing meanwhile).
    pub balance: i64,
    /// Bonded micro-units.
    pub bond: u64,
    /// Whether it registered (a transfer creates an account that has not).
    pub registered: bool,
    /// Its roles (empty until it registers).
    pub roles: Roles,
    /// Its id as an evaluator in the protocol.
    pub evaluator: Option<EvaluatorId>,
    /// Its id as an inference node in the protocol.
    pub node: Option<NodeId>,
}
