//! Sampling properties: greedy = argmax, degenerate settings = greedy,
//! seeded reproducibility, HF semantics and distribution sanity.

use omnirt::engine::sampling::{
    apply_repetition_penalty, apply_top_k, apply_top_p, argmax, log_prob, softmax,
};
use omnirt::engine::{Sampler, SamplingParams};
use proptest::prelude::*;

fn params(temperature: f32, top_k: usize, top_p: f32, seed: u64) -> SamplingParams {
    SamplingParams {
        greedy: false,
        temperature,
        top_k,
        top_p,
        repetition_penalty: 1.0,
        seed,
    }
}

fn logits_strategy() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-10.0f32..10.0, 2..64)
}

proptest! {
    #[test]
    fn greedy_is_argmax(logits in logits_strategy()) {
        let mut s = Sampler::new(SamplingParams::greedy()).unwrap();
        let want = argmax(&logits).unwrap();
        prop_assert_eq!(s.next(&logits, &[]).unwrap(), want);
        let mut t0 = Sampler::new(params(0.0, 0, 1.0, 7)).unwrap();
        prop_assert_eq!(t0.next(&logits, &[]).unwrap(), want);
    }

    #[test]
    fn top_k_one_is_greedy(logits in logits_strategy(), seed in any::<u64>()) {
        let mut s = Sampler::new(params(1.5, 1, 1.0, seed)).unwrap();
        prop_assert_eq!(s.next(&logits, &[]).unwrap(), argmax(&logits).unwrap());
    }

    #[test]
    fn tiny_top_p_is_greedy(logits in logits_strategy(), seed in any::<u64>()) {
        let mut s = Sampler::new(params(1.0, 0, 1e-6, seed)).unwrap();
        prop_assert_eq!(s.next(&logits, &[]).unwrap(), argmax(&logits).unwrap());
    }

    #[test]
    fn same_seed_same_tokens(logits in logits_strategy(), seed in any::<u64>()) {
        let run = || {
            let mut s = Sampler::new(params(1.0, 0, 0.9, seed)).unwrap();
            (0..20).map(|_| s.next(&logits, &[]).unwrap()).collect::<Vec<_>>()
        };
        prop_assert_eq!(run(), run());
    }

    #[test]
    fn sampled_ids_survive_top_k(logits in logits_strategy(), seed in any::<u64>(), k in 1usize..5) {
        let mut kept = logits.clone();
        apply_top_k(&mut kept, k);
        let mut s = Sampler::new(params(1.0, k, 1.0, seed)).unwrap();
        for _ in 0..10 {
            let id = s.next(&logits, &[]).unwrap() as usize;
            prop_assert!(kept[id] > f32::NEG_INFINITY);
        }
    }
}

#[test]
fn different_seeds_differ() {
    let logits = vec![0.0f32; 100];
    let draw = |seed| {
        let mut s = Sampler::new(params(1.0, 0, 1.0, seed)).unwrap();
        (0..20)
            .map(|_| s.next(&logits, &[]).unwrap())
            .collect::<Vec<_>>()
    };
    assert_ne!(draw(1), draw(2));
}

#[test]
fn repetition_penalty_follows_hf() {
    let mut l = vec![2.0f32, -2.0, 1.0, 0.0];
    // id 0 twice: penalised once.
    apply_repetition_penalty(&mut l, &[0, 1, 0, 9], 2.0);
    assert_eq!(l, vec![1.0, -4.0, 1.0, 0.0]);
    // Greedy with a penalty: the repeated best token loses.
    let mut s = Sampler::new(SamplingParams {
        repetition_penalty: 3.0,
        ..SamplingParams::greedy()
    })
    .unwrap();
    assert_eq!(s.next(&[2.0, 1.0], &[0]).unwrap(), 1);
}

#[test]
fn top_k_keeps_ties_and_top_p_keeps_the_crossing_token() {
    let mut l = vec![1.0f32, 3.0, 3.0, 2.0];
    apply_top_k(&mut l, 1);
    assert_eq!(l[1], 3.0);
    assert_eq!(l[2], 3.0);
    assert_eq!(l[0], f32::NEG_INFINITY);
    // probs 0.5, 0.3, 0.2: p = 0.6 keeps the first two.
    let mut l: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
    apply_top_p(&mut l, 0.6);
    assert!(l[0].is_finite() && l[1].is_finite());
    assert_eq!(l[2], f32::NEG_INFINITY);
    let mut l: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
    apply_top_p(&mut l, 0.5);
    assert!(l[0].is_finite());
    assert_eq!(l[1], f32::NEG_INFINITY);
}

#[test]
fn distribution_matches_softmax_with_temperature() {
    let logits = vec![1.0f32, 0.0, -1.0, 0.5];
    let t = 0.7f32;
    let scaled: Vec<f32> = logits.iter().map(|x| x / t).collect();
    let want = softmax(&scaled);
    let mut s = Sampler::new(params(t, 0, 1.0, 42)).unwrap();
    let n = 40_000;
    let mut counts = [0usize; 4];
    for _ in 0..n {
        counts[s.next(&logits, &[]).unwrap() as usize] += 1;
    }
    for i in 0..4 {
        let got = counts[i] as f64 / n as f64;
        // 5 standard deviations of a binomial proportion.
        let sd = (want[i] * (1.0 - want[i]) / n as f64).sqrt();
        assert!(
            (got - want[i]).abs() < 5.0 * sd + 1e-3,
            "token {i}: {got} vs {}",
            want[i]
        );
    }
}

#[test]
fn top_p_distribution_renormalises() {
    // probs 0.5, 0.3, 0.2; top-p 0.7 keeps {0, 1} -> 0.625 / 0.375.
    let logits: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
    let mut s = Sampler::new(params(1.0, 0, 0.7, 3)).unwrap();
    let n = 20_000;
    let mut counts = [0usize; 3];
    for _ in 0..n {
        counts[s.next(&logits, &[]).unwrap() as usize] += 1;
    }
    assert_eq!(counts[2], 0);
    let p0 = counts[0] as f64 / n as f64;
    assert!((p0 - 0.625).abs() < 0.02, "{p0}");
}

#[test]
fn log_prob_is_log_softmax() {
    let l = [1.0f32, 2.0, 3.0];
    let total: f64 = (0..3).map(|i| (log_prob(&l, i) as f64).exp()).sum();
    assert!((total - 1.0).abs() < 1e-6);
    assert!(log_prob(&l, 2) > log_prob(&l, 1));
}

#[test]
fn bad_settings_and_broken_logits_are_errors() {
    assert!(Sampler::new(params(-1.0, 0, 1.0, 0)).is_err());
    assert!(Sampler::new(params(1.0, 0, 0.0, 0)).is_err());
    assert!(Sampler::new(params(f32::NAN, 0, 1.0, 0)).is_err());
    let mut s = Sampler::new(params(1.0, 0, 1.0, 0)).unwrap();
    assert!(s.next(&[f32::NAN, f32::NEG_INFINITY], &[]).is_err());
    assert!(s.next(&[], &[]).is_err());
    // NaN entries are skipped, not chosen.
    let mut g = Sampler::new(SamplingParams::greedy()).unwrap();
    assert_eq!(g.next(&[f32::NAN, 1.0, 0.0], &[]).unwrap(), 1);
}
