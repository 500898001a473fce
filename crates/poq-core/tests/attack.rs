//! Tests of `poq_core::attack`.

use poq_core::attack::{Attack, History, Member, apply};
use poq_core::rng::Xoshiro256PlusPlus;

fn members(honest: &[f64], malicious: &[bool]) -> Vec<Member> {
    honest
        .iter()
        .zip(malicious)
        .map(|(&h, &m)| Member {
            honest: h,
            malicious: m,
            trust: 1.0,
        })
        .collect()
}

const HISTORY: History = History {
    round: 3,
    last_consensus: Some(6.5),
    reference_trust: 1.0,
};

/// The reports of `m` under `attack`: `None` for a silent member.
fn reports(attack: Attack, m: &[Member], history: &History, seed: u64) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    apply(&attack, m, history, &mut Xoshiro256PlusPlus::from_u64(seed), &mut out);
    out
}

/// The reports of `m` under `attack` at [`HISTORY`], for attacks that never stay silent.
fn run(attack: Attack, m: &[Member], seed: u64) -> Vec<f64> {
    reports(attack, m, &HISTORY, seed)
        .into_iter()
        .map(|r| r.expect("this attack always reports"))
        .collect()
}

/// Every report of one `apply` call, for attacks that never stay silent.
fn scores(out: &[Option<f64>]) -> Vec<f64> {
    out.iter().map(|r| r.expect("this attack always reports")).collect()
}

#[test]
fn deterministic_attacks_by_hand() {
    let m = members(&[5.0, 8.5, 1.0, 4.0], &[false, true, true, true]);
    assert_eq!(run(Attack::None, &m, 0), vec![5.0, 8.5, 1.0, 4.0]);
    assert_eq!(run(Attack::Boosting { shift: 3.0 }, &m, 0), vec![5.0, 10.0, 4.0, 7.0]);
    assert_eq!(run(Attack::Sabotage { shift: 3.0 }, &m, 0), vec![5.0, 5.5, 0.0, 1.0]);
    assert_eq!(run(Attack::Constant { value: 7.0 }, &m, 0), vec![5.0, 7.0, 7.0, 7.0]);
    assert_eq!(run(Attack::Copycat { fallback: 5.0 }, &m, 0), vec![5.0, 6.5, 6.5, 6.5]);
    // Collusion: lower median of the coalition's honest {8.5, 1, 4} is 4, plus 3 = 7.
    assert_eq!(run(Attack::Collusion { shift: 3.0 }, &m, 0), vec![5.0, 7.0, 7.0, 7.0]);
    // Sybil: the first identity's score 8.5 + 3, clipped, from every identity.
    assert_eq!(run(Attack::Sybil { shift: 3.0 }, &m, 0), vec![5.0, 10.0, 10.0, 10.0]);
}

#[test]
fn copycat_without_history_uses_its_fallback() {
    let m = members(&[5.0], &[true]);
    let mut out = Vec::new();
    let h = History {
        last_consensus: None,
        ..HISTORY
    };
    apply(
        &Attack::Copycat { fallback: 4.0 },
        &m,
        &h,
        &mut Xoshiro256PlusPlus::from_u64(0),
        &mut out,
    );
    assert_eq!(out, vec![Some(4.0)]);
}

#[test]
fn on_off_attacks_only_when_trusted_and_after_warmup() {
    let mut m = members(&[5.0, 5.0], &[true, true]);
    m[0].trust = 1.2;
    m[1].trust = 0.4;
    let attack = Attack::OnOff {
        shift: 3.0,
        threshold: 0.9,
        warmup: 3,
    };
    // HISTORY is round 3 = warmup: the trusted one attacks, the distrusted one rebuilds.
    assert_eq!(run(attack, &m, 0), vec![8.0, 5.0]);
    let early = History { round: 2, ..HISTORY };
    let mut out = Vec::new();
    apply(&attack, &m, &early, &mut Xoshiro256PlusPlus::from_u64(0), &mut out);
    assert_eq!(out, vec![Some(5.0), Some(5.0)], "honest during warm-up");
}

#[test]
fn noise_is_centred_with_the_right_spread_and_clipped() {
    let m = members(&[5.0; 64], &[true; 64]);
    let mut rng = Xoshiro256PlusPlus::from_u64(8);
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0.0);
    let mut out = Vec::new();
    for _ in 0..500 {
        apply(&Attack::Noise { sigma: 1.0 }, &m, &HISTORY, &mut rng, &mut out);
        for s in scores(&out) {
            assert!((0.0..=10.0).contains(&s));
            sum += s - 5.0;
            sq += (s - 5.0) * (s - 5.0);
            n += 1.0;
        }
    }
    let mean = sum / n;
    let var = sq / n - mean * mean;
    assert!(
        mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
        "mean {mean} var {var} (seed 8)"
    );
    let out = run(Attack::Noise { sigma: 100.0 }, &members(&[5.0; 32], &[true; 32]), 9);
    assert!(
        out.iter().all(|&s| s == 0.0 || s == 10.0),
        "huge noise clips to the bounds: {out:?}"
    );
}

#[test]
fn intermittent_attacks_with_probability_p() {
    let m = members(&[5.0; 100], &[true; 100]);
    let mut rng = Xoshiro256PlusPlus::from_u64(10);
    let (mut boosted, mut sabotaged, mut honest) = (0, 0, 0);
    let mut out = Vec::new();
    for _ in 0..200 {
        apply(
            &Attack::Intermittent { p: 0.3, shift: 3.0 },
            &m,
            &HISTORY,
            &mut rng,
            &mut out,
        );
        for s in scores(&out) {
            match s {
                8.0 => boosted += 1,
                2.0 => sabotaged += 1,
                5.0 => honest += 1,
                other => panic!("unexpected report {other}"),
            }
        }
    }
    // 20,000 draws: attacked ≈ 6,000 (sd ≈ 65), split evenly.
    assert!(
        (boosted + sabotaged - 6000i32).abs() < 400,
        "{boosted} + {sabotaged} attacked (seed 10)"
    );
    assert!((boosted - sabotaged).abs() < 400, "{boosted} vs {sabotaged} (seed 10)");
    assert_eq!(boosted + sabotaged + honest, 20_000);
}

#[test]
fn names_and_parameters() {
    for name in Attack::NAMES {
        let a = Attack::from_name(name).unwrap();
        assert_eq!(a.name(), name);
        assert!(a.validate().is_ok(), "{name} defaults must be valid");
    }
    assert!(Attack::from_name("ddos").is_err());
    assert!(Attack::Intermittent { p: 1.5, shift: 3.0 }.validate().is_err());
    assert!(Attack::Noise { sigma: f64::NAN }.validate().is_err());
    assert!(Attack::Constant { value: 11.0 }.validate().is_err());
}

/// Honest members are never touched, and every report stays a valid score, for every
/// attack, at every seed tried; only `withhold` ever stays silent.
#[test]
fn honest_members_pass_through_and_reports_stay_in_range() {
    let honest = [0.0, 2.5, 5.0, 7.5, 10.0, 9.9, 0.1];
    let malicious = [true, false, true, false, true, true, false];
    let m = members(&honest, &malicious);
    for name in Attack::NAMES {
        let a = Attack::from_name(name).unwrap();
        for seed in 0..50 {
            let out = reports(a, &m, &HISTORY, seed);
            assert_eq!(out.len(), honest.len());
            for (i, (&o, &h)) in out.iter().zip(&honest).enumerate() {
                if !malicious[i] {
                    assert_eq!(o, Some(h), "{name} seed {seed} altered honest member {i}");
                }
                match o {
                    Some(o) => assert!((0.0..=10.0).contains(&o), "{name} seed {seed}: report {o}"),
                    None => assert_eq!(name, "withhold", "{name} seed {seed}: member {i} silent"),
                }
            }
        }
    }
}

/// Withhold, by hand. Honest scores [5, 8.5, 1, 4, 6], members 1, 2 and 3 malicious,
/// threshold 1.5; each compares its own honest score with the median of the other four
/// honest scores (mean of the middle two):
/// - member 1 (8.5): others {1, 4, 5, 6} → 4.5, |8.5 − 4.5| = 4 > 1.5: silent;
/// - member 2 (1):   others {4, 5, 6, 8.5} → 5.5, 4.5 > 1.5: silent;
/// - member 3 (4):   others {1, 5, 6, 8.5} → 5.5, 1.5 is not > 1.5: reports 4, honestly.
#[test]
fn withhold_is_silent_exactly_when_far() {
    let m = members(&[5.0, 8.5, 1.0, 4.0, 6.0], &[false, true, true, true, false]);
    let withhold = |threshold| Attack::Withhold { threshold };
    assert_eq!(
        reports(withhold(1.5), &m, &HISTORY, 0),
        vec![Some(5.0), None, None, Some(4.0), Some(6.0)]
    );
    // Just below the distance of member 3, it falls silent too.
    assert_eq!(
        reports(withhold(1.499), &m, &HISTORY, 0),
        vec![Some(5.0), None, None, None, Some(6.0)]
    );
    // At or above the largest distance (4.5) everyone reports honestly.
    assert_eq!(
        reports(withhold(4.5), &m, &HISTORY, 0),
        vec![Some(5.0), Some(8.5), Some(1.0), Some(4.0), Some(6.0)]
    );
    // Threshold 0: silent unless its score is exactly the others' median. Member 3
    // (honest 5.5): others {4, 5, 6, 7} → 5.5, so it reports.
    let m = members(&[4.0, 5.0, 6.0, 5.5, 7.0], &[false, false, false, true, false]);
    assert_eq!(reports(withhold(0.0), &m, &HISTORY, 0)[3], Some(5.5));
    // A committee of one has no others to compare with: it reports.
    let alone = members(&[9.0], &[true]);
    assert_eq!(reports(withhold(0.0), &alone, &HISTORY, 0), vec![Some(9.0)]);
    // Honest members are never silent, whatever their distance.
    let m = members(&[0.0, 10.0, 10.0], &[false, false, false]);
    assert_eq!(
        reports(withhold(0.0), &m, &HISTORY, 0),
        vec![Some(0.0), Some(10.0), Some(10.0)]
    );
    // The default threshold is the named constant, and it is validated.
    assert_eq!(
        Attack::from_name("withhold").unwrap(),
        withhold(poq_core::attack::DEFAULT_WITHHOLD_THRESHOLD)
    );
    assert!(withhold(-1.0).validate().is_err());
    assert!(withhold(f64::NAN).validate().is_err());
}

/// Withhold never draws from the generator: the stream after it is the stream before.
#[test]
fn withhold_draws_no_randomness() {
    let m = members(&[5.0, 8.5, 1.0, 4.0], &[false, true, true, true]);
    let mut rng = Xoshiro256PlusPlus::from_u64(12);
    let mut out = Vec::new();
    apply(&Attack::Withhold { threshold: 1.0 }, &m, &HISTORY, &mut rng, &mut out);
    assert_eq!(rng.next_word(), Xoshiro256PlusPlus::from_u64(12).next_word());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0051_7a7e),
        failure_persistence: None,
        cases: 256,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// For any committee: a malicious withholder is silent exactly when its honest score
    /// is more than the threshold from the median of the others' honest scores, and
    /// otherwise reports that honest score; everyone else reports honestly.
    #[test]
    fn withhold_is_silent_exactly_when_far_prop(
        honest in proptest::collection::vec(0.0..=10.0f64, 1..12),
        mask in proptest::collection::vec(proptest::bool::ANY, 12),
        threshold in 0.0..5.0f64,
    ) {
        let m = members(&honest, &mask[..honest.len()]);
        let out = reports(Attack::Withhold { threshold }, &m, &HISTORY, 0);
        for (i, (o, member)) in out.iter().zip(&m).enumerate() {
            let mut others: Vec<f64> = honest.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &h)| h).collect();
            others.sort_by(f64::total_cmp);
            let k = others.len();
            let far = k > 0 && {
                let med = if k % 2 == 1 { others[k / 2] } else { (others[k / 2 - 1] + others[k / 2]) / 2.0 };
                (member.honest - med).abs() > threshold
            };
            let want = if member.malicious && far { None } else { Some(member.honest) };
            proptest::prop_assert_eq!(*o, want, "member {}", i);
        }
    }
}
