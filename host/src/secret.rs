//! Secrets: passwords, tokens and keys. A config names where one comes from (an
//! environment variable or a file), never the secret itself, and once read it prints
//! as `[redacted]` everywhere (logs, errors, the admin API), so it cannot leak through
//! a `{:?}` or an error chain.

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// A secret value; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from a trusted place (an environment variable, a file).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one call that needs it (a client's config).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a secret comes from, as a config file writes it: `{ env = "NAME" }` or
/// `{ file = "/run/secrets/name" }`. A bare string is refused, so a secret never sits
/// in a config file that is checked in or shown.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SecretRef {
    /// Read from an environment variable or a file.
    Source(SecretSource),
    /// Written inline: refused with the fix.
    Inline(String),
}

/// The two places a secret may come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// Name of an environment variable holding the secret.
    #[serde(default)]
    pub env: Option<String>,
    /// A file holding the secret (surrounding whitespace is dropped).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl SecretRef {
    /// A secret read from the environment variable `name`.
    pub fn env(name: impl Into<String>) -> Self {
        SecretRef::Source(SecretSource {
            env: Some(name.into()),
            file: None,
        })
    }

    /// A secret read from `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SecretRef::Source(SecretSource {
            env: None,
            file: Some(path.into()),
        })
    }

    /// Reads the secret; `what` names it in errors (e.g. `kafka.sasl_password`), and
    /// no error ever holds the value.
    pub fn read(&self, what: &str) -> Result<Secret> {
        match self {
            SecretRef::Inline(_) => bail!(
                "{what} is written inline; put it in an environment variable or a file and write {what} = {{ env = \"NAME\" }} or {{ file = \"PATH\" }}"
            ),
            SecretRef::Source(SecretSource {
                env: Some(_),
                file: Some(_),
            }) => bail!("{what} names both an environment variable and a file; keep one"),
            SecretRef::Source(SecretSource {
                env: Some(name),
                file: None,
            }) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Secret(v)),
                _ => bail!(
                    "{what}: the environment variable {name} is not set; set it or point {what} at a file"
                ),
            },
            SecretRef::Source(SecretSource {
                env: None,
                file: Some(path),
            }) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "{what}: cannot read the secret file {}; check the path and its permissions",
                        path.display()
                    )
                })?;
                let value = text.trim();
                if value.is_empty() {
                    bail!("{what}: the secret file {} is empty", path.display());
                }
                Ok(Secret(value.to_owned()))
            }
            SecretRef::Source(SecretSource {
                env: None,
                file: None,
            }) => bail!("{what} names neither `env` nor `file`; give one"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
        let wrapped = format!("{:?}", Some(s));
        assert!(!wrapped.contains("hunter2"), "{wrapped}");
    }

    #[test]
    fn secrets_come_from_files_or_the_environment_and_errors_hold_no_value() {
        let dir = std::env::temp_dir().join(format!("sluice-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("pw");
        std::fs::write(&path, "s3cr3t\n").expect("write");
        assert_eq!(
            SecretRef::file(&path).read("x").expect("file").expose(),
            "s3cr3t"
        );
        // SAFETY-free: the variable name is unique to this test.
        let name = format!("SLUICE_TEST_SECRET_{}", std::process::id());
        let err = SecretRef::env(&name)
            .read("kafka.sasl_password")
            .expect_err("unset");
        assert!(err.to_string().contains(&name), "{err}");
        let err = SecretRef::Inline("s3cr3t".into())
            .read("kafka.sasl_password")
            .expect_err("inline");
        let text = format!("{err:#}");
        assert!(
            !text.contains("s3cr3t") && text.contains("{ env = "),
            "{text}"
        );
        let err = SecretRef::file(dir.join("missing"))
            .read("x")
            .expect_err("missing");
        assert!(!format!("{err:#}").contains("s3cr3t"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn config_files_write_a_source_and_an_inline_string_is_caught() {
        #[derive(Deserialize)]
        struct T {
            p: SecretRef,
        }
        let t: T = toml::from_str("p = { env = \"PW\" }").expect("parses");
        assert_eq!(t.p, SecretRef::env("PW"));
        let t: T = toml::from_str("p = \"plain\"").expect("parses");
        assert!(matches!(t.p, SecretRef::Inline(_)));
        assert!(toml::from_str::<T>("p = { nope = 1 }").is_err());
    }
}
