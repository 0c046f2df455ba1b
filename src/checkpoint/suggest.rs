//! "Did you mean" candidates for a tensor name that is not in the checkpoint.

/// Up to `limit` names close to `wanted`, best first.
///
/// Weight names are dotted paths, and the usual mistake is a different
/// prefix (`model.` vs `thinker.model.`) or one wrong component, so names are
/// ranked first by how many leading and trailing components they share with
/// `wanted`, then by edit distance. Edit distance is computed only for the
/// best-ranked few, keeping this cheap on checkpoints with ~10^5 tensors.
pub(crate) fn similar_names<'a>(
    wanted: &str,
    names: impl Iterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    const SHORTLIST: usize = 64;
    let wanted_parts: Vec<&str> = wanted.split('.').collect();
    let mut scored: Vec<(usize, &str)> = names
        .map(|name| (shared_components(&wanted_parts, name), name))
        .collect();
    scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    scored.truncate(SHORTLIST);

    let max_distance = wanted.chars().count() / 3;
    let mut ranked: Vec<(usize, usize, &str)> = scored
        .into_iter()
        .map(|(shared, name)| (shared, edit_distance(wanted, name), name))
        .filter(|&(shared, distance, _)| shared > 0 || distance <= max_distance)
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(_, _, name)| name.to_owned())
        .collect()
}

fn shared_components(wanted: &[&str], name: &str) -> usize {
    let parts: Vec<&str> = name.split('.').collect();
    let leading = wanted
        .iter()
        .zip(&parts)
        .take_while(|(a, b)| a == b)
        .count();
    let trailing = wanted
        .iter()
        .rev()
        .zip(parts.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    (leading + trailing).min(wanted.len().max(parts.len()))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_same_path_under_another_prefix() {
        let names = [
            "thinker.model.layers.0.self_attn.q_proj.weight",
            "thinker.model.layers.1.self_attn.q_proj.weight",
            "thinker.model.layers.0.mlp.gate.weight",
        ];
        let found = similar_names(
            "model.layers.0.self_attn.q_proj.weight",
            names.into_iter(),
            2,
        );
        assert_eq!(found[0], names[0]);
    }

    #[test]
    fn prefers_the_smallest_typo() {
        let names = [
            "layers.0.k_proj.weight",
            "layers.0.q_proj.weight",
            "layers.0.v_proj.bias",
        ];
        let found = similar_names("layers.0.q_prj.weight", names.into_iter(), 1);
        assert_eq!(found, ["layers.0.q_proj.weight"]);
    }

    #[test]
    fn unrelated_names_are_not_suggested() {
        let found = similar_names("vision.patch_embed", ["lm_head"].into_iter(), 3);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
