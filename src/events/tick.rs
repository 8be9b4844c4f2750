//! TICK_* timing: which wall-clock boundary comes next and which ticks are due. Pure.

use super::event::Event;

/// Last tick time slice per subscribed period. Like Supervisor, the first tick of a period is
/// sent when the clock crosses the first boundary after startup.
#[derive(Debug, Clone, Default)]
pub struct Ticks {
    last: Vec<(u64, u64)>,
}

fn slice(period: u64, now: f64) -> u64 {
    let secs = now.max(0.0) as u64;
    secs - secs % period
}

impl Ticks {
    /// Keeps the slices of periods still wanted, starts new ones at the current slice.
    pub fn set_periods(&mut self, periods: &[u64], now: f64) {
        self.last.retain(|(p, _)| periods.contains(p));
        for p in periods {
            if *p > 0 && !self.last.iter().any(|(q, _)| q == p) {
                self.last.push((*p, slice(*p, now)));
            }
        }
    }

    /// Epoch seconds of the next boundary, `None` when nothing subscribes to ticks.
    pub fn next_deadline(&self) -> Option<u64> {
        self.last.iter().map(|(p, s)| s + p).min()
    }

    /// Tick events for every period whose slice changed by `now` (epoch seconds).
    pub fn due(&mut self, now: f64) -> Vec<Event> {
        let mut events = Vec::new();
        for (period, last) in &mut self.last {
            let current = slice(*period, now);
            if current != *last {
                *last = current;
                events.push(Event::Tick {
                    period: *period,
                    when: current,
                });
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_periods_no_deadline() {
        let t = Ticks::default();
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn first_tick_at_next_boundary() {
        let mut t = Ticks::default();
        t.set_periods(&[5, 60], 1003.2);
        assert_eq!(t.next_deadline(), Some(1005));
        assert!(t.due(1004.99).is_empty());
        assert_eq!(
            t.due(1005.0),
            vec![Event::Tick {
                period: 5,
                when: 1005
            }]
        );
        assert_eq!(t.next_deadline(), Some(1010));
        assert!(t.due(1006.0).is_empty());
    }

    #[test]
    fn several_periods_at_once_and_missed_boundaries_collapse() {
        let mut t = Ticks::default();
        t.set_periods(&[5, 60, 3600], 3599.0);
        let due = t.due(3617.5);
        assert_eq!(
            due,
            vec![
                Event::Tick {
                    period: 5,
                    when: 3615
                },
                Event::Tick {
                    period: 60,
                    when: 3600
                },
                Event::Tick {
                    period: 3600,
                    when: 3600
                }
            ]
        );
        assert_eq!(t.next_deadline(), Some(3620));
    }

    #[test]
    fn changing_periods_keeps_existing_slices() {
        let mut t = Ticks::default();
        t.set_periods(&[60], 100.0);
        t.set_periods(&[60, 5], 130.0);
        assert_eq!(t.next_deadline(), Some(120));
        t.set_periods(&[], 130.0);
        assert_eq!(t.next_deadline(), None);
    }
}
