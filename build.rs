//! Embeds every `rules/*.toml` into the binary: writes `$OUT_DIR/builtin_rules.rs`,
//! a sorted `&[(&str, bool, &str)]` of (file name, is JSON, contents).
//!
//! Each file is converted to JSON here, at build time: parsing the TOML took
//! most of pulldoctor's start-up, and JSON of the same values deserialises into
//! the same types about ten times faster. A file that is not valid TOML is
//! embedded as written, so the run-time parser reports its error as before.

use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("rules/ directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let out_dir = env::var("OUT_DIR").unwrap();
    let mut out = String::from("pub static BUILTIN_RULES: &[(&str, bool, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().unwrap().to_string_lossy();
        let text = fs::read_to_string(f).expect("rule file is UTF-8");
        let json = toml::from_str::<toml::Value>(&text)
            .ok()
            .and_then(|v| serde_json::to_string(&v).ok());
        let (is_json, path) = match json {
            Some(json) => {
                let path = Path::new(&out_dir).join(format!("{name}.json"));
                fs::write(&path, json).expect("write rule JSON");
                (true, path)
            }
            None => (false, f.clone()),
        };
        out += &format!(
            "    ({name:?}, {is_json}, include_str!({:?})),\n",
            path.display().to_string()
        );
    }
    out += "];\n";
    let dest = Path::new(&out_dir).join("builtin_rules.rs");
    fs::write(dest, out).expect("write builtin_rules.rs");
}
