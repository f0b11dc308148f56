//! The heaviest chain of work waiting on each item of a dependency graph:
//! what the apply's scheduler and the plan's looks order their ready work by,
//! so the chain that decides when they end never waits behind a leaf.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

/// For each key of `waits_for` (an item and what it waits for), the heaviest
/// chain of items that wait on it, itself included, each weighing `weight`.
/// Items it waits for that are not keys are left out. The graph is acyclic
/// (the plan checked it); an item caught in a cycle anyway keeps its own
/// weight.
pub fn heaviest_chains<K: Clone + Eq + Hash + Ord>(
    waits_for: &BTreeMap<K, BTreeSet<K>>,
    weight: impl Fn(&K) -> f64,
) -> HashMap<K, f64> {
    let mut waited_on_by: HashMap<&K, Vec<&K>> = HashMap::new();
    for (item, deps) in waits_for {
        for dep in deps {
            waited_on_by.entry(dep).or_default().push(item);
        }
    }
    // Kahn's order from the items nothing waits on back to the roots.
    let mut left: HashMap<&K, usize> = waits_for
        .keys()
        .map(|k| (k, waited_on_by.get(k).map_or(0, Vec::len)))
        .collect();
    let mut queue: Vec<&K> = left
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut length: HashMap<K, f64> = HashMap::new();
    while let Some(item) = queue.pop() {
        let heaviest_after = waited_on_by
            .get(item)
            .into_iter()
            .flatten()
            .map(|k| length.get(*k).copied().unwrap_or(0.0))
            .fold(0.0, f64::max);
        length.insert(item.clone(), heaviest_after + weight(item));
        for dep in waits_for.get(item).into_iter().flatten() {
            if let Some(n) = left.get_mut(dep) {
                *n -= 1;
                if *n == 0 {
                    queue.push(dep);
                }
            }
        }
    }
    for item in waits_for.keys() {
        length.entry(item.clone()).or_insert_with(|| weight(item));
    }
    length
}
