//! Validation helpers shared by the operations: the field-rule collector, the origin rules of
//! compat.md R1, tag rules, search limits and address checks.

use resolute_core::model::{TAG_BRANCH, TAG_DELAY, TAG_ORIGIN, TAG_PARENT, TAG_PREFIX, TAG_TARGET};
use resolute_core::{Address, Tags};

use crate::error::BadRequest;

/// Collects field-rule failures. The protocol reports all of them at once, joined with "; ", and
/// runs struct rules only once every field rule passed.
#[derive(Debug, Default)]
pub(crate) struct FieldRules(Vec<String>);

impl FieldRules {
    /// Records `message` when `ok` is false.
    pub(crate) fn check(&mut self, ok: bool, message: &str) {
        if !ok {
            self.0.push(message.to_owned());
        }
    }

    /// Records the failure of a nested object's own validation.
    pub(crate) fn nested(&mut self, result: Result<(), BadRequest>) {
        if let Err(BadRequest(message)) = result {
            self.0.push(message);
        }
    }

    pub(crate) fn finish(self) -> Result<(), BadRequest> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(BadRequest(self.0.join("; ")))
        }
    }
}

/// Fails with `message` unless `ok`: struct rules stop at their first failure.
pub(crate) fn ensure(ok: bool, message: &str) -> Result<(), BadRequest> {
    if ok {
        Ok(())
    } else {
        Err(BadRequest::from(message))
    }
}

/// True when `id` is `prefix` itself or a descendant of it: `prefix` followed by `.` (previous SDK
/// generation, `root.1`) or `:` (current generation, `root:1`). compat.md R1.
pub fn is_prefixed_by(id: &str, prefix: &str) -> bool {
    match id.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with(':'),
        None => false,
    }
}

/// True when two promise ids can belong to the same execution tree (compat.md R1).
///
/// Previous-generation SDKs build `job`, `job.1`, `job.1.2`; current ones build `root`, `root:1`,
/// `root:1.2` from roots that may themselves contain dots (`order.42`, `order.42:1`). Under R1 an
/// id is its origin or the origin followed by `.` or `:`, and an origin has no `:`. So two ids
/// have an origin in common exactly when they agree up to their first `.` or `:`: any common
/// origin starts with that segment, and the segment is itself an origin both may have. Mixing the
/// separators within one tree (`a:1` awaiting `a.2`) is therefore allowed.
pub fn same_origin(a: &str, b: &str) -> bool {
    first_segment(a) == first_segment(b)
}

fn first_segment(id: &str) -> &str {
    id.split(['.', ':']).next().unwrap_or(id)
}

/// The struct rules of `promise.create` on its tags (protocol §3.2 as amended by compat.md R1), in
/// the protocol's order; the first failure wins.
pub(crate) fn check_create_tags(id: &str, timeout_at: i64, tags: &Tags) -> Result<(), BadRequest> {
    if let Some(origin) = tags.get(TAG_ORIGIN) {
        ensure(!origin.contains(':'), "resonate:origin must not contain ':'")?;
        ensure(is_prefixed_by(id, origin), "Promise ID must be prefixed by resonate:origin")?;
    }
    if let Some(branch) = tags.get(TAG_BRANCH) {
        ensure(is_prefixed_by(id, branch), "Promise ID must be prefixed by resonate:branch")?;
    }
    if let Some(parent) = tags.get(TAG_PARENT) {
        ensure(is_prefixed_by(id, parent), "Promise ID must be prefixed by resonate:parent")?;
    }
    if let Some(prefix) = tags.get(TAG_PREFIX) {
        ensure(!prefix.contains(':'), "resonate:prefix must not contain ':'")?;
    }
    if let Some(delay) = tags.get(TAG_DELAY) {
        let delay = delay.parse::<i64>().ok().filter(|delay| *delay >= 0);
        let Some(delay) = delay else {
            return Err("resonate:delay must be a non-negative integer".into());
        };
        ensure(delay < timeout_at, "resonate:delay must be less than timeoutAt")?;
        ensure(tags.contains_key(TAG_TARGET), "resonate:delay requires a resonate:target tag")?;
    }
    Ok(())
}

/// A present `resonate:target` must be routable (checked after the struct rules).
pub(crate) fn check_target(tags: &Tags) -> Result<(), BadRequest> {
    match tags.get(TAG_TARGET) {
        Some(target) => ensure(Address::parse(target).is_some(), "Invalid resonate:target address"),
        None => Ok(()),
    }
}

/// Field rule on a search `limit`.
pub(crate) fn check_limit_positive(rules: &mut FieldRules, limit: Option<i64>) {
    rules.check(limit.unwrap_or(1) >= 1, "Limit must be a positive integer");
}

/// The search limit after validation: the default when absent, at most 1000.
pub(crate) fn page_limit(limit: Option<i64>, default: usize) -> Result<usize, BadRequest> {
    match limit {
        None => Ok(default),
        Some(limit) => match usize::try_from(limit) {
            Ok(limit) if (1..=1000).contains(&limit) => Ok(limit),
            _ => Err("Invalid 'limit' — must be between 1 and 1000".into()),
        },
    }
}

/// The page of a search request: the limit checked with the protocol's two messages (field rule,
/// then range), the cursor as given.
pub(crate) fn page(
    limit: Option<i64>,
    cursor: Option<String>,
    default: usize,
) -> Result<resolute_core::command::Page, BadRequest> {
    let mut field = FieldRules::default();
    check_limit_positive(&mut field, limit);
    field.finish()?;
    Ok(resolute_core::command::Page { limit: page_limit(limit, default)?, cursor })
}
