//! compat.md R1: both SDK id generations share one origin rule.

use crate::{is_prefixed_by, same_origin};

#[test]
fn previous_generation_ids_share_the_dot_origin() {
    assert!(same_origin("job", "job.1"));
    assert!(same_origin("job.1", "job.1.2"));
    assert!(same_origin("job.1.2", "job.7"));
    assert!(!same_origin("job.1", "other.1"));
}

#[test]
fn current_generation_ids_share_the_colon_origin() {
    assert!(same_origin("root", "root:1"));
    assert!(same_origin("root:1", "root:1.2"));
    assert!(same_origin("root:1.2", "root:3"));
    assert!(same_origin("order.42", "order.42:1"));
    assert!(same_origin("order.42:1", "order.42:2.1"));
    assert!(!same_origin("root:1", "toor:1"));
    assert!(!same_origin("a:1", "b:1"));
}

#[test]
fn ids_of_both_generations_in_one_tree_share_the_origin() {
    assert!(same_origin("a:1", "a.2"));
    assert!(same_origin("a.1", "a:2"));
    assert!(same_origin("a:1.2", "a.3"));
    assert!(same_origin("a.b:1", "a:c"));
    assert!(same_origin("order.42.1", "order:1"));
    assert!(!same_origin("a.1", "ab:1"));
    assert!(!same_origin("a:1", "b.1"));
}

#[test]
fn prefixes_end_at_a_dot_or_a_colon() {
    assert!(is_prefixed_by("root", "root"));
    assert!(is_prefixed_by("root.1", "root"));
    assert!(is_prefixed_by("root:1", "root"));
    assert!(is_prefixed_by("order.42:1", "order.42"));
    assert!(is_prefixed_by("root:1.2", "root:1"));
    assert!(!is_prefixed_by("rooted", "root"));
    assert!(!is_prefixed_by("roo", "root"));
    assert!(!is_prefixed_by("root-1", "root"));
    assert!(is_prefixed_by("", ""));
    assert!(!is_prefixed_by("x", ""));
}
