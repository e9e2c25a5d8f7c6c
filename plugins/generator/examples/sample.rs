//! Prints generated records, one per line, to eyeball a workload without Kafka.
//!
//! Run: `cargo run -p generator --example sample -- '{"kind":"clickstream"}' 42 20`
//! (arguments: config JSON, seed, number of records; all optional).

fn main() {
    let mut args = std::env::args().skip(1);
    let config = args.next().unwrap_or_default();
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let count: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut generator = match generator::Generator::new(&config, seed) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let batch = generator.next_batch(count);
    for (message, value) in batch.messages.iter().zip(batch.values()) {
        println!(
            "{}\t{}",
            String::from_utf8_lossy(&message.key),
            String::from_utf8_lossy(value)
        );
    }
}
