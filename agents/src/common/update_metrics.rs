//! The scalars one update reports, before they reach the logger.

/// Scalars an update reports for logging; reading a tensor back costs a device sync, so values
/// are only computed when the step is a logging step.
pub struct Metrics {
    enabled: bool,
    pub values: Vec<(&'static str, f64)>,
}

impl Metrics {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            values: Vec::new(),
        }
    }

    /// Keeps the latest value per tag: the delayed actor update runs several times per step,
    /// and CleanRL logs the last one.
    pub fn record(&mut self, tag: &'static str, value: impl FnOnce() -> f64) {
        if !self.enabled {
            return;
        }
        let value = value();
        match self
            .values
            .iter_mut()
            .find(|(existing, _)| *existing == tag)
        {
            Some(entry) => entry.1 = value,
            None => self.values.push((tag, value)),
        }
    }
}
