//! Latency samples and their percentiles.

use std::time::Duration;

/// A sorted set of latency samples.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    /// Takes ownership of `v` and sorts it.
    pub fn new(mut v: Vec<Duration>) -> Samples {
        v.sort_unstable();
        Samples { sorted: v }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The `q` quantile (0.0..=1.0), nearest-rank; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    /// Median.
    pub fn p50(&self) -> Duration {
        self.quantile(0.50)
    }

    /// 99th percentile.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// Largest sample.
    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }
}

/// Milliseconds with a precision that suits the magnitude.
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 1.0 {
        format!("{v:.3}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let s = Samples::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(s.p50(), Duration::from_millis(50));
        assert_eq!(s.p99(), Duration::from_millis(99));
        assert_eq!(s.max(), Duration::from_millis(100));
        assert_eq!(s.quantile(0.0), Duration::from_millis(1));
        assert_eq!(Samples::default().p99(), Duration::ZERO);
    }

    #[test]
    fn ms_formatting() {
        assert_eq!(ms(Duration::from_micros(250)), "0.250");
        assert_eq!(ms(Duration::from_micros(12_345)), "12.35");
        assert_eq!(ms(Duration::from_millis(250)), "250");
    }
}
