//! `host plugin new`: writes a new, standalone plugin crate from the files in
//! `templates/`: a cdylib on the Sluice SDK with a tiny working transform and its native
//! unit test, sample events with the output they should give, and a README saying how to
//! build and test it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What `host plugin new` writes, and where.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// Crate name; the crate goes to `dir/name`.
    pub name: String,
    /// Directory the crate directory is created in.
    pub dir: PathBuf,
    /// The SDK crate to depend on; none means the one this host was built from.
    pub sdk: Option<PathBuf>,
}

/// The files of a new plugin crate: path inside the crate, then the template.
const TEMPLATES: [(&str, &str); 6] = [
    ("Cargo.toml", include_str!("templates/Cargo.toml.in")),
    ("src/lib.rs", include_str!("templates/lib.rs.in")),
    ("README.md", include_str!("templates/README.md.in")),
    ("events.jsonl", include_str!("templates/events.jsonl")),
    (
        "expected.jsonl",
        include_str!("templates/expected.jsonl.in"),
    ),
    (".gitignore", include_str!("templates/gitignore.in")),
];

/// Names cargo refuses, or that would clash with the standard library or the SDK.
const RESERVED: [&str; 11] = [
    "test",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "build",
    "deps",
    "examples",
    "incremental",
    "sluice_plugin",
    "self",
];

/// Rust keywords, which cannot name a library.
const KEYWORDS: [&str; 51] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe",
    "unsized", "use", "virtual", "where", "while", "yield", "Self",
];

/// Checks `name` against cargo's package-name rules; the error says what to change.
pub fn check_name(name: &str) -> Result<()> {
    let fix = "use ASCII letters, digits, '-' and '_', starting with a letter, e.g. my-filter";
    if name.is_empty() || name.len() > 64 {
        bail!("plugin name {name:?} must be 1 to 64 characters long; {fix}");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!("plugin name {name:?} must start with a letter; {fix}");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        bail!("plugin name {name:?} contains {c:?}; {fix}");
    }
    let lib = lib_name(name);
    if RESERVED.contains(&lib.to_ascii_lowercase().as_str()) || KEYWORDS.contains(&lib.as_str()) {
        bail!("plugin name {name:?} is reserved by Rust, cargo or the SDK; pick another name");
    }
    Ok(())
}

/// The library name cargo derives from a package name, which is also the `.wasm` file
/// stem and so the plugin name in dead letters.
pub fn lib_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The SDK this host was built from: `sdk/` beside `host/` in the same checkout.
pub fn default_sdk() -> Result<PathBuf> {
    let guess = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    guess.canonicalize().with_context(|| {
        format!(
            "the Sluice SDK is not at {} any more; pass --sdk PATH with the sdk/ directory of a Sluice checkout",
            guess.display()
        )
    })
}

/// Checks that `path` is the SDK crate and returns it absolute.
fn check_sdk(path: &Path) -> Result<PathBuf> {
    let fix = "pass --sdk PATH with the sdk/ directory of a Sluice checkout";
    let sdk = path
        .canonicalize()
        .with_context(|| format!("SDK directory {} not found; {fix}", path.display()))?;
    let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap_or_default();
    if !manifest.contains("name = \"sluice-plugin\"") {
        bail!(
            "{} is not the Sluice SDK (its Cargo.toml does not name sluice-plugin); {fix}",
            sdk.display()
        );
    }
    Ok(sdk)
}

/// Writes the new crate and returns its directory. Refuses to touch an existing one.
pub fn create(spec: &Scaffold) -> Result<PathBuf> {
    check_name(&spec.name)?;
    let sdk = match &spec.sdk {
        Some(path) => check_sdk(path)?,
        None => check_sdk(&default_sdk()?)?,
    };
    let Some(sdk_text) = sdk.to_str() else {
        bail!(
            "the SDK path {} is not UTF-8, so Cargo.toml cannot name it; pass --sdk with a UTF-8 path",
            sdk.display()
        );
    };
    let root = spec.dir.join(&spec.name);
    if root.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; pick another name or --dir, or remove it first",
            root.display()
        );
    }
    std::fs::create_dir_all(&spec.dir)
        .with_context(|| format!("cannot create {}; check --dir", spec.dir.display()))?;
    std::fs::create_dir(&root).with_context(|| {
        format!(
            "cannot create {}; pick another name or --dir",
            root.display()
        )
    })?;
    let sdk_toml = toml::Value::String(sdk_text.to_owned()).to_string();
    let lib = lib_name(&spec.name);
    let written = TEMPLATES.iter().try_for_each(|(file, template)| {
        let text = template
            .replace("{{name}}", &spec.name)
            .replace("{{lib}}", &lib)
            .replace("{{sdk}}", &sdk_toml);
        let path = root.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    });
    if let Err(e) = written {
        // Leave nothing half-written behind, so the same command can simply be rerun.
        let _ = std::fs::remove_dir_all(&root);
        return Err(e);
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cargo_rules() {
        for ok in ["upper", "my-filter", "geo_ip2", "A1"] {
            check_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, says) in [
            ("", "1 to 64"),
            ("2fast", "start with a letter"),
            ("-x", "start with a letter"),
            ("my plugin", "contains ' '"),
            ("über", "start with a letter"),
            ("a/b", "contains '/'"),
            ("test", "reserved"),
            ("sluice-plugin", "reserved"),
            ("fn", "reserved"),
        ] {
            let err = check_name(bad).expect_err(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn writes_a_crate_once_and_refuses_to_overwrite() {
        let dir = std::env::temp_dir().join(format!("sluice-scaffold-{}", std::process::id()));
        let spec = Scaffold {
            name: "my-upper".into(),
            dir: dir.clone(),
            sdk: None,
        };
        let root = create(&spec).expect("creates");
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("manifest");
        assert!(manifest.contains("name = \"my-upper\""), "{manifest}");
        assert!(manifest.contains("[workspace]"), "{manifest}");
        let sdk = default_sdk().expect("sdk");
        assert!(
            manifest.contains(&format!("path = \"{}\"", sdk.display())),
            "{manifest}"
        );
        let expected = std::fs::read_to_string(root.join("expected.jsonl")).expect("expected");
        assert!(expected.contains("\"plugin\":\"my_upper\""), "{expected}");
        assert!(root.join("src/lib.rs").exists() && root.join("README.md").exists());
        let err = create(&spec).expect_err("exists").to_string();
        assert!(err.contains("already exists"), "{err}");
        let err = create(&Scaffold {
            sdk: Some(dir.clone()),
            name: "other".into(),
            ..spec
        })
        .expect_err("not the sdk")
        .to_string();
        assert!(err.contains("not the Sluice SDK"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
