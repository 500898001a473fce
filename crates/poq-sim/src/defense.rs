//! Defenses: a consensus rule with a trust policy, the pairs every comparison names.

use poq_core::aggregate::Rule;
use poq_core::trust::TrustKind;

/// A consensus rule and the trust policy that weighs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Defense {
    /// The consensus rule.
    pub rule: Rule,
    /// The trust policy.
    pub trust: TrustKind,
}

impl Defense {
    /// How outputs name it: the rule alone without trust, else `rule+trust`.
    pub fn name(&self) -> String {
        match self.trust {
            TrustKind::None => self.rule.name().to_string(),
            t => format!("{}+{}", self.rule.name(), t.name()),
        }
    }

    /// Whether a result row with these rule and trust names is this defense.
    pub fn is(&self, rule: &str, trust: &str) -> bool {
        self.rule.name() == rule && self.trust.name() == trust
    }
}

/// The published configuration: weighted mean with the published trust rule.
pub const PUBLISHED: Defense = Defense {
    rule: Rule::WeightedMean,
    trust: TrustKind::Published,
};
/// Ours: weighted median with calibrated trust.
pub const OURS: Defense = Defense {
    rule: Rule::WeightedMedian,
    trust: TrustKind::Calibrated,
};
/// The robust baseline without trust.
pub const MEDIAN: Defense = Defense {
    rule: Rule::Median,
    trust: TrustKind::None,
};
/// Gold trust with the weighted mean: ours when gold rounds are on.
pub const GOLD_MEAN: Defense = Defense {
    rule: Rule::WeightedMean,
    trust: TrustKind::Gold,
};
/// Gold trust with the weighted median.
pub const GOLD_MEDIAN: Defense = Defense {
    rule: Rule::WeightedMedian,
    trust: TrustKind::Gold,
};
/// CRH: weighted mean and CRH trust (gold-calibrated when g > 0).
pub const CRH: Defense = Defense {
    rule: Rule::WeightedMean,
    trust: TrustKind::Crh,
};
/// CATD: weighted mean and CATD trust (gold-calibrated when g > 0).
pub const CATD: Defense = Defense {
    rule: Rule::WeightedMean,
    trust: TrustKind::Catd,
};
/// The three defenses `poq demo` compares, in its order.
pub const DEMO_DEFENSES: [(&str, Defense); 3] = [("published", PUBLISHED), ("median", MEDIAN), ("ours", OURS)];
