//! Mangled configs must produce a result or a located error, never a panic: every config of
//! the test corpus is loaded again after deterministic truncations and insertions of the
//! characters the parser treats specially.

use std::path::{Path, PathBuf};
use supervisor_rs::config;

use crate::support::temp::TempDir;

const SPECIAL: &[&str] = &[
    "%", "%(", ")s", "[", "]", "=", ":", ";", "#", "\"", "'", "\\", "\n", "\n  ", "\t", " ", "%%",
    "é", ",",
];

fn corpus() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "conf" || x == "ini") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs"),
        &mut out,
    );
    out.sort();
    out
}

/// Small deterministic generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

#[test]
fn mangled_configs_never_panic() {
    let dir = TempDir::new("robust");
    let target = dir.0.join("supervisord.conf");
    let env = vec![("HOME".to_string(), "/root".to_string())];
    let mut rng = Lcg(42);
    let mut loads = 0;
    for file in corpus() {
        let text = std::fs::read_to_string(&file).expect("read corpus file");
        let chars: Vec<char> = text.chars().collect();
        for round in 0..24 {
            let mut mangled: String = if round % 3 == 0 {
                chars[..rng.next(chars.len() + 1)].iter().collect()
            } else {
                chars.iter().collect()
            };
            for _ in 0..(1 + round % 4) {
                let at = rng.next(mangled.chars().count() + 1);
                let byte = mangled
                    .char_indices()
                    .nth(at)
                    .map(|(i, _)| i)
                    .unwrap_or(mangled.len());
                mangled.insert_str(byte, SPECIAL[rng.next(SPECIAL.len())]);
            }
            std::fs::write(&target, &mangled).expect("write");
            // Either outcome is fine; a panic fails the test.
            if let Err(e) = config::load(&target, &env) {
                assert!(!e.message.is_empty(), "empty message for:\n{mangled}");
            }
            loads += 1;
        }
    }
    assert!(loads > 1000, "only {loads} loads");
}
