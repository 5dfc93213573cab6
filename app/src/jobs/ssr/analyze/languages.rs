//! Which language a file is in, by its extension (or, for a few, its whole name).

/// The language of `path`; `Other` when the extension says nothing.
pub fn language_of(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "Makefile" | "makefile" | "GNUmakefile" => return "Makefile",
        "Dockerfile" => return "Dockerfile",
        "CMakeLists.txt" => return "CMake",
        _ => {}
    }
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return "Other";
    };
    if stem.is_empty() {
        // A dot file such as `.gitignore`.
        return "Other";
    }
    match extension.to_ascii_lowercase().as_str() {
        "java" => "Java",
        "kt" | "kts" => "Kotlin",
        "scala" | "sc" => "Scala",
        "groovy" | "gradle" => "Groovy",
        "c" => "C",
        "h" | "hh" | "hpp" | "hxx" => "C/C++ Header",
        "cc" | "cpp" | "cxx" | "c++" => "C++",
        "cs" => "C#",
        "vb" | "bas" | "frm" | "cls" => "Visual Basic",
        "go" => "Go",
        "rs" => "Rust",
        "py" | "pyw" => "Python",
        "rb" => "Ruby",
        "php" => "PHP",
        "pl" | "pm" => "Perl",
        "swift" => "Swift",
        "m" | "mm" => "Objective-C",
        "js" | "mjs" | "cjs" | "jsx" => "JavaScript",
        "ts" | "tsx" | "mts" | "cts" => "TypeScript",
        "html" | "htm" | "xhtml" => "HTML",
        "jsp" => "JSP",
        "css" => "CSS",
        "scss" | "sass" | "less" => "CSS preprocessor",
        "sql" | "ddl" => "SQL",
        "pls" | "plsql" | "pkb" | "pks" => "PL/SQL",
        "cbl" | "cob" | "cpy" => "COBOL",
        "jcl" => "JCL",
        "abap" => "ABAP",
        "sh" | "bash" | "zsh" | "ksh" => "Shell",
        "ps1" | "psm1" => "PowerShell",
        "bat" | "cmd" => "Batch",
        "xml" | "xsd" | "xsl" | "xslt" => "XML",
        "json" => "JSON",
        "yaml" | "yml" => "YAML",
        "toml" => "TOML",
        "properties" | "ini" | "cfg" | "conf" => "Configuration",
        "md" | "markdown" | "rst" | "txt" | "adoc" => "Text",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::language_of;

    #[test]
    fn languages_follow_extensions() {
        for (path, language) in [
            ("src/Main.java", "Java"),
            ("lib/app.TS", "TypeScript"),
            ("legacy/PAYROLL.CBL", "COBOL"),
            ("include/x.h", "C/C++ Header"),
            ("build/Makefile", "Makefile"),
            ("README", "Other"),
            (".gitignore", "Other"),
            ("archive.tar.gz", "Other"),
            ("a/b/c.rs", "Rust"),
        ] {
            assert_eq!(language_of(path), language, "{path}");
        }
    }
}
