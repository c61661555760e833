//! Splitting a sample budget over groups in proportion to their weights.

/// Group sizes proportional to `weights` that add up to exactly `n`: each group gets
/// floor(n * w / W), and the remaining samples go one each to the groups with the largest
/// remainders (ties: the earlier group). With n = 300 000 over 16 pairs x (9, 1) this is
/// 16 875 per train group and 1 875 per test group, with nothing left over.
pub fn allocate(n: usize, weights: &[u64]) -> Vec<usize> {
    let total: u64 = weights.iter().sum();
    assert!(total > 0, "allocate: weights sum to zero");
    let n = n as u128;
    let mut sizes: Vec<usize> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = n * u128::from(w);
        sizes.push((exact / u128::from(total)) as usize);
        remainders.push((exact % u128::from(total), i));
    }
    let left = n as usize - sizes.iter().sum::<usize>();
    // Largest remainder first; among equals, the lower index first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(left) {
        sizes[i] += 1;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::allocate;

    #[test]
    fn exact_split_of_the_paper_budget() {
        let w: Vec<u64> = (0..16).flat_map(|_| [9, 1]).collect();
        let s = allocate(300_000, &w);
        assert!(s.chunks(2).all(|c| c == [16_875, 1_875]));
    }

    #[test]
    fn remainders_are_spread_and_total_is_kept() {
        let s = allocate(10, &[1, 1, 1]);
        assert_eq!(s, vec![4, 3, 3]);
        let s = allocate(1001, &[9, 1, 9, 1]);
        assert_eq!(s.iter().sum::<usize>(), 1001);
        assert_eq!(s, vec![451, 50, 450, 50]);
    }
}
