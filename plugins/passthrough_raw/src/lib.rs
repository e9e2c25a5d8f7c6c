//! The identity transform on the raw batch ABI (wit-bindgen, no SDK): the whole
//! payload buffer is handed back as the row data, with one `emit(1)` and one row per
//! event. Benches compare it with `passthrough`, which is the same transform on the
//! SDK, to price what the SDK's per-event convenience costs.

/// Row lengths for a batch: each event's payload becomes its row, unchanged.
pub fn row_lengths(payload_lens: &[u32]) -> Vec<u32> {
    payload_lens.to_vec()
}

/// The WIT export glue: the generated ABI code needs `unsafe`, so it is allowed here only.
#[allow(unsafe_code)]
mod component {
    wit_bindgen::generate!({ path: "../../wit", world: "transformer" });

    use exports::sluice::plugin::transform::Guest;
    use sluice::plugin::types::{Batch, Error, Outcome, Output, Row};

    /// The component's `transform` export. Only wasm32 exports it: native linkers
    /// reject the component-model symbol names, but native builds still type-check it.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    struct Component;

    impl Guest for Component {
        fn init(_config: String) -> Result<(), Error> {
            Ok(())
        }

        fn process(batch: Batch) -> Output {
            let lens: Vec<u32> = batch.events.iter().map(|e| e.payload_len).collect();
            Output {
                outcomes: vec![Outcome::Emit(1); lens.len()],
                rows: crate::row_lengths(&lens)
                    .into_iter()
                    .map(|len| Row { target: None, len })
                    .collect(),
                data: batch.payloads,
            }
        }
    }

    #[cfg(target_arch = "wasm32")]
    export!(Component);
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_payload_is_its_own_row() {
        assert_eq!(super::row_lengths(&[3, 0, 7]), vec![3, 0, 7]);
    }
}
