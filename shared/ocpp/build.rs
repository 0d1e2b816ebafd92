//! Embeds the official OCPP JSON schemas (shipped in `schemas/`) into the
//! binary as a static table, so validation needs no files at run time.

use std::{env, fs, path::Path};

fn main() {
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("schemas.rs");
    let mut code = String::new();
    for (dir, konst) in [("v16", "V16_SCHEMAS"), ("v201", "V201_SCHEMAS")] {
        let path = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("schemas")
            .join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        let mut names: Vec<String> = fs::read_dir(&path)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        code.push_str(&format!("pub static {konst}: &[(&str, &str)] = &[\n"));
        for n in names {
            let stem = n.trim_end_matches(".json");
            code.push_str(&format!(
                "    ({stem:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/schemas/{dir}/{n}\"))),\n"
            ));
        }
        code.push_str("];\n");
    }
    fs::write(out, code).unwrap();
}
