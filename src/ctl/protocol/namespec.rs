//! Namespecs as Supervisor writes them: `name` for a process alone in its group, `group:name`
//! otherwise, `group:*` (or `group:`) for a whole group.

/// Supervisor's `split_namespec`: `g:*` / `g:` → (g, None); `p` → (p, Some(p)).
pub fn split_namespec(namespec: &str) -> (&str, Option<&str>) {
    match namespec.split_once(':') {
        Some((g, p)) if p.is_empty() || p == "*" => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (namespec, Some(namespec)),
    }
}

/// `name` when the process is alone in a group of its own name, else `group:name`.
pub fn make_namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespecs() {
        assert_eq!(split_namespec("foo"), ("foo", Some("foo")));
        assert_eq!(split_namespec("g:p"), ("g", Some("p")));
        assert_eq!(split_namespec("g:*"), ("g", None));
        assert_eq!(split_namespec("g:"), ("g", None));
        assert_eq!(make_namespec("g", "p"), "g:p");
        assert_eq!(make_namespec("p", "p"), "p");
    }
}
