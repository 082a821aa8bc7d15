//! The demo's knowledge documents (`knowledge/` of the repository: customer dossiers, policies,
//! product notes, meeting material, ops guides), embedded in the binary so that `lodestar demo`
//! works from any folder on a machine that has only the binary.

use std::path::Path;

#[derive(rust_embed::Embed)]
#[folder = "../../knowledge/"]
struct Docs;

/// Relative paths of the embedded documents (`customer/…md`, `policy/…md`, …), sorted.
pub fn files() -> Vec<String> {
    let mut v: Vec<String> = Docs::iter().map(|p| p.to_string()).collect();
    v.sort();
    v
}

/// The bytes of one embedded document.
pub fn get(rel: &str) -> Option<Vec<u8>> {
    Docs::get(rel).map(|f| f.data.into_owned())
}

/// Writes every embedded document under `dir` (keeping the sub-folders, which name the knowledge
/// bases); returns how many were written. Existing files with the same content are left alone.
pub fn write_to(dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for rel in files() {
        let Some(bytes) = get(&rel) else { continue };
        let p = dir.join(&rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read(&p).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&p, &bytes)?;
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_document_of_the_folder_is_embedded_byte_for_byte() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../knowledge");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    on_disk.push(p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        assert!(on_disk.len() > 50, "the demo has its knowledge documents");
        assert_eq!(super::files(), on_disk);
        for rel in &on_disk {
            assert_eq!(super::get(rel).unwrap(), std::fs::read(root.join(rel)).unwrap(), "{rel}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::write_to(dir.path()).unwrap(), on_disk.len());
        assert!(dir.path().join("customer").is_dir());
    }

    use std::path::Path;
}
