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

fn run(attack: Attack, m: &[Member], seed: u64) -> Vec<f64> {
    let mut out = Vec::new();
    apply(&attack, m, &HISTORY, &mut Xoshiro256PlusPlus::from_u64(seed), &mut out);
    out
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
    assert_eq!(out, vec![4.0]);
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
    assert_eq!(out, vec![5.0, 5.0], "honest during warm-up");
}

#[test]
fn noise_is_centred_with_the_right_spread_and_clipped() {
    let m = members(&[5.0; 64], &[true; 64]);
    let mut rng = Xoshiro256PlusPlus::from_u64(8);
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0.0);
    let mut out = Vec::new();
    for _ in 0..500 {
        apply(&Attack::Noise { sigma: 1.0 }, &m, &HISTORY, &mut rng, &mut out);
        for &s in &out {
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
        for &s in &out {
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
/// attack, at every seed tried.
#[test]
fn honest_members_pass_through_and_reports_stay_in_range() {
    let honest = [0.0, 2.5, 5.0, 7.5, 10.0, 9.9, 0.1];
    let malicious = [true, false, true, false, true, true, false];
    let m = members(&honest, &malicious);
    for name in Attack::NAMES {
        let a = Attack::from_name(name).unwrap();
        for seed in 0..50 {
            let out = run(a, &m, seed);
            assert_eq!(out.len(), honest.len());
            for (i, (&o, &h)) in out.iter().zip(&honest).enumerate() {
                assert!((0.0..=10.0).contains(&o), "{name} seed {seed}: report {o}");
                if !malicious[i] {
                    assert_eq!(o, h, "{name} seed {seed} altered honest member {i}");
                }
            }
        }
    }
}
