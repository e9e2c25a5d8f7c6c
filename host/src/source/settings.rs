//! How to reach and authenticate to Kafka: the brokers, the security protocol, SASL
//! (PLAIN, SCRAM, OAUTHBEARER/OIDC, GSSAPI), TLS with a CA and a client certificate,
//! and any other librdkafka property, except the ones Sluice's delivery guarantees
//! rest on. Flags give the defaults of every pipeline; a pipeline's `[pipeline.kafka]`
//! table overrides them field by field. Secrets come from the environment or files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use anyhow::{Result, bail};
use rdkafka::config::ClientConfig;
use serde::Deserialize;

use crate::secret::SecretRef;

/// librdkafka properties Sluice sets itself: exactly-once and the fence rest on them,
/// so a pass-through option may not change them.
pub const OWNED_KEYS: &[&str] = &[
    "group.id",
    "group.instance.id",
    "group.protocol",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.commit.interval.ms",
    "isolation.level",
    "partition.assignment.strategy",
    "enable.partition.eof",
    "auto.offset.reset",
    "bootstrap.servers",
    "metadata.broker.list",
];

/// librdkafka properties that hold secrets: they go in the typed fields, which read
/// them from the environment or a file.
const SECRET_KEYS: &[&str] = &[
    "sasl.password",
    "ssl.key.password",
    "ssl.keystore.password",
    "sasl.oauthbearer.client.secret",
    "ssl.key.pem",
    "ssl.certificate.pem",
    "sasl.oauthbearer.config",
];

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SecurityProtocol {
    /// No TLS, no SASL.
    #[serde(alias = "PLAINTEXT", alias = "plaintext")]
    Plaintext,
    /// TLS, no SASL (with a client certificate, mutual TLS).
    #[serde(alias = "SSL", alias = "ssl")]
    Ssl,
    /// SASL without TLS.
    #[serde(alias = "SASL_PLAINTEXT", alias = "sasl_plaintext")]
    SaslPlaintext,
    /// SASL over TLS: what every managed Kafka wants.
    #[serde(alias = "SASL_SSL", alias = "sasl_ssl")]
    SaslSsl,
}

impl SecurityProtocol {
    /// librdkafka's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Reads a command-line value, in any case.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" => SecurityProtocol::SaslSsl,
            _ => bail!(
                "`{text}` is not a Kafka security protocol; use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            ),
        })
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OAUTHBEARER token source: OIDC client credentials, fetched and refreshed by
/// librdkafka itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oidc {
    /// The identity provider's token endpoint.
    pub token_endpoint_url: String,
    /// The client's id.
    pub client_id: String,
    /// The client's secret.
    pub client_secret: SecretRef,
    /// Scope asked for, if the provider needs one.
    #[serde(default)]
    pub scope: Option<String>,
    /// SASL extensions (`key=value,...`), e.g. a Confluent Cloud logical cluster.
    #[serde(default)]
    pub extensions: Option<String>,
}

/// How to reach and authenticate to Kafka; every field is optional so that a
/// pipeline's table can override only what differs from the flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port,...`.
    #[serde(default)]
    pub brokers: Option<String>,
    /// `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    #[serde(default)]
    pub security_protocol: Option<SecurityProtocol>,
    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER` or `GSSAPI`.
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    /// SASL user (PLAIN, SCRAM).
    #[serde(default)]
    pub sasl_username: Option<String>,
    /// SASL password, from `{ env = "..." }` or `{ file = "..." }`.
    #[serde(default)]
    pub sasl_password: Option<SecretRef>,
    /// OIDC client credentials for OAUTHBEARER.
    #[serde(default)]
    pub oidc: Option<Oidc>,
    /// Kerberos service name for GSSAPI (usually `kafka`).
    #[serde(default)]
    pub kerberos_service_name: Option<String>,
    /// Kerberos principal for GSSAPI.
    #[serde(default)]
    pub kerberos_principal: Option<String>,
    /// Kerberos keytab file for GSSAPI.
    #[serde(default)]
    pub kerberos_keytab: Option<PathBuf>,
    /// CA certificate(s), PEM, to verify the brokers with (default: the system's).
    #[serde(default)]
    pub ssl_ca_location: Option<PathBuf>,
    /// Client certificate, PEM, for mutual TLS.
    #[serde(default)]
    pub ssl_certificate_location: Option<PathBuf>,
    /// Client key, PEM, for mutual TLS.
    #[serde(default)]
    pub ssl_key_location: Option<PathBuf>,
    /// Password of the client key, if it is encrypted.
    #[serde(default)]
    pub ssl_key_password: Option<SecretRef>,
    /// Check that a broker's certificate names the host connected to (default on).
    #[serde(default)]
    pub ssl_verify_hostname: Option<bool>,
    /// Any other librdkafka property, passed through as it is, except the ones
    /// Sluice owns ([`OWNED_KEYS`]) and secrets (which have typed fields).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// The default bootstrap servers.
pub const DEFAULT_BROKERS: &str = "127.0.0.1:9092";

impl KafkaSettings {
    /// These settings with every field `over` sets taken from it instead (a
    /// pipeline's table over the flags); options are merged, `over`'s winning.
    pub fn overlay(&self, over: &KafkaSettings) -> KafkaSettings {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        let mut options = self.options.clone();
        options.extend(over.options.clone());
        KafkaSettings {
            brokers: pick(&self.brokers, &over.brokers),
            security_protocol: over.security_protocol.or(self.security_protocol),
            sasl_mechanism: pick(&self.sasl_mechanism, &over.sasl_mechanism),
            sasl_username: pick(&self.sasl_username, &over.sasl_username),
            sasl_password: over
                .sasl_password
                .clone()
                .or_else(|| self.sasl_password.clone()),
            oidc: over.oidc.clone().or_else(|| self.oidc.clone()),
            kerberos_service_name: pick(&self.kerberos_service_name, &over.kerberos_service_name),
            kerberos_principal: pick(&self.kerberos_principal, &over.kerberos_principal),
            kerberos_keytab: over
                .kerberos_keytab
                .clone()
                .or_else(|| self.kerberos_keytab.clone()),
            ssl_ca_location: over
                .ssl_ca_location
                .clone()
                .or_else(|| self.ssl_ca_location.clone()),
            ssl_certificate_location: over
                .ssl_certificate_location
                .clone()
                .or_else(|| self.ssl_certificate_location.clone()),
            ssl_key_location: over
                .ssl_key_location
                .clone()
                .or_else(|| self.ssl_key_location.clone()),
            ssl_key_password: over
                .ssl_key_password
                .clone()
                .or_else(|| self.ssl_key_password.clone()),
            ssl_verify_hostname: over.ssl_verify_hostname.or(self.ssl_verify_hostname),
            options,
        }
    }

    /// The bootstrap servers.
    pub fn brokers(&self) -> &str {
        self.brokers.as_deref().unwrap_or(DEFAULT_BROKERS)
    }

    /// The protocol, PLAINTEXT when none is set.
    pub fn protocol(&self) -> SecurityProtocol {
        self.security_protocol
            .unwrap_or(SecurityProtocol::Plaintext)
    }

    /// Checks what can be checked without a broker; errors name the setting and fix.
    pub fn validate(&self) -> Result<()> {
        for key in self.options.keys() {
            if OWNED_KEYS.contains(&key.as_str()) {
                bail!(
                    "kafka option `{key}` is Sluice's own (its delivery guarantees rest on it) and cannot be set; remove it{}",
                    if key == "bootstrap.servers" || key == "metadata.broker.list" {
                        " and give the brokers with --brokers (brokers = \"...\" in [pipeline.kafka])"
                    } else {
                        ""
                    }
                );
            }
            if SECRET_KEYS.contains(&key.as_str()) {
                bail!(
                    "kafka option `{key}` holds a secret; use the typed setting, which reads it from an environment variable or a file (e.g. sasl_password = {{ file = \"PATH\" }}, --kafka-sasl-password-file)"
                );
            }
        }
        let protocol = self.protocol();
        let mechanism = self.sasl_mechanism.as_deref().map(str::to_ascii_uppercase);
        if let Some(m) = &mechanism {
            if ![
                "PLAIN",
                "SCRAM-SHA-256",
                "SCRAM-SHA-512",
                "OAUTHBEARER",
                "GSSAPI",
            ]
            .contains(&m.as_str())
            {
                bail!(
                    "`{m}` is not a SASL mechanism librdkafka knows; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI"
                );
            }
            if !protocol.uses_sasl() {
                bail!(
                    "a SASL mechanism ({m}) is set but the security protocol is {protocol}; set it to SASL_SSL (or SASL_PLAINTEXT)"
                );
            }
        } else if protocol.uses_sasl() {
            bail!(
                "the security protocol is {protocol} but no SASL mechanism is set; set one, e.g. --kafka-sasl-mechanism SCRAM-SHA-512"
            );
        }
        if matches!(
            mechanism.as_deref(),
            Some("PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512")
        ) && (self.sasl_username.is_none() || self.sasl_password.is_none())
        {
            bail!(
                "SASL {} needs a user and a password; give --kafka-sasl-username and --kafka-sasl-password-file (or SLUICE_KAFKA_SASL_PASSWORD)",
                mechanism.as_deref().unwrap_or_default()
            );
        }
        if self.oidc.is_some() && mechanism.as_deref() != Some("OAUTHBEARER") {
            bail!("OIDC settings are given but the SASL mechanism is not OAUTHBEARER; set it");
        }
        let tls_files = [
            &self.ssl_ca_location,
            &self.ssl_certificate_location,
            &self.ssl_key_location,
        ];
        if tls_files.iter().any(|f| f.is_some()) && !protocol.uses_tls() {
            bail!(
                "TLS files are given but the security protocol is {protocol}; set it to SSL or SASL_SSL"
            );
        }
        if self.ssl_certificate_location.is_some() != self.ssl_key_location.is_some() {
            bail!(
                "mutual TLS needs both a client certificate and its key; give --kafka-ssl-cert and --kafka-ssl-key"
            );
        }
        for path in tls_files.into_iter().flatten() {
            if !path.is_file() {
                bail!(
                    "kafka TLS file {} does not exist or is not a file; check the path",
                    path.display()
                );
            }
        }
        Ok(())
    }

    /// Writes the settings into a librdkafka config, reading every secret now.
    pub fn apply(&self, config: &mut ClientConfig) -> Result<()> {
        self.validate()?;
        config.set("bootstrap.servers", self.brokers());
        let protocol = self.protocol();
        config.set("security.protocol", protocol.as_str());
        if let Some(m) = &self.sasl_mechanism {
            config.set("sasl.mechanism", m.to_ascii_uppercase());
        }
        if let Some(user) = &self.sasl_username {
            config.set("sasl.username", user);
        }
        if let Some(pw) = &self.sasl_password {
            config.set("sasl.password", pw.read("kafka sasl password")?.expose());
        }
        if let Some(oidc) = &self.oidc {
            config
                .set("sasl.oauthbearer.method", "oidc")
                .set(
                    "sasl.oauthbearer.token.endpoint.url",
                    &oidc.token_endpoint_url,
                )
                .set("sasl.oauthbearer.client.id", &oidc.client_id)
                .set(
                    "sasl.oauthbearer.client.secret",
                    oidc.client_secret
                        .read("kafka OIDC client secret")?
                        .expose(),
                );
            if let Some(scope) = &oidc.scope {
                config.set("sasl.oauthbearer.scope", scope);
            }
            if let Some(ext) = &oidc.extensions {
                config.set("sasl.oauthbearer.extensions", ext);
            }
        }
        if let Some(s) = &self.kerberos_service_name {
            config.set("sasl.kerberos.service.name", s);
        }
        if let Some(p) = &self.kerberos_principal {
            config.set("sasl.kerberos.principal", p);
        }
        if let Some(k) = &self.kerberos_keytab {
            config.set("sasl.kerberos.keytab", k.display().to_string());
        }
        if let Some(ca) = &self.ssl_ca_location {
            config.set("ssl.ca.location", ca.display().to_string());
        }
        if let Some(cert) = &self.ssl_certificate_location {
            config.set("ssl.certificate.location", cert.display().to_string());
        }
        if let Some(key) = &self.ssl_key_location {
            config.set("ssl.key.location", key.display().to_string());
        }
        if let Some(pw) = &self.ssl_key_password {
            config.set(
                "ssl.key.password",
                pw.read("kafka TLS key password")?.expose(),
            );
        }
        if protocol.uses_tls() {
            let verify = self.ssl_verify_hostname.unwrap_or(true);
            config.set(
                "ssl.endpoint.identification.algorithm",
                if verify { "https" } else { "none" },
            );
        }
        for (k, v) in &self.options {
            config.set(k, v);
        }
        Ok(())
    }

    /// The brokers, protocol and mechanism, for error messages (no secrets).
    pub fn describe(&self) -> String {
        let mut out = format!("{} over {}", self.brokers(), self.protocol());
        if let Some(m) = &self.sasl_mechanism {
            out.push_str(&format!(" with {}", m.to_ascii_uppercase()));
            if let Some(user) = &self.sasl_username {
                out.push_str(&format!(" as {user}"));
            }
        }
        out
    }

    /// What a failure librdkafka reported most likely means, and what to do; `None`
    /// when it is not about reaching or logging in to the brokers.
    pub fn explain(&self, error: &str) -> Option<String> {
        let e = error.to_ascii_lowercase();
        let what = self.describe();
        let fix = if e.contains("unsupported sasl mechanism") {
            let offered = error
                .split("supported mechanisms:")
                .nth(1)
                .map(|m| m.trim().trim_end_matches(')').to_owned());
            format!(
                "the broker does not offer this SASL mechanism{}; set --kafka-sasl-mechanism to one it offers",
                offered
                    .map(|o| format!(" (it offers {o})"))
                    .unwrap_or_default()
            )
        } else if e.contains("sasl authentication error") || e.contains("authentication failed") {
            "the broker refused the user or password; check --kafka-sasl-username and the password file or variable".to_owned()
        } else if e.contains("certificate verify failed") {
            "the broker's certificate is not trusted, or does not name this host; pass --kafka-ssl-ca with the CA that signed it, and connect by a name the certificate holds".to_owned()
        } else if e.contains("alert bad certificate")
            || e.contains("certificate required")
            || e.contains("alert handshake failure")
        {
            "the broker wants a client certificate it trusts; pass --kafka-ssl-cert and --kafka-ssl-key (mutual TLS)".to_owned()
        } else if e.contains("plaintext broker listener") {
            "this listener speaks PLAINTEXT; set the security protocol to match it, or use the broker's TLS port".to_owned()
        } else if e.contains("ssl handshake failed") || e.contains("ssl") && e.contains("handshake")
        {
            "the TLS handshake failed; check that the port speaks TLS and the CA (--kafka-ssl-ca)"
                .to_owned()
        } else if e.contains("receive failed")
            && e.contains("disconnected")
            && !self.protocol().uses_tls()
        {
            "the connection was closed at once; the listener may want TLS: set --kafka-security-protocol SSL or SASL_SSL".to_owned()
        } else {
            return None;
        };
        Some(format!("cannot connect to Kafka at {what}: {error}; {fix}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl() -> KafkaSettings {
        KafkaSettings {
            brokers: Some("b:9094".into()),
            security_protocol: Some(SecurityProtocol::SaslSsl),
            sasl_mechanism: Some("scram-sha-512".into()),
            sasl_username: Some("sluice".into()),
            sasl_password: Some(SecretRef::env("UNUSED_IN_VALIDATE")),
            ..KafkaSettings::default()
        }
    }

    #[test]
    fn owned_and_secret_keys_are_refused_in_options() {
        for key in [
            "group.id",
            "enable.auto.commit",
            "isolation.level",
            "partition.assignment.strategy",
        ] {
            let mut s = KafkaSettings::default();
            s.options.insert(key.into(), "x".into());
            let err = s.validate().expect_err(key).to_string();
            assert!(err.contains(key) && err.contains("cannot be set"), "{err}");
        }
        let mut s = KafkaSettings::default();
        s.options.insert("sasl.password".into(), "x".into());
        assert!(
            s.validate()
                .expect_err("secret")
                .to_string()
                .contains("sasl_password")
        );
        let mut s = KafkaSettings::default();
        s.options.insert("fetch.min.bytes".into(), "1".into());
        s.validate().expect("a plain option passes");
    }

    #[test]
    fn inconsistent_security_settings_name_the_fix() {
        sasl().validate().expect("consistent");
        let mut s = sasl();
        s.security_protocol = None;
        assert!(
            s.validate()
                .expect_err("no protocol")
                .to_string()
                .contains("SASL_SSL")
        );
        let mut s = sasl();
        s.sasl_mechanism = None;
        assert!(
            s.validate()
                .expect_err("no mechanism")
                .to_string()
                .contains("--kafka-sasl-mechanism")
        );
        let mut s = sasl();
        s.sasl_password = None;
        assert!(
            s.validate()
                .expect_err("no password")
                .to_string()
                .contains("password")
        );
        let mut s = sasl();
        s.sasl_mechanism = Some("MD5".into());
        assert!(
            s.validate()
                .expect_err("bad")
                .to_string()
                .contains("SCRAM-SHA-512")
        );
        let mut s = KafkaSettings {
            ssl_ca_location: Some("/nope/ca.pem".into()),
            ..KafkaSettings::default()
        };
        assert!(
            s.validate()
                .expect_err("tls without tls")
                .to_string()
                .contains("SSL")
        );
        s.security_protocol = Some(SecurityProtocol::Ssl);
        assert!(
            s.validate()
                .expect_err("missing")
                .to_string()
                .contains("/nope/ca.pem")
        );
    }

    #[test]
    fn a_pipeline_overrides_the_flags_field_by_field() {
        let flags = sasl();
        let over = KafkaSettings {
            brokers: Some("other:9094".into()),
            options: [("fetch.min.bytes".to_owned(), "1".to_owned())].into(),
            ..KafkaSettings::default()
        };
        let merged = flags.overlay(&over);
        assert_eq!(merged.brokers(), "other:9094");
        assert_eq!(merged.sasl_username.as_deref(), Some("sluice"));
        assert_eq!(merged.options.len(), 1);
    }

    #[test]
    fn librdkafka_failures_become_one_line_with_the_fix() {
        let s = sasl();
        let wrong_pw = "sasl_ssl://b:9094/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512";
        let m = s.explain(wrong_pw).expect("explained");
        assert!(
            m.contains("b:9094") && m.contains("SCRAM-SHA-512") && m.contains("password"),
            "{m}"
        );
        let mech = "SASL SCRAM-SHA-256 mechanism handshake failed: Broker: Unsupported SASL mechanism: broker's supported mechanisms: SCRAM-SHA-512,PLAIN";
        assert!(
            s.explain(mech)
                .expect("explained")
                .contains("it offers SCRAM-SHA-512,PLAIN")
        );
        let ca = "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified";
        assert!(s.explain(ca).expect("explained").contains("--kafka-ssl-ca"));
        let mtls = "Receive failed: error:0A000412:SSL routines::sslv3 alert bad certificate: SSL alert number 42";
        assert!(
            s.explain(mtls)
                .expect("explained")
                .contains("--kafka-ssl-cert")
        );
        assert!(s.explain("Broker: Unknown topic or partition").is_none());
        assert!(
            !s.describe().contains("UNUSED"),
            "no secret in the description"
        );
    }
}
