//! A whole network's genesis and keys from one seed: what `poq node init` writes for a
//! local network, and what the simulation and the benchmark run.
//!
//! Keys derived from a seed are for local networks and tests only: anyone who knows the
//! seed has the keys. `poq node init` without `--seed` draws the seed from the
//! operating system.

use crate::workload::{Actors, Behaviour};
use poq_core::Task;
use poq_core::aggregate::Rule;
use poq_core::protocol::ProtocolConfig;
use poq_core::round::RoundConfig;
use poq_core::trust::{TrustKind, TrustParams};
use poq_ledger::tx::EvaluatorRole;
use poq_ledger::{Genesis, GenesisAccount, Hash, Keypair, Params, Roles};
use serde::{Deserialize, Serialize};

/// Micro-units per token.
pub const TOKEN: u64 = 1_000_000;

/// What a local network consists of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestnetSpec {
    /// The network's name.
    pub network: String,
    /// Validators (n = 3f + 1 tolerates f Byzantine ones).
    pub validators: usize,
    /// Inference nodes (synthetic).
    pub nodes: usize,
    /// Evaluators and their behaviour.
    pub evaluators: Vec<Behaviour>,
    /// K.
    pub committee_size: usize,
    /// Heights and amounts.
    pub params: Params,
    /// The trust policy.
    pub trust: TrustKind,
}

impl Default for TestnetSpec {
    fn default() -> Self {
        Self {
            network: "poq-devnet".into(),
            validators: 4,
            nodes: 2,
            evaluators: vec![Behaviour::Honest; 12],
            committee_size: 7,
            params: Params {
                draw_delay: 1,
                commit_blocks: 5,
                reveal_blocks: 5,
                ..Params::default()
            },
            trust: TrustKind::Published,
        }
    }
}

/// A network's genesis, with every key.
#[derive(Debug, Clone)]
pub struct Testnet {
    /// The genesis.
    pub genesis: Genesis,
    /// The validators' keys (consensus and ledger identity alike).
    pub validators: Vec<Keypair>,
    /// The faucet's key (a funded plain account).
    pub faucet: Keypair,
    /// The participants.
    pub actors: Actors,
}

/// The key number `index` of `role` derived from `seed`.
pub fn derive_key(seed: &[u8; 32], role: &str, index: usize) -> Keypair {
    Keypair::from_seed(
        &Hash::of(
            "poq/testnet/key",
            &[seed, role.as_bytes(), &(index as u64).to_le_bytes()],
        )
        .0,
    )
}

impl Testnet {
    /// The network `spec` describes, with keys derived from `seed`.
    pub fn new(spec: &TestnetSpec, seed: &[u8; 32]) -> Self {
        let validators: Vec<Keypair> = (0..spec.validators).map(|i| derive_key(seed, "validator", i)).collect();
        let gateway = derive_key(seed, "gateway", 0);
        let faucet = derive_key(seed, "faucet", 0);
        let nodes: Vec<(Keypair, String)> = (0..spec.nodes)
            .map(|i| (derive_key(seed, "inference", i), "synthetic".to_string()))
            .collect();
        let evaluators: Vec<(Keypair, Behaviour)> = spec
            .evaluators
            .iter()
            .enumerate()
            .map(|(i, b)| (derive_key(seed, "evaluator", i), *b))
            .collect();
        let mut accounts = vec![
            GenesisAccount {
                key: gateway.public(),
                balance: 1_000_000 * TOKEN,
                bond: 0,
                roles: Roles {
                    gateway: true,
                    ..Roles::default()
                },
            },
            GenesisAccount {
                key: faucet.public(),
                balance: 1_000_000 * TOKEN,
                bond: 0,
                roles: Roles::default(),
            },
        ];
        for (k, model) in &nodes {
            accounts.push(GenesisAccount {
                key: k.public(),
                balance: 0,
                bond: spec.params.min_bond_inference,
                roles: Roles {
                    inference: Some(model.clone()),
                    ..Roles::default()
                },
            });
        }
        for (k, _) in &evaluators {
            accounts.push(GenesisAccount {
                key: k.public(),
                balance: 0,
                bond: spec.params.min_bond_evaluator,
                roles: Roles {
                    evaluator: Some(EvaluatorRole {
                        scorer: "synthetic".into(),
                        tasks: vec![Task::Qa, Task::Summarization],
                    }),
                    ..Roles::default()
                },
            });
        }
        let k = spec.committee_size;
        let genesis = Genesis {
            network: spec.network.clone(),
            validators: validators.iter().map(Keypair::public).collect(),
            params: spec.params,
            protocol: ProtocolConfig {
                round: RoundConfig {
                    rule: Rule::WeightedMedian,
                    // A third of the committee may be silent: ⌈2K/3⌉ reports finalize.
                    quorum: (2 * k).div_ceil(3),
                    ..RoundConfig::default()
                },
                committee_size: k,
                reveal_window: 0,
            },
            trust: spec.trust,
            trust_params: TrustParams::default(),
            treasury: 1_000_000_000 * TOKEN,
            accounts,
        };
        Testnet {
            genesis,
            validators,
            faucet,
            actors: Actors {
                gateway,
                nodes,
                evaluators,
            },
        }
    }
}
