//! A test network: a genesis with a gateway, inference nodes and evaluators, and
//! helpers that sign transactions and apply blocks.

use poq_core::aggregate::Rule;
use poq_core::protocol::ProtocolConfig;
use poq_core::round::RoundConfig;
use poq_core::trust::{TrustKind, TrustParams};
use poq_core::{RoundId, Task};
use poq_ledger::tx::{EvaluatorRole, commitment};
use poq_ledger::{Applied, Block, Body, Genesis, GenesisAccount, Hash, Keypair, Ledger, Params, Receipt, Roles, Tx};

/// Micro-units per token.
pub const TOKEN: u64 = 1_000_000;

/// A deterministic key: `role` and `index` fill the seed.
pub fn key(role: u8, index: u8) -> Keypair {
    let mut seed = [0u8; 32];
    seed[0] = role;
    seed[1] = index;
    Keypair::from_seed(&seed)
}

/// Options of a test network.
#[derive(Debug, Clone)]
pub struct Options {
    /// Evaluators at genesis.
    pub evaluators: usize,
    /// Inference nodes at genesis.
    pub nodes: usize,
    /// K.
    pub k: usize,
    /// The quorum (0: all of K).
    pub quorum: usize,
    /// The rule.
    pub rule: Rule,
    /// The trust policy.
    pub trust: TrustKind,
    /// Whether rewards may be negative.
    pub slashing: bool,
    /// Heights and amounts.
    pub params: Params,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            evaluators: 6,
            nodes: 2,
            k: 3,
            quorum: 2,
            rule: Rule::Median,
            trust: TrustKind::Published,
            slashing: false,
            params: Params::default(),
        }
    }
}

/// The network.
pub struct Net {
    /// The ledger.
    pub ledger: Ledger,
    /// The gateway.
    pub gateway: Keypair,
    /// The faucet (a plain funded account).
    pub faucet: Keypair,
    /// Inference nodes.
    pub nodes: Vec<Keypair>,
    /// Evaluators.
    pub evaluators: Vec<Keypair>,
    /// Every block applied, in order.
    pub blocks: Vec<Block>,
    /// The genesis.
    pub genesis: Genesis,
}

/// The model every test inference node registers.
pub const MODEL: &str = "smollm2-135m";

/// The genesis of `o`.
pub fn genesis(o: &Options) -> Genesis {
    let gateway = key(1, 0);
    let faucet = key(2, 0);
    let mut accounts = vec![
        GenesisAccount {
            key: gateway.public(),
            balance: 1_000 * TOKEN,
            bond: 0,
            roles: Roles {
                gateway: true,
                ..Roles::default()
            },
        },
        GenesisAccount {
            key: faucet.public(),
            balance: 1_000 * TOKEN,
            bond: 0,
            roles: Roles::default(),
        },
    ];
    for i in 0..o.nodes {
        accounts.push(GenesisAccount {
            key: key(3, i as u8).public(),
            balance: 0,
            bond: o.params.min_bond_inference,
            roles: Roles {
                inference: Some(MODEL.into()),
                ..Roles::default()
            },
        });
    }
    for i in 0..o.evaluators {
        accounts.push(GenesisAccount {
            key: key(4, i as u8).public(),
            balance: 0,
            bond: o.params.min_bond_evaluator,
            roles: Roles {
                evaluator: Some(EvaluatorRole {
                    scorer: "lexical".into(),
                    tasks: vec![Task::Qa, Task::Summarization],
                }),
                ..Roles::default()
            },
        });
    }
    let mut round = RoundConfig {
        rule: o.rule,
        quorum: o.quorum,
        ..RoundConfig::default()
    };
    round.rewards.allow_negative = o.slashing;
    Genesis {
        network: "poq-test".into(),
        validators: vec![key(9, 0).public()],
        params: o.params,
        protocol: ProtocolConfig {
            round,
            committee_size: o.k,
            reveal_window: 0,
        },
        trust: o.trust,
        trust_params: TrustParams::default(),
        treasury: 100_000 * TOKEN,
        accounts,
    }
}

impl Net {
    /// A network at genesis.
    pub fn new(o: &Options) -> Self {
        let genesis = genesis(o);
        Net {
            ledger: Ledger::genesis(&genesis).expect("valid test genesis"),
            gateway: key(1, 0),
            faucet: key(2, 0),
            nodes: (0..o.nodes).map(|i| key(3, i as u8)).collect(),
            evaluators: (0..o.evaluators).map(|i| key(4, i as u8)).collect(),
            blocks: Vec::new(),
            genesis,
        }
    }

    /// The network id.
    pub fn network(&self) -> Hash {
        *self.ledger.network()
    }

    /// The next block's height.
    pub fn next(&self) -> u64 {
        self.ledger.height() + 1
    }

    /// Signs `body` by `key`, expiring 50 blocks after the next one.
    pub fn tx(&self, key: &Keypair, body: Body) -> Vec<u8> {
        Tx::sign(&self.network(), key, self.next() + 50, body).encode()
    }

    /// The next block carrying `txs`.
    pub fn make(&self, txs: Vec<Vec<u8>>) -> Block {
        Block {
            height: self.next(),
            parent: *self.ledger.last_block(),
            view: self.next(),
            txs,
        }
    }

    /// Applies the next block carrying `txs`.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> Applied {
        let b = self.make(txs);
        let applied = self
            .ledger
            .apply(&b)
            .expect("the next block applies")
            .expect("a new height");
        self.blocks.push(b);
        applied
    }

    /// Empty blocks until the ledger is at `height`.
    pub fn until(&mut self, height: u64) {
        while self.ledger.height() < height {
            self.block(Vec::new());
        }
    }

    /// A receipt by node `node` for request number `request`.
    pub fn receipt(&self, node: usize, request: u64, cost: f64) -> Receipt {
        self.unsigned(request, cost).signed(&self.network(), &self.nodes[node])
    }

    /// The fields of a receipt for request number `request`, for the gateway, not yet
    /// signed.
    pub fn unsigned(&self, request: u64, cost: f64) -> Receipt {
        Receipt {
            node: self.nodes[0].public(),
            gateway: self.gateway.public(),
            request: Hash::of("test/request", &[&request.to_le_bytes()]),
            prompt: Hash::of("test/prompt", &[&request.to_le_bytes()]),
            answer: Hash::of("test/answer", &[&request.to_le_bytes()]),
            model: MODEL.into(),
            task: Task::Qa,
            cost,
            expires: self.next() + 50,
            reference: None,
            signature: poq_ledger::Signature([0; 64]),
        }
    }

    /// The gateway's submission of `receipt`.
    pub fn submit(&self, receipt: Receipt) -> Vec<u8> {
        self.tx(&self.gateway, Body::Submit { receipt })
    }

    /// A salt for evaluator `e` in `round`.
    pub fn salt(e: usize, round: RoundId) -> [u8; 32] {
        Hash::of("test/salt", &[&(e as u64).to_le_bytes(), &round.0.to_le_bytes()]).0
    }

    /// Evaluator `e`'s commit to (score, cost) in `round`.
    pub fn commit(&self, e: usize, round: RoundId, score: f64, cost: f64) -> Vec<u8> {
        let key = &self.evaluators[e];
        let c = commitment(
            &self.network(),
            round,
            &key.public(),
            score,
            cost,
            &Self::salt(e, round),
        );
        self.tx(key, Body::Commit { round, commitment: c })
    }

    /// Evaluator `e`'s reveal of (score, cost) in `round`.
    pub fn reveal(&self, e: usize, round: RoundId, score: f64, cost: f64) -> Vec<u8> {
        self.tx(
            &self.evaluators[e],
            Body::Reveal {
                round,
                score,
                cost,
                salt: Self::salt(e, round),
            },
        )
    }

    /// The evaluator index of a committee member's key.
    pub fn index_of(&self, key: &poq_ledger::PublicKey) -> usize {
        self.evaluators
            .iter()
            .position(|k| k.public() == *key)
            .expect("a test evaluator")
    }

    /// The committee of `round` as evaluator indices (after its draw).
    pub fn committee(&self, round: RoundId) -> Vec<usize> {
        let r = self.ledger.round(round).expect("an open round");
        r.members.iter().map(|m| self.index_of(m)).collect()
    }
}
