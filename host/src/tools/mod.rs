//! Developer tools behind `host plugin ...`, needing no Kafka and no ClickHouse: offline
//! runs of a plugin or chain against golden files ([`offline`]) and new plugin crates
//! written from templates ([`scaffold`]).

pub mod offline;
pub mod scaffold;
