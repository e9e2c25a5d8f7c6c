//! Loading a plugin file: read, hash, compile, and check which world it implements.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use super::Runtime;
use super::bindings::{generator::GeneratorPre, transformer::TransformerPre};
use super::store::HostState;

/// The version of the `sluice:plugin` WIT package this host implements.
pub const WIT_VERSION: &str = "0.1.0";
/// The WIT export a transform plugin must have.
pub const TRANSFORM_EXPORT: &str = "sluice:plugin/transform@0.1.0";
/// The WIT export a generator plugin must have.
pub const GENERATE_EXPORT: &str = "sluice:plugin/generate@0.1.0";

/// Which world a plugin implements, which decides where it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// Sits in a pipeline's chain (`world transformer`).
    Transform,
    /// Feeds Kafka through `host generate` (`world generator`).
    Generator,
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Transform => "transform",
            PluginKind::Generator => "generator",
        })
    }
}

/// A compiled plugin, ready to instantiate; shared by every worker that runs it.
pub struct Plugin {
    /// Where it was loaded from, for messages.
    pub path: PathBuf,
    /// Short name for logs and dead letters: the file stem.
    pub name: Arc<str>,
    /// First 12 hex digits of the SHA-256 of the file: the version rows record.
    pub version: Arc<str>,
    /// Full SHA-256 of the file, hex: the cache key and the identity swaps compare.
    pub digest: Arc<str>,
    /// Which world it implements.
    pub kind: PluginKind,
    /// Whether the compiled code came from the on-disk cache rather than a compile.
    pub cached: bool,
    pub(super) pre: Pre,
    pub(super) runtime: Runtime,
}

pub(super) enum Pre {
    Transform(TransformerPre<HostState>),
    Generator(GeneratorPre<HostState>),
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Plugin {
    /// Reads and compiles `path`; every failure names the file and the fix.
    pub fn load(runtime: &Runtime, path: &Path) -> Result<Arc<Plugin>> {
        let bytes = std::fs::read(path).with_context(|| {
            format!(
                "cannot read plugin {}; check the path, or build the plugins with `make plugins`",
                path.display()
            )
        })?;
        Self::from_bytes(runtime, path, &bytes)
    }

    /// Compiles plugin bytes that claim to come from `path`.
    pub fn from_bytes(runtime: &Runtime, path: &Path, bytes: &[u8]) -> Result<Arc<Plugin>> {
        let shown = path.display();
        if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
            bail!(
                "{shown} is not a WebAssembly file; build the plugin with `cargo build --target wasm32-wasip2 --release`"
            );
        }
        if bytes[4..8] == [1, 0, 0, 0] {
            bail!(
                "{shown} is a core WebAssembly module, not a component; build it for the wasm32-wasip2 target or with `cargo component build`"
            );
        }
        let engine = runtime.engine();
        let digest = hex::encode(Sha256::digest(bytes));
        let (component, cached) = compile_cached(runtime, &digest, bytes)
            .with_context(|| format!("{shown} is not a valid WebAssembly component"))?;
        let exports: Vec<String> = component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let kind = if exports.iter().any(|e| e == TRANSFORM_EXPORT) {
            PluginKind::Transform
        } else if exports.iter().any(|e| e == GENERATE_EXPORT) {
            PluginKind::Generator
        } else if let Some(other) = exports
            .iter()
            .find(|e| e.starts_with("sluice:plugin/") && e.contains('@'))
        {
            bail!(
                "{shown} was built against {other}, but this host speaks sluice:plugin@{WIT_VERSION}; rebuild it against this host's wit/ package"
            );
        } else {
            bail!(
                "{shown} exports neither {TRANSFORM_EXPORT} nor {GENERATE_EXPORT} (it exports: {}); rebuild it against this host's wit/ package",
                if exports.is_empty() {
                    "nothing".to_owned()
                } else {
                    exports.join(", ")
                }
            );
        };
        let mut linker: Linker<HostState> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{shown} imports something this host does not provide; plugins may import only WASI 0.2"))?;
        let pre = match kind {
            PluginKind::Transform => Pre::Transform(
                TransformerPre::new(instance_pre)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("{shown} does not match world `transformer` of sluice:plugin@0.1.0; rebuild it against this host's wit/"))?,
            ),
            PluginKind::Generator => Pre::Generator(
                GeneratorPre::new(instance_pre)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("{shown} does not match world `generator` of sluice:plugin@0.1.0; rebuild it against this host's wit/"))?,
            ),
        };
        let version: String = digest[..12].to_owned();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".to_owned());
        Ok(Arc::new(Plugin {
            path: path.to_owned(),
            name: name.into(),
            version: version.into(),
            digest: digest.into(),
            kind,
            cached,
            pre,
            runtime: runtime.clone(),
        }))
    }

    /// Fails with a message naming the file unless the plugin is of `kind`.
    pub fn expect_kind(&self, kind: PluginKind) -> Result<()> {
        if self.kind != kind {
            bail!(
                "{} is a {} plugin, but a {kind} plugin is needed here",
                self.path.display(),
                self.kind
            );
        }
        Ok(())
    }
}

/// Compiles `bytes`, or loads the compiled form cached under its digest and the
/// engine's compatibility hash. A cache entry that fails to load is recompiled and
/// replaced; a cache that cannot be written only costs the next start a compile.
fn compile_cached(runtime: &Runtime, digest: &str, bytes: &[u8]) -> Result<(Component, bool)> {
    let engine = runtime.engine();
    let Some(path) = runtime.cache_path(digest) else {
        return Ok((Component::new(engine, bytes)?, false));
    };
    // Read into memory rather than `deserialize_file`: a mapped file that another
    // process truncates would kill this one with SIGBUS.
    if let Ok(code) = std::fs::read(&path) {
        // SAFETY: wasmtime requires that deserialized code come from `serialize` of a
        // compatible engine. Entries are written only by `store_cached` below, from
        // our own compiles, atomically (rename), under a key that includes the
        // engine's compatibility hash; wasmtime also checks its header on load.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, &code) };
        match loaded {
            Ok(component) => return Ok((component, true)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Ignoring a bad cache entry; recompiling.")
            }
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store_cached(&component, &path) {
        tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "Cannot cache the compiled plugin; the next start compiles again.");
    }
    Ok((component, false))
}

fn store_cached(component: &Component, path: &Path) -> Result<()> {
    let dir = path.parent().context("cache path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let code = component.serialize()?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, code).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}
