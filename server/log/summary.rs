//! The minute summary: every call is counted here (answered, refused with which kind of code, and its
//! time in a log-scale histogram), and once a minute one `info` line says what the last minute was:
//! `calls 1234, errors 5 (server 0), p50 0.8 ms, p99 6.3 ms`. Nothing is written for a quiet minute.
//! Lock-free: a call adds to atomics, the task swaps them out.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bucket i holds calls that took [2^i, 2^(i+1)) microseconds.
const BUCKETS: usize = 24;

/// Counters of the current minute.
#[derive(Default)]
pub struct Summary {
    calls: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    hist: [AtomicU64; BUCKETS],
}

impl Summary {
    /// Counts one call: its code (0 ok, 4/3 server or database failures, others refusals) and duration.
    pub fn record(&self, retval: i64, micros: u64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match retval {
            0 => {}
            3 | 4 => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                self.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        let b = (64 - micros.max(1).leading_zeros() as usize - 1).min(BUCKETS - 1);
        self.hist[b].fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the minute's counters (resetting them) as a log line; `None` when there was no call.
    pub fn take_line(&self) -> Option<String> {
        let calls = self.calls.swap(0, Ordering::Relaxed);
        let refused = self.refused.swap(0, Ordering::Relaxed);
        let failed = self.failed.swap(0, Ordering::Relaxed);
        let hist: Vec<u64> = self.hist.iter().map(|h| h.swap(0, Ordering::Relaxed)).collect();
        if calls == 0 {
            return None;
        }
        let pct = |p: f64| -> f64 {
            let want = (calls as f64 * p).ceil() as u64;
            let mut seen = 0;
            for (i, n) in hist.iter().enumerate() {
                seen += n;
                if seen >= want {
                    // The bucket's upper bound: a percentile is never reported lower than it was.
                    return (1u64 << (i + 1)) as f64 / 1000.0;
                }
            }
            (1u64 << BUCKETS) as f64 / 1000.0
        };
        Some(format!(
            "last minute: calls {calls}, refused {refused}, failed {failed}, p50 <= {:.1} ms, p99 <= {:.1} ms",
            pct(0.50),
            pct(0.99)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_is_summed_and_reset_and_a_quiet_one_says_nothing() {
        let s = Summary::default();
        assert_eq!(s.take_line(), None);
        for _ in 0..98 {
            s.record(0, 700);
        }
        s.record(5, 900);
        s.record(4, 40_000);
        assert_eq!(s.take_line().unwrap(), "last minute: calls 100, refused 1, failed 1, p50 <= 1.0 ms, p99 <= 1.0 ms");
        s.record(0, 40_000);
        assert_eq!(s.take_line().unwrap(), "last minute: calls 1, refused 0, failed 0, p50 <= 65.5 ms, p99 <= 65.5 ms");
        assert_eq!(s.take_line(), None);
    }
}
