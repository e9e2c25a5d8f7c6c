//! Sources of records. Kafka is the only one: records flow from here into
//! `pipeline::batch`, and commits flow back once the sink has written them.

pub mod kafka;
pub mod settings;
pub mod topic_id;
