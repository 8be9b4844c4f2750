//! CPU% over a short window. Nothing runs between queries: the sampler remembers each tree's
//! CPU seconds from the previous query and divides the difference by the time since. A tree
//! seen for the first time (or not for a long while) is measured over a short window instead,
//! so a lone `status --json` still gets a number.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Usage;

/// The window measured when there is no recent earlier sample.
pub const SHORT_WINDOW: Duration = Duration::from_millis(250);
/// An earlier sample younger than this gives too noisy a rate: its percentage is reused.
const MIN_WINDOW: Duration = Duration::from_millis(400);
/// An earlier sample older than this is too stale to average over.
const MAX_WINDOW: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
struct Seen {
    at: Instant,
    cpu_seconds: f64,
    percent: f64,
}

/// Remembers the last sample of each tree, keyed by root pid and start time (a reused pid is
/// another process). Holds only trees asked about in the last MAX_WINDOW.
#[derive(Default)]
pub struct Sampler {
    seen: Mutex<HashMap<(i32, u64), Seen>>,
}

impl Sampler {
    pub fn new() -> Sampler {
        Sampler {
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Usage of each root's tree with `cpu_percent` filled; may take SHORT_WINDOW when some
    /// tree has no recent sample.
    pub fn sample(&self, roots: &[i32]) -> Vec<Option<Usage>> {
        let mut usages = super::trees(roots);
        let now = Instant::now();
        if self.fill(roots, &mut usages, now) {
            return usages;
        }
        std::thread::sleep(SHORT_WINDOW);
        let mut usages = super::trees(roots);
        self.fill(roots, &mut usages, Instant::now());
        usages
    }

    /// Fills what it can from earlier samples and records this one; false when some tree
    /// needs a second sample.
    fn fill(&self, roots: &[i32], usages: &mut [Option<Usage>], now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, s| now.duration_since(s.at) < MAX_WINDOW);
        let mut complete = true;
        for (root, usage) in roots.iter().zip(usages.iter_mut()) {
            let Some(u) = usage else { continue };
            let key = (*root, u.start_ticks);
            match seen.get(&key).copied() {
                Some(s) if now.duration_since(s.at) < MIN_WINDOW && s.percent >= 0.0 => {
                    u.cpu_percent = Some(s.percent);
                }
                Some(s) if now.duration_since(s.at) >= MIN_WINDOW / 2 => {
                    let secs = now.duration_since(s.at).as_secs_f64();
                    let percent = ((u.cpu_seconds - s.cpu_seconds) / secs * 100.0).max(0.0);
                    u.cpu_percent = Some(percent);
                    seen.insert(
                        key,
                        Seen {
                            at: now,
                            cpu_seconds: u.cpu_seconds,
                            percent,
                        },
                    );
                }
                Some(_) => complete = false,
                None => {
                    // No rate yet (percent < 0): the next query, or the short second sample
                    // of this one, computes it.
                    let first = Seen {
                        at: now,
                        cpu_seconds: u.cpu_seconds,
                        percent: -1.0,
                    };
                    seen.insert(key, first);
                    complete = false;
                }
            }
        }
        complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_process_shows_its_cpu_share() {
        use std::os::unix::process::CommandExt;
        let mut busy = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = busy.id() as i32;
        let sampler = Sampler::new();
        let first = sampler.sample(&[pid])[0].clone().unwrap();
        let t1 = Instant::now();
        std::thread::sleep(Duration::from_millis(800));
        let second = sampler.sample(&[pid])[0].clone().unwrap();
        let elapsed = t1.elapsed().as_secs_f64();
        let idle = sampler.sample(&[std::process::id() as i32])[0].clone();
        let _ = busy.kill();
        let _ = busy.wait();
        // On a loaded machine the loop gets anything up to one core; the first window is
        // measured at once, the second must match the CPU seconds used between the queries.
        let (a, b) = (first.cpu_percent.unwrap(), second.cpu_percent.unwrap());
        assert!(a > 0.0 && a < 110.0, "first window {a}");
        let expected = (second.cpu_seconds - first.cpu_seconds) / elapsed * 100.0;
        assert!(
            b > 0.0 && (b - expected).abs() < 10.0,
            "second window {b}, expected {expected}"
        );
        assert!(idle.unwrap().cpu_percent.is_some());
    }
}
