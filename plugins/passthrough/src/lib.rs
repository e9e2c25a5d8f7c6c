//! Emits each event's payload as its row, unchanged: the cheapest possible plugin,
//! so benches can separate the cost of crossing into WebAssembly from a plugin's work.

use sluice_plugin::{ConfigError, Emitter, Event, Reject, Transform};

/// The identity transform.
pub struct Passthrough;

impl Transform for Passthrough {
    fn init(_config: &str) -> Result<Self, ConfigError> {
        Ok(Passthrough)
    }

    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject> {
        out.row(event.payload);
        Ok(())
    }
}

sluice_plugin::export_transform!(Passthrough);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin::testing::{Result as R, run};

    #[test]
    fn rows_equal_payloads() {
        let mut p = Passthrough::init("").expect("init");
        let out = run(&mut p, &[br#"{"a":1}"#, b"x"]);
        assert_eq!(
            out.events,
            vec![
                R::Rows(vec![(None, r#"{"a":1}"#.into())]),
                R::Rows(vec![(None, "x".into())])
            ]
        );
        assert!(out.batch_rows.is_empty());
    }
}
