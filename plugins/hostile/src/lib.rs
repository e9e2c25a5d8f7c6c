//! A deliberately hostile plugin for sandbox tests. Each event's payload names what
//! to do: `ok` echoes, `reject` refuses, `panic`, `loop` (forever), `oom` (grow memory
//! without bound), `stack` (recurse without bound), `file` (try to read the host's
//! files), `huge` (emit 64 MiB), `big` (emit 2 MiB), `clock` (emit the wall clock), `random` (emit a
//! value keyed by the random source), `data` (read `/data/hello.txt`, which exists
//! only when the pipeline grants a read directory), `count` (emit how many events this
//! instance has seen: its only state, to show when an instance starts afresh).
//! Anything else is echoed like `ok`.

use sluice_plugin::{ConfigError, Emitter, Event, Reject, Transform};

/// The hostile transform; its only state counts the events this instance has seen.
pub struct Hostile {
    seen: u64,
}

fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
}

impl Transform for Hostile {
    fn init(config: &str) -> Result<Self, ConfigError> {
        if config.trim() == "refuse" {
            return Err(ConfigError::bad_config(
                "hostile: told to refuse its config",
            ));
        }
        Ok(Hostile { seen: 0 })
    }

    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject> {
        self.seen += 1;
        match event.payload {
            b"reject" => Err(Reject::new("hostile", "rejected on request")),
            b"count" => {
                out.row(format!("{{\"seen\":{}}}", self.seen).as_bytes());
                Ok(())
            }
            b"panic" => panic!("hostile plugin panicked on request"),
            b"loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            b"oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            b"stack" => {
                let n = recurse(0);
                out.row(format!("{{\"n\":{n}}}").as_bytes());
                Ok(())
            }
            b"file" => {
                let verdict = match std::fs::read("/etc/passwd") {
                    Ok(bytes) => format!("read {} bytes", bytes.len()),
                    Err(e) => format!("denied: {e}"),
                };
                out.row(format!("{{\"file\":{verdict:?}}}").as_bytes());
                Ok(())
            }
            b"clock" => {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                out.row(format!("{{\"clock\":{secs}}}").as_bytes());
                Ok(())
            }
            b"random" => {
                use std::hash::{BuildHasher, RandomState};
                let value = RandomState::new().hash_one(0u8);
                out.row(format!("{{\"random\":\"{value:016x}\"}}").as_bytes());
                Ok(())
            }
            b"data" => {
                let verdict = match std::fs::read_to_string("/data/hello.txt") {
                    Ok(text) => text.trim().to_owned(),
                    Err(e) => format!("denied: {e}"),
                };
                out.row(format!("{{\"data\":{verdict:?}}}").as_bytes());
                Ok(())
            }
            b"big" => {
                let blob = "x".repeat(2 << 20);
                out.row(format!("{{\"blob\":\"{blob}\"}}").as_bytes());
                Ok(())
            }
            b"huge" => {
                let blob = "x".repeat(64 << 20);
                out.row(format!("{{\"blob\":\"{blob}\"}}").as_bytes());
                Ok(())
            }
            other => {
                out.row(format!("{{\"echo\":{:?}}}", String::from_utf8_lossy(other)).as_bytes());
                Ok(())
            }
        }
    }
}

sluice_plugin::export_transform!(Hostile);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin::testing::{Result as R, run};

    #[test]
    fn echoes_and_rejects_natively() {
        let mut p = Hostile::init("").expect("init");
        let out = run(&mut p, &[b"ok", b"reject", b"file"]);
        assert_eq!(
            out.events[0],
            R::Rows(vec![(None, r#"{"echo":"ok"}"#.into())])
        );
        assert!(matches!(&out.events[1], R::Rejected(r) if r.code == "hostile"));
        assert!(Hostile::init("refuse").is_err());
    }
}
