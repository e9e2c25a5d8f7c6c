//! `user_agent`: sorts a user-agent string into device, browser and OS classes by the
//! tokens browsers have carried for years. Order matters because browsers borrow each
//! other's tokens: Edge and Opera say "Chrome" and "Safari", Chrome says "Safari", iOS says
//! "like Mac OS X" and Android says "Linux".

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Reject};

use crate::config::{Section, type_name};

/// Kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Mobile,
    Tablet,
    Desktop,
    Bot,
}

/// Browser family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Chrome,
    Firefox,
    Safari,
    Edge,
    Opera,
    Other,
}

/// Operating system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Windows,
    MacOs,
    Ios,
    Android,
    Linux,
    Other,
}

impl Device {
    /// The value written to the event.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Desktop => "desktop",
            Device::Bot => "bot",
        }
    }
}

impl Browser {
    /// The value written to the event.
    pub fn as_str(self) -> &'static str {
        match self {
            Browser::Chrome => "Chrome",
            Browser::Firefox => "Firefox",
            Browser::Safari => "Safari",
            Browser::Edge => "Edge",
            Browser::Opera => "Opera",
            Browser::Other => "Other",
        }
    }
}

impl Os {
    /// The value written to the event.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Windows => "Windows",
            Os::MacOs => "macOS",
            Os::Ios => "iOS",
            Os::Android => "Android",
            Os::Linux => "Linux",
            Os::Other => "Other",
        }
    }
}

/// The three classes of one user-agent string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    pub device: Device,
    pub browser: Browser,
    pub os: Os,
}

/// Classifies a user-agent string; matching ignores ASCII case.
pub fn classify(ua: &str) -> Classes {
    let ua = ua.to_ascii_lowercase();
    let has = |tokens: &[&str]| tokens.iter().any(|t| ua.contains(t));
    Classes {
        device: device(&has),
        browser: browser(&has),
        os: os(&has),
    }
}

fn device(has: &impl Fn(&[&str]) -> bool) -> Device {
    if has(&["bot", "crawler", "spider"]) {
        Device::Bot
    } else if has(&["ipad", "kindle", "silk/", "playbook"])
        || (has(&["android"]) && !has(&["mobile"]))
        // Windows "Tablet PC" marks a touch-capable desktop, not a tablet.
        || (has(&["tablet"]) && !has(&["tablet pc"]))
    {
        // iPads and Android tablets also say "Mobile" or "Safari", so tablets go first.
        Device::Tablet
    } else if has(&[
        "mobile",
        "iphone",
        "ipod",
        "android",
        "windows phone",
        "blackberry",
        "opera mini",
    ]) {
        Device::Mobile
    } else {
        Device::Desktop
    }
}

fn browser(has: &impl Fn(&[&str]) -> bool) -> Browser {
    // Each step's tokens appear in the UAs of the steps below it, never the reverse.
    if has(&["edg/", "edge/", "edga/", "edgios/"]) {
        Browser::Edge
    } else if has(&["opr/", "opera", "opios/"]) {
        Browser::Opera
    } else if has(&[
        "samsungbrowser/",
        "ucbrowser/",
        "yabrowser/",
        "silk/",
        "msie ",
        "trident/",
    ]) {
        // Chromium forks and Internet Explorer, which the classes do not name.
        Browser::Other
    } else if has(&["firefox/", "fxios/"]) {
        Browser::Firefox
    } else if has(&["chrome/", "crios/", "chromium/"]) {
        Browser::Chrome
    } else if has(&["safari/"]) && !has(&["android"]) {
        // Android's pre-Chrome stock browser also says "Safari".
        Browser::Safari
    } else {
        Browser::Other
    }
}

fn os(has: &impl Fn(&[&str]) -> bool) -> Os {
    if has(&["windows phone"]) {
        // Windows Phone also claims Android and iPhone; it is none of the named systems.
        Os::Other
    } else if has(&["iphone", "ipad", "ipod"]) {
        Os::Ios
    } else if has(&["android"]) {
        Os::Android
    } else if has(&["windows"]) {
        Os::Windows
    } else if has(&["macintosh", "mac os x"]) {
        Os::MacOs
    } else if has(&["linux"]) {
        Os::Linux
    } else {
        Os::Other
    }
}

/// Names of the field the section reads and the three it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    /// User-agent field.
    pub from: String,
    /// Output: `mobile`, `tablet`, `desktop` or `bot`.
    pub device: String,
    /// Output: `Chrome`, `Firefox`, `Safari`, `Edge`, `Opera` or `Other`.
    pub browser: String,
    /// Output: `Windows`, `macOS`, `iOS`, `Android`, `Linux` or `Other`.
    pub os: String,
}

impl UserAgent {
    /// Reads the section; every key defaults to its own name (`from` to `user_agent`).
    pub fn from_config(value: Value) -> Result<Self, ConfigError> {
        let mut s = Section::new(
            "user_agent".into(),
            value,
            &["from", "device", "browser", "os"],
        )?;
        Ok(Self {
            from: s.name_or("from", "user_agent")?,
            device: s.name_or("device", "device")?,
            browser: s.name_or("browser", "browser")?,
            os: s.name_or("os", "os")?,
        })
    }

    /// The fields this section writes, with the setting that names each.
    pub fn outputs(&self) -> Vec<(&str, String)> {
        vec![
            (self.device.as_str(), "user_agent.device".into()),
            (self.browser.as_str(), "user_agent.browser".into()),
            (self.os.as_str(), "user_agent.os".into()),
        ]
    }

    /// Adds the three classes; a missing, null or blank user agent gives `unknown` for each.
    pub fn apply(&self, event: &mut Map<String, Value>) -> Result<(), Reject> {
        let (device, browser, os) = match event.get(&self.from) {
            None | Some(Value::Null) => ("unknown", "unknown", "unknown"),
            Some(Value::String(s)) if s.trim().is_empty() => ("unknown", "unknown", "unknown"),
            Some(Value::String(s)) => {
                let c = classify(s);
                (c.device.as_str(), c.browser.as_str(), c.os.as_str())
            }
            Some(other) => {
                return Err(Reject::new(
                    "wrong-type",
                    format!(
                        "field \"{}\" must be a string, got {}",
                        self.from,
                        type_name(other)
                    ),
                ));
            }
        };
        event.insert(self.device.clone(), Value::from(device));
        event.insert(self.browser.clone(), Value::from(browser));
        event.insert(self.os.clone(), Value::from(os));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Real user agents as browsers and crawlers send them, with the expected classes.
    const SAMPLES: &[(&str, &str, &str, &str)] = &[
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "desktop",
            "Chrome",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
            "desktop",
            "Edge",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
            "desktop",
            "Edge",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0",
            "desktop",
            "Opera",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "desktop",
            "Firefox",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
            "desktop",
            "Safari",
            "macOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "desktop",
            "Chrome",
            "macOS",
        ),
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "desktop",
            "Firefox",
            "Linux",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "desktop",
            "Chrome",
            "Linux",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
            "mobile",
            "Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
            "mobile",
            "Chrome",
            "iOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 14_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/32.0 Mobile/15E148 Safari/605.1.15",
            "mobile",
            "Firefox",
            "iOS",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            "tablet",
            "Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
            "mobile",
            "Chrome",
            "Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36",
            "tablet",
            "Chrome",
            "Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 EdgA/124.0.2478.64",
            "mobile",
            "Edge",
            "Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
            "mobile",
            "Other",
            "Android",
        ),
        (
            "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
            "mobile",
            "Firefox",
            "Android",
        ),
        (
            "Mozilla/5.0 (Android 4.4; Tablet; rv:41.0) Gecko/41.0 Firefox/41.0",
            "tablet",
            "Firefox",
            "Android",
        ),
        (
            "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; GT-I9100 Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
            "mobile",
            "Other",
            "Android",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
            "desktop",
            "Other",
            "Windows",
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "bot",
            "Other",
            "Other",
        ),
        (
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "bot",
            "Chrome",
            "Android",
        ),
        (
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "bot",
            "Other",
            "Other",
        ),
        (
            "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
            "bot",
            "Other",
            "Other",
        ),
        (
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "bot",
            "Other",
            "Other",
        ),
        (
            "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537",
            "mobile",
            "Other",
            "Other",
        ),
        ("curl/8.5.0", "desktop", "Other", "Other"),
    ];

    #[test]
    fn real_user_agents_are_classified() {
        for &(ua, device, browser, os) in SAMPLES {
            let c = classify(ua);
            assert_eq!(
                (c.device.as_str(), c.browser.as_str(), c.os.as_str()),
                (device, browser, os),
                "{ua}"
            );
        }
    }

    #[test]
    fn matching_ignores_case() {
        let c = classify(
            "MOZILLA/5.0 (IPHONE; CPU IPHONE OS 17_4 LIKE MAC OS X) VERSION/17.4 MOBILE SAFARI/604.1",
        );
        assert_eq!(
            (c.device, c.browser, c.os),
            (Device::Mobile, Browser::Safari, Os::Ios)
        );
    }

    #[test]
    fn section_writes_classes_and_unknown_when_absent() {
        let ua = UserAgent::from_config(json!({"from": "ua", "os": "platform"})).expect("config");
        let run = |event: Value| {
            let Value::Object(mut map) = event else {
                panic!("not an object")
            };
            ua.apply(&mut map)
                .map(|()| Value::Object(map))
                .map_err(|e| e.code)
        };
        assert_eq!(
            run(json!({"ua": SAMPLES[13].0})),
            Ok(
                json!({"ua": SAMPLES[13].0, "device": "mobile", "browser": "Chrome", "platform": "Android"})
            )
        );
        let unknown = json!({"device": "unknown", "browser": "unknown", "platform": "unknown"});
        assert_eq!(run(json!({})), Ok(unknown.clone()));
        assert_eq!(
            run(json!({"ua": null})).map(|v| v["device"].clone()),
            Ok(json!("unknown"))
        );
        assert_eq!(
            run(json!({"ua": "  "})).map(|v| v["os"].clone()),
            Ok(Value::Null),
            "the os output is renamed"
        );
        assert_eq!(
            run(json!({"ua": "  "})).map(|v| v["platform"].clone()),
            Ok(json!("unknown"))
        );
        assert_eq!(run(json!({"ua": 7})), Err("wrong-type".into()));
    }
}
