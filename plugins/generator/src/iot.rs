//! Seed 001's sensor workload: readings from a fleet of battery-powered devices spread
//! over a few sites, one JSON object per reading, keyed by device.
//!
//! A device's sensor, site and calibration offset depend on its number alone, so
//! `dev_0007` measures the same thing in the same place in every run. Its readings are
//! drawn from the seed: the site's baseline, a daily cycle, a slow mean-reverting drift,
//! measurement noise and, rarely, a spike for anomaly detectors to find. Batteries
//! drain a little with every reading and are swapped for full ones at 5%.
//!
//! Valid ranges (a validator may rely on them): temperature -40 to 85 C, humidity 0 to
//! 100 %, pressure 870 to 1085 hPa, co2 400 to 5000 ppm, battery 0 to 100.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::invalid::{self, Invalid};
use crate::rng::Rng;
use crate::write_uuid;

/// What a device measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sensor {
    /// Air temperature in degrees Celsius.
    Temperature,
    /// Relative humidity in percent.
    Humidity,
    /// Barometric pressure in hectopascals.
    Pressure,
    /// Carbon dioxide concentration in parts per million.
    Co2,
}

/// How one kind of sensor behaves; the numbers are in the sensor's unit.
struct Behaviour {
    name: &'static str,
    unit: &'static str,
    /// Share of devices carrying this sensor.
    weight: u32,
    /// How far devices of one site differ from each other (calibration, placement).
    spread: f64,
    /// Swing of the daily cycle: above baseline mid-afternoon, below at night.
    daily: f64,
    /// Step size of the slow drift.
    drift: f64,
    /// Size of the measurement noise on each reading.
    noise: f64,
    /// Size of a glitch, added to the odd reading.
    spike: f64,
    /// The physically possible range; readings are clamped into it.
    min: f64,
    max: f64,
}

impl Sensor {
    /// Every sensor, in the order the site baselines list them.
    pub const ALL: [Self; 4] = [Self::Temperature, Self::Humidity, Self::Pressure, Self::Co2];

    fn behaviour(self) -> &'static Behaviour {
        &BEHAVIOUR[self as usize]
    }

    /// The `sensor` string in the record.
    pub fn as_str(self) -> &'static str {
        self.behaviour().name
    }

    /// The `unit` string in the record.
    pub fn unit(self) -> &'static str {
        self.behaviour().unit
    }

    /// The range every valid reading lies in.
    pub fn range(self) -> (f64, f64) {
        let b = self.behaviour();
        (b.min, b.max)
    }
}

const BEHAVIOUR: [Behaviour; 4] = [
    Behaviour {
        name: "temperature",
        unit: "C",
        weight: 35,
        spread: 1.5,
        daily: 1.5,
        drift: 0.15,
        noise: 0.05,
        spike: 12.0,
        min: -40.0,
        max: 85.0,
    },
    Behaviour {
        name: "humidity",
        unit: "%",
        weight: 25,
        spread: 5.0,
        // Warm afternoons are dry ones.
        daily: -6.0,
        drift: 0.8,
        noise: 0.3,
        spike: 20.0,
        min: 0.0,
        max: 100.0,
    },
    Behaviour {
        name: "pressure",
        unit: "hPa",
        weight: 15,
        spread: 1.0,
        daily: 0.8,
        drift: 0.2,
        noise: 0.05,
        spike: -25.0,
        min: 870.0,
        max: 1085.0,
    },
    Behaviour {
        name: "co2",
        unit: "ppm",
        weight: 25,
        spread: 50.0,
        // People in the building by day.
        daily: 120.0,
        drift: 10.0,
        noise: 4.0,
        spike: 1_200.0,
        // Outdoor air; no indoor reading goes below it.
        min: 400.0,
        max: 5_000.0,
    },
];

/// Where devices are installed, with each sensor's baseline there (in [`Sensor::ALL`]
/// order); pressure reflects altitude, co2 occupancy or enrichment.
const SITES: [(&str, [f64; 4]); 6] = [
    ("berlin-warehouse", [14.0, 55.0, 1_012.0, 650.0]),
    ("lyon-factory", [23.0, 40.0, 990.0, 850.0]),
    ("london-office", [21.5, 45.0, 1_011.0, 750.0]),
    ("dublin-datacenter", [24.0, 35.0, 1_009.0, 620.0]),
    ("almeria-greenhouse", [27.0, 75.0, 1_014.0, 1_000.0]),
    ("oslo-coldstore", [3.5, 85.0, 1_005.0, 600.0]),
];

/// A reading is a glitch with this probability.
const SPIKE_CHANCE: f64 = 0.002;
/// Batteries are swapped for full ones when they fall below this, in thousandths of a percent.
const BATTERY_SWAP: u32 = 5_000;
/// A full battery, in thousandths of a percent.
const BATTERY_FULL: u32 = 100_000;

/// A device's fixed traits, derived from the device number alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Device {
    /// What it measures.
    pub sensor: Sensor,
    /// Index into the site list.
    site: usize,
    /// Its steady-state reading, site baseline plus calibration offset.
    pub baseline: f64,
    /// A worn battery drains twenty times faster than a good one.
    pub worn_battery: bool,
}

impl Device {
    /// The `site` string in the record.
    pub fn site(&self) -> &'static str {
        SITES[self.site].0
    }
}

/// The traits of device `device`; the same in every run.
pub fn device(device: u32) -> Device {
    let mut rng = Rng::new(0x5EED_0001_DE71_CE00 ^ u64::from(device));
    let weights: [(Sensor, u32); 4] =
        std::array::from_fn(|i| (Sensor::ALL[i], BEHAVIOUR[i].weight));
    let sensor = rng.pick_weighted(&weights);
    let site = rng.below(SITES.len() as u64) as usize;
    let b = sensor.behaviour();
    let baseline = SITES[site].1[sensor as usize] + b.spread * rng.jitter();
    Device {
        sensor,
        site,
        baseline,
        worn_battery: rng.chance(0.03),
    }
}

/// What the generator remembers about one device between readings.
#[derive(Debug, Clone)]
struct DeviceState {
    traits: Device,
    /// Current offset of the slow drift from the baseline.
    drift: f64,
    /// Charge in thousandths of a percent.
    battery: u32,
}

/// One reading, before it becomes JSON; tests read it directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// 1-based device number.
    pub device: u32,
    /// The device's fixed traits.
    pub traits: Device,
    /// The measured value, rounded to two decimals.
    pub value: f64,
    /// Battery charge in whole percent.
    pub battery: u32,
    /// Random 128 bits for the event id.
    pub id: (u64, u64),
}

/// The JSON value of one reading, fields in the order seed 001 lists them.
#[derive(Serialize)]
struct Record<'a> {
    event_id: &'a str,
    /// Left out only by an invalid record.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<&'a str>,
    sensor: &'a str,
    value: f64,
    unit: &'a str,
    battery: i64,
    site: &'a str,
    timestamp: &'a str,
}

/// The iot workload's state across records.
#[derive(Debug, Default)]
pub struct Iot {
    /// Number of devices, `dev_0001` to `dev_<devices>`.
    devices: u32,
    /// Only devices that have reported are stored.
    state: BTreeMap<u32, DeviceState>,
    /// Reused text buffers for the record's string fields.
    event_id: String,
    device_id: String,
}

/// Where event time `ms` falls in the daily cycle: -1 at 02:00 UTC rising linearly to
/// +1 at 14:00 and back. A triangle, not a sine, so no platform libm is involved.
fn daily_cycle(ms: i64) -> f64 {
    const DAY: i64 = 86_400_000;
    let phase = (ms - 2 * 3_600_000).rem_euclid(DAY) as f64 / DAY as f64;
    1.0 - 4.0 * (phase - 0.5).abs()
}

impl Iot {
    /// A fleet of `devices` devices, none of which has reported yet.
    pub fn new(devices: u32) -> Self {
        Self {
            devices,
            ..Self::default()
        }
    }

    /// Draws the next reading at event time `now_ms` and updates the device's state.
    pub fn next_reading(&mut self, rng: &mut Rng, now_ms: i64) -> Reading {
        let number = rng.below(u64::from(self.devices)) as u32 + 1;
        let id = (rng.next_u64(), rng.next_u64());
        let st = self.state.entry(number).or_insert_with(|| {
            let traits = device(number);
            DeviceState {
                traits,
                drift: traits.sensor.behaviour().drift * 2.0 * rng.jitter(),
                battery: 40_000 + rng.below(60_001) as u32,
            }
        });
        let b = st.traits.sensor.behaviour();
        // Mean-reverting drift, so readings wander but stay near the baseline.
        st.drift = st.drift * 0.95 + b.drift * rng.jitter();
        let noise = b.noise * rng.jitter();
        let spike = if rng.chance(SPIKE_CHANCE) {
            b.spike
        } else {
            0.0
        };
        let raw = st.traits.baseline + b.daily * daily_cycle(now_ms) + st.drift + noise + spike;
        // Adding 0.0 turns a -0.0 from rounding into 0.0, which JSON shows as "0.0".
        let value = ((raw.clamp(b.min, b.max) * 100.0).round() / 100.0) + 0.0;

        let drain = 5 + rng.below(26) as u32;
        let drain = if st.traits.worn_battery {
            drain * 20
        } else {
            drain
        };
        st.battery = st.battery.saturating_sub(drain);
        if st.battery < BATTERY_SWAP {
            st.battery = BATTERY_FULL;
        }
        Reading {
            device: number,
            traits: st.traits,
            value,
            battery: st.battery / 1_000,
            id,
        }
    }

    /// Writes the next reading as JSON into `out`, breaking rule `invalid` of the schema
    /// if given (see [`crate::invalid`]), and returns its Kafka key (the device id).
    pub fn write_record(
        &mut self,
        rng: &mut Rng,
        now_ms: i64,
        timestamp: &str,
        invalid: Option<Invalid>,
        out: &mut Vec<u8>,
    ) -> Vec<u8> {
        let r = self.next_reading(rng, now_ms);
        self.event_id.clear();
        write_uuid(&mut self.event_id, r.id);
        self.device_id.clear();
        let _ = write!(self.device_id, "dev_{:04}", r.device);
        let sensor = r.traits.sensor;
        let record = Record {
            event_id: &self.event_id,
            device_id: Invalid::required(invalid, &self.device_id),
            sensor: Invalid::enumerated(invalid, sensor.as_str(), invalid::UNKNOWN_SENSOR),
            value: r.value,
            unit: sensor.unit(),
            battery: Invalid::ranged(invalid, i64::from(r.battery), invalid::BATTERY_OVER_FULL),
            site: r.traits.site(),
            timestamp: Invalid::timestamp(invalid, timestamp),
        };
        crate::write_json(out, &record);
        self.device_id.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    /// `n` readings spread evenly over one day per 10,000, so daily cycles average out.
    fn readings(devices: u32, n: i64) -> Vec<Reading> {
        let mut rng = Rng::new(4);
        let mut fleet = Iot::new(devices);
        (0..n)
            .map(|i| fleet.next_reading(&mut rng, 1_767_225_600_000 + i * 8_640))
            .collect()
    }

    #[test]
    fn records_have_every_field_in_the_right_shape() {
        let mut rng = Rng::new(8);
        let mut fleet = Iot::new(200);
        let mut units = HashMap::new();
        let mut sites = HashSet::new();
        let mut devices = HashSet::new();
        for i in 0..10_000 {
            let mut out = Vec::new();
            let key = fleet.write_record(&mut rng, i * 100, "2026-01-01 00:00:00", None, &mut out);
            let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(v.as_object().map(|o| o.len()), Some(8), "{v}");
            assert_eq!(v["event_id"].as_str().map(str::len), Some(36));
            let id = v["device_id"].as_str().expect("device_id");
            assert_eq!(id.as_bytes(), key.as_slice());
            let n: u32 = id
                .strip_prefix("dev_")
                .and_then(|n| n.parse().ok())
                .expect("dev_NNNN");
            assert!(id.len() == 8 && (1..=200).contains(&n), "{id}");
            devices.insert(n);
            let traits = device(n);
            assert_eq!(v["sensor"], traits.sensor.as_str());
            assert_eq!(v["unit"], traits.sensor.unit());
            assert_eq!(v["site"], traits.site());
            units.insert(traits.sensor.as_str(), traits.sensor.unit());
            sites.insert(traits.site());
            let value = v["value"].as_f64().expect("value");
            let (min, max) = traits.sensor.range();
            assert!((min..=max).contains(&value), "{v}");
            assert_eq!((value * 100.0).round() / 100.0, value, "{v}");
            assert!(v["battery"].as_u64().is_some_and(|b| b <= 100), "{v}");
            assert_eq!(v["timestamp"], "2026-01-01 00:00:00");
        }
        assert_eq!(
            units,
            HashMap::from([
                ("temperature", "C"),
                ("humidity", "%"),
                ("pressure", "hPa"),
                ("co2", "ppm")
            ])
        );
        assert_eq!(sites.len(), SITES.len());
        assert_eq!(devices.len(), 200);
    }

    #[test]
    fn values_are_plausible_for_their_sensor() {
        let mut by_sensor: HashMap<Sensor, Vec<f64>> = HashMap::new();
        let mut spikes = 0;
        for r in readings(200, 10_000) {
            by_sensor.entry(r.traits.sensor).or_default().push(r.value);
            let b = r.traits.sensor.behaviour();
            let off = (r.value - r.traits.baseline).abs();
            if off > b.daily.abs() + 6.0 * b.drift + b.noise {
                spikes += 1;
            }
        }
        // Overall means sit where the sites' baselines put them.
        for (sensor, lo, hi) in [
            (Sensor::Temperature, 8.0, 24.0),
            (Sensor::Humidity, 40.0, 70.0),
            (Sensor::Pressure, 995.0, 1_013.0),
            (Sensor::Co2, 650.0, 850.0),
        ] {
            let values = &by_sensor[&sensor];
            assert!(values.len() > 1_000, "{sensor:?} {}", values.len());
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            assert!((lo..hi).contains(&mean), "{sensor:?} mean {mean}");
        }
        // Glitches are rare but present: about 0.2% of readings.
        assert!((5..60).contains(&spikes), "{spikes}");
    }

    #[test]
    fn batteries_drain_slowly_and_are_swapped_when_low() {
        let mut last: HashMap<u32, u32> = HashMap::new();
        let mut swaps = 0;
        let mut drained = 0;
        for r in readings(50, 20_000) {
            assert!(r.battery <= 100);
            if let Some(prev) = last.insert(r.device, r.battery) {
                if r.battery > prev {
                    assert!(prev < 6 && r.battery == 100, "{prev} -> {}", r.battery);
                    swaps += 1;
                } else {
                    assert!(
                        prev - r.battery <= 1,
                        "dev {} fell {prev} -> {}",
                        r.device,
                        r.battery
                    );
                    drained += u32::from(prev != r.battery);
                }
            }
        }
        // 400 readings take about 7% from a good battery.
        assert!(drained > 300, "{drained}");
        // Only worn batteries run flat within 400 readings.
        let worn = (1..=50).filter(|d| device(*d).worn_battery).count();
        assert!(
            swaps >= worn && swaps <= 4 * worn + 2,
            "{swaps} swaps, {worn} worn"
        );
    }

    #[test]
    fn the_daily_cycle_peaks_mid_afternoon() {
        let hour = 3_600_000;
        assert_eq!(daily_cycle(2 * hour), -1.0);
        assert_eq!(daily_cycle(14 * hour), 1.0);
        assert_eq!(daily_cycle(8 * hour), 0.0);
        assert_eq!(daily_cycle(26 * hour), -1.0);
        assert_eq!(daily_cycle(-22 * hour), -1.0);
    }

    #[test]
    fn device_traits_are_stable() {
        let mut sensors: HashMap<Sensor, u32> = HashMap::new();
        for d in 1..=2_000 {
            let t = device(d);
            assert_eq!(t, device(d));
            *sensors.entry(t.sensor).or_default() += 1;
        }
        assert!(
            (600..800).contains(&sensors[&Sensor::Temperature]),
            "{sensors:?}"
        );
        assert!(
            (200..400).contains(&sensors[&Sensor::Pressure]),
            "{sensors:?}"
        );
    }
}
