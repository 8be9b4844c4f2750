//! How long an automatic restart waits: the crash-loop floor, `restart_delay`, and its
//! doubling up to `restart_delay_max`. Pure arithmetic on durations the worker measured.

/// The restart settings of one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    /// A run shorter than this waits until this long after its spawn (no spinning).
    pub floor_ms: u64,
    /// `restart_delay`: wait after every exit that restarts.
    pub delay_ms: u64,
    /// `restart_delay_max`: when above `delay_ms`, consecutive short runs double the delay up
    /// to this, and a run this long resets the doubling.
    pub max_ms: u64,
    /// `retry_forever`: BACKOFF never turns FATAL.
    pub forever: bool,
}

/// The crash-loop floor every program gets: about one spawn a second at most.
pub const FLOOR_MS: u64 = 1000;

impl Default for Restart {
    fn default() -> Self {
        Restart {
            floor_ms: FLOOR_MS,
            delay_ms: 0,
            max_ms: 0,
            forever: false,
        }
    }
}

impl Restart {
    /// Whether the delays grow.
    fn doubles(&self) -> bool {
        self.max_ms > self.delay_ms
    }

    /// The configured delay for the `streak`-th consecutive short run (0-based): the delay,
    /// doubled each time up to the cap. Doubling starts from the floor when no delay is set.
    pub fn delay_for(&self, streak: u32) -> u64 {
        if !self.doubles() {
            return self.delay_ms;
        }
        let base = if self.delay_ms == 0 {
            self.floor_ms.max(1)
        } else {
            self.delay_ms
        };
        let factor = 1u64.checked_shl(streak.min(40)).unwrap_or(u64::MAX);
        base.saturating_mul(factor).min(self.max_ms)
    }

    /// Wait after an exit, in ms from the exit, for a run of `ran_ms`: whichever ends later of
    /// the floor (counted from the spawn) and the delay (counted from the exit). Advances the
    /// streak of short runs, which a run of `restart_delay_max` resets first.
    pub fn wait_ms(&self, streak: &mut u32, ran_ms: u64) -> u64 {
        if ran_ms >= self.max_ms {
            *streak = 0;
        }
        let delay = self.delay_for(*streak);
        *streak = streak.saturating_add(1);
        delay.max(self.floor_ms.saturating_sub(ran_ms))
    }

    /// Wait in BACKOFF: Supervisor's `n` seconds after the n-th failed start (held at
    /// `startretries` with `retry_forever`, so the wait stops growing by itself), or the
    /// restart wait when that is longer.
    pub fn backoff_ms(&self, n: u32, startretries: u32, streak: &mut u32, ran_ms: u64) -> u64 {
        let secs = if self.forever {
            n.min(startretries.max(1))
        } else {
            n
        };
        let wait = self.wait_ms(streak, ran_ms);
        (u64::from(secs) * 1000).max(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(delay_ms: u64, max_ms: u64) -> Restart {
        Restart {
            delay_ms,
            max_ms,
            ..Restart::default()
        }
    }

    #[test]
    fn floor_counts_from_the_spawn() {
        let mut s = 0;
        assert_eq!(r(0, 0).wait_ms(&mut s, 0), 1000);
        assert_eq!(r(0, 0).wait_ms(&mut s, 300), 700);
        assert_eq!(r(0, 0).wait_ms(&mut s, 1000), 0);
        assert_eq!(r(0, 0).wait_ms(&mut s, 60_000), 0);
    }

    #[test]
    fn delay_counts_from_the_exit_and_wins_when_longer() {
        let mut s = 0;
        assert_eq!(r(2000, 0).wait_ms(&mut s, 10), 2000);
        assert_eq!(r(500, 0).wait_ms(&mut s, 10), 990);
        assert_eq!(r(500, 0).wait_ms(&mut s, 5000), 500);
    }

    #[test]
    fn delays_double_up_to_the_cap_and_reset_after_a_long_run() {
        let p = r(1000, 8000);
        let mut s = 0;
        let waits: Vec<u64> = (0..6).map(|_| p.wait_ms(&mut s, 5)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(p.wait_ms(&mut s, 8000), 1000);
        assert_eq!(p.wait_ms(&mut s, 5), 2000);
    }

    #[test]
    fn doubling_without_a_delay_starts_at_the_floor() {
        let p = r(0, 4000);
        let mut s = 0;
        let waits: Vec<u64> = (0..4).map(|_| p.wait_ms(&mut s, 2000)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 4000]);
    }

    #[test]
    fn huge_streaks_do_not_overflow() {
        let p = r(1000, 31_536_000_000);
        let mut s = u32::MAX - 1;
        assert_eq!(p.wait_ms(&mut s, 0), 31_536_000_000);
        assert_eq!(s, u32::MAX);
        assert_eq!(p.wait_ms(&mut s, 0), 31_536_000_000);
    }

    #[test]
    fn backoff_is_supervisors_or_the_delay() {
        let mut s = 0;
        assert_eq!(r(0, 0).backoff_ms(3, 3, &mut s, 10), 3000);
        assert_eq!(r(5000, 0).backoff_ms(1, 3, &mut s, 10), 5000);
        let forever = Restart {
            forever: true,
            ..r(0, 0)
        };
        assert_eq!(forever.backoff_ms(50, 3, &mut s, 10), 3000);
        assert_eq!(forever.backoff_ms(50, 0, &mut s, 10), 1000);
    }
}
