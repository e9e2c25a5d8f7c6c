//! Why a write failed, in the three ways the pipeline must treat differently: try
//! the same write again later, re-read the table and encode again, or stop the
//! pipeline until an operator fixes the cause. ClickHouse errors are read by their
//! `Code: N` (the same numbers on 18.16 and on current servers).

use std::fmt;

/// A failed write, by what the caller must do about it.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Worth retrying with the same rows after a pause: the network, a timeout, an
    /// overloaded server (too many queries or parts, memory), a table renamed away.
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    /// The table's columns no longer match the rows the host encoded: re-read them and
    /// encode the batch again.
    #[error("table {table}: its columns changed under the host: {error:#}")]
    Schema {
        /// The table whose columns changed.
        table: String,
        /// What the server said.
        error: anyhow::Error,
    },
    /// A newer owner of the partition fenced this member's session: this member must
    /// stop writing the partition (it no longer owns it, whatever it believes).
    #[error("session {session} was fenced by a newer owner of the partition")]
    Fenced {
        /// The fenced session.
        session: String,
    },
    /// The server no longer knows this member's session (it expired while the
    /// partition was idle): open a new one and register it before writing again.
    #[error("ClickHouse session {session} expired")]
    SessionLost {
        /// The lost session.
        session: String,
    },
    /// No retry can succeed until someone changes something: authentication,
    /// permissions, a read-only server, a table whose engine takes no inserts.
    #[error("{reason}: {error:#}")]
    Fatal {
        /// What is wrong and what to fix, in one line.
        reason: String,
        /// What the server said.
        error: anyhow::Error,
    },
}

/// How a ClickHouse error is treated, by its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later with the same rows.
    Retryable,
    /// The table's columns changed.
    Schema,
    /// A person must fix something first; the text says what.
    Fatal(&'static str),
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::Retryable => "retryable",
            ErrorClass::Schema => "schema",
            ErrorClass::Fatal(_) => "fatal",
        })
    }
}

/// The `Code: N` of a ClickHouse exception text, if it has one.
pub fn server_code(text: &str) -> Option<u32> {
    let at = text.find("Code: ")? + "Code: ".len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// What a ClickHouse error code means for a write. Codes not listed are retried, as
/// every error was before the host told them apart: an unknown error is more often
/// passing than permanent, and a retry never loses data.
pub fn classify_code(code: u32) -> ErrorClass {
    match code {
        // NO_SUCH_COLUMN_IN_TABLE, THERE_IS_NO_COLUMN, NOT_FOUND_COLUMN_IN_BLOCK,
        // UNKNOWN_IDENTIFIER, and the RowBinary reader tripping over bytes laid out for
        // other types: CANNOT_PARSE_TEXT, CANNOT_PARSE_INPUT_ASSERTION_FAILED,
        // CANNOT_READ_ALL_DATA, TYPE_MISMATCH, CANNOT_PARSE_DATE/DATETIME/NUMBER,
        // CANNOT_CONVERT_TYPE, INCORRECT_DATA.
        16 | 8 | 10 | 47 | 6 | 27 | 33 | 53 | 38 | 41 | 72 | 70 | 117 => ErrorClass::Schema,
        // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED.
        192..=194 | 516 => ErrorClass::Fatal(
            "ClickHouse refused the user or password; fix --clickhouse-user and the password",
        ),
        // IP_ADDRESS_NOT_ALLOWED.
        195 => ErrorClass::Fatal(
            "ClickHouse does not let this user connect from this address; allow it in the user's <networks>",
        ),
        // ACCESS_DENIED, DATABASE_ACCESS_DENIED.
        497 | 291 => ErrorClass::Fatal(
            "the ClickHouse user may not insert into this table; grant INSERT on it",
        ),
        // READONLY.
        164 => ErrorClass::Fatal(
            "the ClickHouse user is read-only (readonly=1 in its profile); give the host a user that may write",
        ),
        // NOT_IMPLEMENTED: "Method write is not supported by storage View".
        48 => ErrorClass::Fatal(
            "the table's engine takes no inserts (a view?); point the pipeline at a MergeTree table",
        ),
        _ => ErrorClass::Retryable,
    }
}

/// Classifies an error from the `clickhouse` client by the server's code, or as
/// retryable when it has none (network, timeout, a 5xx without an exception).
pub fn classify(error: &clickhouse::error::Error) -> ErrorClass {
    match error {
        clickhouse::error::Error::BadResponse(text) => {
            if let Some(code) = server_code(text) {
                return classify_code(code);
            }
            if text.contains("401") || text.contains("403") || text.contains("Unauthorized") {
                return ErrorClass::Fatal(
                    "ClickHouse refused the user or password; fix --clickhouse-user and the password",
                );
            }
            ErrorClass::Retryable
        }
        _ => ErrorClass::Retryable,
    }
}

impl WriteError {
    /// Builds the error for a failed insert into `table`, by its class.
    pub fn from_client(table: &str, error: clickhouse::error::Error, what: String) -> Self {
        let class = classify(&error);
        let error = anyhow::Error::new(error).context(what);
        match class {
            ErrorClass::Retryable => WriteError::Retryable(error),
            ErrorClass::Schema => WriteError::Schema {
                table: table.to_owned(),
                error,
            },
            ErrorClass::Fatal(fix) => WriteError::Fatal {
                reason: format!("table {table}: {fix}"),
                error,
            },
        }
    }

    /// The class, for logs and counters.
    pub fn class(&self) -> &'static str {
        match self {
            WriteError::Retryable(_) => "retryable",
            WriteError::Schema { .. } => "schema",
            WriteError::Fatal { .. } => "fatal",
            WriteError::Fenced { .. } | WriteError::SessionLost { .. } => "fenced",
        }
    }
}

impl From<anyhow::Error> for WriteError {
    fn from(error: anyhow::Error) -> Self {
        WriteError::Retryable(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exception texts as the 18.16 server and a current server send them.
    #[test]
    fn codes_are_read_from_both_server_generations() {
        assert_eq!(
            server_code(
                "Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist., e.what() = DB::Exception"
            ),
            Some(60)
        );
        assert_eq!(
            server_code(
                "Code: 516. DB::Exception: default: Authentication failed: password is incorrect. (AUTHENTICATION_FAILED) (version 25.8.4.13 (official build))"
            ),
            Some(516)
        );
        assert_eq!(server_code("connection refused"), None);
        assert_eq!(server_code("Code: x"), None);
    }

    #[test]
    fn each_cause_gets_its_treatment() {
        // A table renamed away, a server overloaded: retry as before.
        for code in [60, 202, 241, 252, 159, 210, 999] {
            assert_eq!(classify_code(code), ErrorClass::Retryable, "{code}");
        }
        // A column dropped or retyped: re-read the schema.
        for code in [16, 33, 27, 53] {
            assert_eq!(classify_code(code), ErrorClass::Schema, "{code}");
        }
        // Wrong password, no permission, read-only, a view: stop and say why.
        for code in [193, 516, 497, 164, 48] {
            assert!(
                matches!(classify_code(code), ErrorClass::Fatal(fix) if fix.contains(';')),
                "{code}"
            );
        }
    }

    #[test]
    fn client_errors_without_a_code_are_retried() {
        let e = clickhouse::error::Error::TimedOut;
        assert_eq!(classify(&e), ErrorClass::Retryable);
        let e = clickhouse::error::Error::BadResponse(
            "Code: 48, e.displayText() = DB::Exception: Method write is not supported by storage View"
                .into(),
        );
        let w = WriteError::from_client("v", e, "inserting into v".into());
        assert_eq!(w.class(), "fatal");
        assert!(
            w.to_string()
                .starts_with("table v: the table's engine takes no inserts")
        );
    }
}
