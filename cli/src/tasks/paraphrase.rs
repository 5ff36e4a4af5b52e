//! `--paraphrase URL`: rewrites synthesized questions through any OpenAI-compatible chat
//! endpoint. Only the wording changes: a rewrite that drops a quoted span (a sentence,
//! an infobox key, a category, a title: what the agent must search for) is refused and the
//! template question kept, so the formalization and answers stay true.

use anyhow::Context;
use simweb_policy::SamplingParams;
use simweb_policy::{ChatBackend, ChatMessage, GenRequest, OpenAiBackend, OpenAiConfig, Prompt};
use simweb_wikidump::Lang;

pub struct Paraphraser {
    backend: OpenAiBackend,
    runtime: tokio::runtime::Runtime,
}

const INSTRUCTION: &str = "Rewrite the user's question so that it reads naturally, in the same \
language. Keep its meaning exactly. Copy every quoted span (text in \"double quotes\" or 「」) \
verbatim. Reply with the rewritten question only.";

impl Paraphraser {
    pub fn new(base_url: &str, model: &str) -> anyhow::Result<Self> {
        let backend = OpenAiBackend::new(OpenAiConfig::new(base_url, model))
            .with_context(|| format!("paraphrase endpoint {base_url}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the paraphrase runtime")?;
        Ok(Paraphraser { backend, runtime })
    }

    /// The rewritten question, or the original when the rewrite lost a quoted span.
    pub fn rewrite(&self, question: &str, lang: Lang) -> anyhow::Result<String> {
        let request = GenRequest {
            prompt: Prompt::chat(vec![
                ChatMessage::new("system", INSTRUCTION),
                ChatMessage::new("user", question),
            ]),
            params: SamplingParams {
                temperature: 0.0,
                max_new_tokens: 512,
                ..SamplingParams::default()
            },
        };
        let out = self
            .runtime
            .block_on(self.backend.generate(vec![request]))
            .context("the paraphrase model failed")?;
        let text = out.into_iter().next().map(|r| r.text).unwrap_or_default();
        let text = text.trim();
        if text.is_empty()
            || quoted(question, lang)
                .iter()
                .any(|q| !text.contains(q.as_str()))
        {
            tracing::warn!(
                question,
                rewrite = text,
                "rewrite dropped a quoted span; kept the template"
            );
            return Ok(question.to_owned());
        }
        Ok(text.to_owned())
    }
}

/// The quoted spans of `text`, quotes included (`"…"` in English, `「…」` in Chinese):
/// a rewrite must keep each one verbatim, delimiters and all, since the words alone may
/// survive a rewrite that no longer marks them as what to search for.
pub fn quoted(text: &str, lang: Lang) -> Vec<String> {
    let (open, close) = match lang {
        Lang::En => ('"', '"'),
        Lang::Zh => ('「', '」'),
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let after = &rest[start + open.len_utf8()..];
        let Some(end) = after.find(close) else { break };
        out.push(format!("{open}{}{close}", &after[..end]));
        rest = &after[end + close.len_utf8()..];
    }
    out
}
