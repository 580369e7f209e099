//! The prompt library: every `prompts/<lang>/<name>.al` read once at start
//! (raw 8 kHz A-law, see `prompts/README.md`), shared read-only by calls.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use callward_core::Language;
use callward_core::callflow::Prompt;

/// Prompt audio by language and file stem.
#[derive(Debug, Default)]
pub struct PromptLibrary {
    audio: HashMap<(String, String), Arc<[u8]>>,
}

impl PromptLibrary {
    /// Reads every `<dir>/<lang>/<name>.al`. A missing directory gives an
    /// empty library (calls then hear silence and move on).
    ///
    /// # Errors
    /// A directory or file that exists but cannot be read.
    pub fn load(dir: &Path) -> io::Result<Self> {
        let mut audio = HashMap::new();
        let Ok(langs) = std::fs::read_dir(dir) else {
            return Ok(Self { audio });
        };
        for lang in langs {
            let lang = lang?;
            if !lang.file_type()?.is_dir() {
                continue;
            }
            let lang_name = lang.file_name().to_string_lossy().into_owned();
            for file in std::fs::read_dir(lang.path())? {
                let path = file?.path();
                if path.extension().is_some_and(|e| e == "al")
                    && let Some(stem) = path.file_stem()
                {
                    let bytes = std::fs::read(&path)?;
                    audio.insert(
                        (lang_name.clone(), stem.to_string_lossy().into_owned()),
                        Arc::from(bytes),
                    );
                }
            }
        }
        Ok(Self { audio })
    }

    /// How many prompts are loaded.
    pub fn len(&self) -> usize {
        self.audio.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.audio.is_empty()
    }

    /// The A-law audio of `prompt` in `language`; `facility` names the
    /// facility whose name prompt stands for [`Prompt::FacilityName`].
    pub fn get(&self, language: Language, prompt: Prompt, facility: &str) -> Option<Arc<[u8]>> {
        let stem = match prompt {
            Prompt::FacilityName => format!("facility_{}", slug(facility)),
            p => p.name().to_owned(),
        };
        self.audio.get(&(language.to_string(), stem)).cloned()
    }
}

/// `Demo County Jail` → `demo_county_jail`.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_slug_matches_the_prompt_file() {
        assert_eq!(slug("Demo County Jail"), "demo_county_jail");
        assert_eq!(slug("  St. Mary's -- Unit 2 "), "st_mary_s_unit_2");
    }

    #[test]
    fn loads_the_repository_prompts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
        let lib = PromptLibrary::load(&dir).unwrap();
        for p in Prompt::catalogue() {
            assert!(
                lib.get(Language::En, p, "Demo County Jail").is_some(),
                "missing {}",
                p.name()
            );
        }
        let name = lib
            .get(Language::Es, Prompt::FacilityName, "Demo County Jail")
            .unwrap();
        assert!(name.len() > 800);
        assert!(
            lib.get(Language::En, Prompt::FacilityName, "Nowhere")
                .is_none()
        );
    }
}
