//! Seeded whole-network runs on the deterministic runtime: agreement, deadlines,
//! conservation and determinism, under link latency and drops, a partition, a crash and
//! restart, a Byzantine proposer, and Byzantine evaluators. `POQ_SIM_SEEDS=N` runs N seeds (default 6).

use poq_node::simulation::{SimSpec, run};

#[test]
fn seeded_networks_agree_close_every_round_and_conserve_money() {
    let seeds: u64 = std::env::var("POQ_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let (mut partitions, mut crashes) = (0, 0);
    for seed in 0..seeds {
        let dir = tempfile::tempdir().unwrap();
        let report = run(&SimSpec::standard(seed), dir.path()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if let Err(e) = report.check() {
            panic!("{e}\nfaults: {:?}", report.faults);
        }
        let (finalized, expired) = report.closed();
        eprintln!(
            "seed {seed}: {finalized} finalized, {expired} expired, heights {:?}, {} simulated ms, rejected {:?}, faults {:?}",
            report.digests.iter().map(Vec::len).collect::<Vec<_>>(),
            report.sim_ms,
            report.rejected,
            report.faults
        );
        assert!(finalized > 0, "seed {seed}: no round finalized");
        if report.faults.byzantine_proposer.is_some() {
            let junk = report
                .rejected
                .get(&poq_ledger::Reason::Malformed)
                .copied()
                .unwrap_or(0);
            assert!(junk > 0, "seed {seed}: the Byzantine proposer's junk was not rejected");
        }
        partitions += usize::from(report.faults.partition.is_some());
        crashes += usize::from(report.faults.crash.is_some());
    }
    if seeds >= 6 {
        assert!(partitions > 0 && crashes > 0, "the seeds drew no partition or no crash");
    }
}

#[test]
fn the_same_seed_gives_the_same_event_log() {
    let a = run(&SimSpec::standard(3), tempfile::tempdir().unwrap().path()).unwrap();
    let b = run(&SimSpec::standard(3), tempfile::tempdir().unwrap().path()).unwrap();
    assert_eq!(a.digests, b.digests);
    assert_eq!(a.events, b.events);
    assert_eq!(a.audit, b.audit);
}
